"""The report as Markdown: the probe's header and measurements, then the diagnoses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.probing.text import fmt, header_lines

if TYPE_CHECKING:
    from advisor.probing.report import ProbeReport


def render_markdown(report: ProbeReport) -> str:
    head = header_lines(report)
    lines = [f"# {head[0]}", ""]
    if report.partial:
        lines += ["> **Partial report**: the probe was interrupted.", ""]
    if report.result is not None and not report.kb_problem:
        from advisor.report import render_markdown as diagnoses_md

        lines += [diagnoses_md(report.result, title="Diagnosis").replace("\n# ", "\n## ", 1)
                  .replace("# Diagnosis", "## Diagnosis", 1), ""]
    elif report.kb_problem:
        lines += [f"No diagnosis: {report.kb_problem}", ""]
    lines += ["## Measurements", "", "| fact | value |", "|---|---|"]
    lines += [f"| `{k}` | {fmt(v)} |" for k, v in sorted(report.facts.items())]
    lines.append("")
    if report.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    if report.warnings:
        lines += ["## PyTorch warnings during the run", ""]
        lines += [f"- `{w['category']}`: {w['message']} ({w['count']}x)" for w in report.warnings]
        lines.append("")
    lines += ["## Timings", "", "| phase | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in report.timings.items()]
    return "\n".join(lines) + "\n"
