"""Markdown: a diagnosis (`advisor diagnose --format markdown`, the TUI's export) and the probe's
report (`advisor probe --markdown`: the header, any error and where, the diagnosis, the
measurements)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import advisor.report.format as fmt
from advisor.report.diagnosis import Diagnosis
from advisor.report.text import headline, how_lines

if TYPE_CHECKING:
    from advisor.report.probe import ProbeReport


def render_markdown(diagnosis: Diagnosis, title: str = "Diagnosis", level: int = 1) -> str:
    """The diagnosis under a heading of `level` (1: a document of its own, 2: a section)."""
    h1, h2 = "#" * level, "#" * (level + 1)
    counts = diagnosis.counts()
    lines = [f"{h1} {title}", "",
             f"{counts['error']} error(s), {counts['warning']} warning(s), "
             f"{counts['info']} tip(s).", ""]
    if diagnosis.diagnoses:
        lines += ["| severity | diagnosis | id | certainty |", "|---|---|---|---|"]
        lines += [f"| {f.severity} | {f.title} | `{f.id}` | {fmt.certainty(f.certainty)} |"
                  for f in diagnosis.diagnoses]
        lines.append("")
    for f in diagnosis.diagnoses:
        lines += [f"{h2} {f.title} (`{f.id}`, {f.severity}, certainty "
                  f"{fmt.certainty(f.certainty)})", "", f.explanation, ""]
        if f.evidence:
            if f.explained_by:
                lines += ["A consequence of: " + ", ".join(f"`{x}`" for x in f.explained_by), ""]
            lines += ["**Evidence**", ""]
            lines += [f"- `{e.get('test')}` (observed {fmt.fact_value(e.get('value'))})"
                      for e in f.evidence]
            lines.append("")
        if f.contested:
            lines += ["**Contested:** " + f.contested, ""]
        if f.remedies:
            lines += ["**Remedies**", ""]
            for i, r in enumerate(f.remedies, 1):
                lines.append(f"{i}. {r.action}" + (f" {r.detail}" if r.detail else ""))
            lines.append("")
        if f.sources:
            lines += ["**Sources**", ""] + [f"- {s}" for s in f.sources] + [""]
        if f.how is not None:
            lines += ["<details><summary>How it was concluded</summary>", "", "```",
                      "\n".join(how_lines(f.how)), "```", "", "</details>", ""]
    return "\n".join(lines)


def _error_section(report: ProbeReport) -> list[str]:
    error = report.user_error()
    if error is None:
        return []
    msg, where, phase = error
    lines = ["## Error in your code", "", f"- message: `{msg}`"]
    if where:
        lines.append(f"- where: `{where}`")
    if phase:
        lines.append(f"- phase: {phase}")
    return lines + [""]


def render_probe_markdown(report: ProbeReport) -> str:
    lines = [f"# {headline(report)}", ""]
    if report.partial:
        lines += ["> **Partial report**: the probe was interrupted.", ""]
    lines += _error_section(report)
    if report.kb_problem:
        lines += [f"No diagnosis: {report.kb_problem}", ""]
    else:
        lines += [render_markdown(report.diagnosis(), title="Diagnosis", level=2), ""]
    lines += ["## Measurements", "", "| fact | value |", "|---|---|"]
    lines += [f"| `{k}` | {fmt.fact_value(v)} |" for k, v in sorted(report.facts.items())]
    lines.append("")
    if report.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    if report.warnings:
        lines += ["## PyTorch warnings during the run", ""]
        lines += [f"- `{w['category']}`: {w['message']} ({w['count']}x)" for w in report.warnings]
        lines.append("")
    lines += ["## Timings", "", "| phase | seconds |", "|---|---|"]
    lines += [f"| {k} | {fmt.seconds(v)} |" for k, v in report.timings.items()]
    return "\n".join(lines) + "\n"
