"""Markdown: a diagnosis (`advisor diagnose --format markdown`, the TUI's export) and the probe's
report (`advisor probe --markdown`: the header, any error and where, the diagnosis, the
measurements)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import advisor.report.format as fmt
from advisor.report import logs as logs_view
from advisor.report import trials as trial_view
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
        lines += [f"{h2} {f.title} (`{f.id}`, {f.severity}, "
                  f"{f.certainty_text()})", "", f.explanation, ""]
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
                note = diagnosis.remedy_note(r)
                if note:
                    lines.append(f"   - *{note}*")
            lines.append("")
        if f.sources:
            lines += ["**Sources**", ""] + [f"- {s}" for s in f.sources] + [""]
        if f.how is not None:
            lines += ["<details><summary>How it was concluded</summary>", "", "```",
                      "\n".join(how_lines(f.how)), "```", "", "</details>", ""]
    lines += trials_markdown(diagnosis, h2)
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def trials_markdown(diagnosis: Diagnosis, heading: str = "##") -> list[str]:
    """The "Verified remedies" section: a table of the trials, then the noise check, what
    separated the causes, the re-ranking, the cost and any notes."""
    if not trial_view.shows_section(diagnosis.trials, diagnosis.verification):
        return []
    lines = [f"{heading} Verified remedies", ""]
    if diagnosis.trials:
        lines += ["| remedy trial | for | verdict | effect (95 % interval) | p | metric | runs |",
                  "|---|---|---|---|---|---|---|"]
        for t in diagnosis.trials:
            ran = trial_view.ran(t)
            lines.append("| " + " | ".join(_cell(c) for c in (
                f"`{t.get('label') or t.get('transform')}`",
                ", ".join(f"`{d}`" for d in t.get("diagnoses") or []),
                trial_view.verdict_word(t.get("verdict")),
                trial_view.percent(t.get("effect")) + trial_view.interval_text(t) if ran else "",
                trial_view.p_value(t.get("p_value")).removeprefix("p = ") if ran else "",
                str(t.get("metric") or "") if ran else "",
                trial_view.runs_text(t) if ran else "")) + " |")
        lines.append("")
        # what the table has no column for: half-budget verdicts, non-finite runs, reasons
        notes = [(t, d if trial_view.ran(t) else f"not run: {d}") for t in diagnosis.trials
                 for d in trial_view.trial_details(t)[1 if trial_view.ran(t) else 0:]]
        lines += [f"- `{t.get('label') or t.get('transform')}`: {d}" for t, d in notes]
        if notes:
            lines.append("")
    else:
        lines += ["No remedy of the verified diagnoses has a trial.", ""]
    if diagnosis.verification is not None:
        lines += [f"- {line}" for line in trial_view.summary_lines(diagnosis.verification)]
        lines.append("")
    return lines


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
    if logs_view.is_logs(report):
        lines += logs_view.logs_markdown(report)
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
