"""Text, Markdown and JSON renderings of a DiagnosisResult."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from advisor.engine.result import Conclusion, DiagnosisResult
from advisor.kb.display import paragraphs

REPORT_SCHEMA = "advisor-diagnosis/1"
WIDTH = 80
_MARK = {"error": "ERROR", "warning": "WARN ", "info": "INFO "}


def diagnosis_document(result: DiagnosisResult) -> dict[str, Any]:
    counts = {s: len(result.by_severity(s)) for s in ("error", "warning", "info")}
    return {"schema": REPORT_SCHEMA, "summary": counts, **result.to_dict()}


def render_json(result: DiagnosisResult) -> str:
    return json.dumps(diagnosis_document(result), indent=2, default=str) + "\n"


def _wrap(text: str, indent: str) -> list[str]:
    out = []
    for para in paragraphs(text):  # the author's line breaks reflowed to this width
        out += textwrap.wrap(para, WIDTH, initial_indent=indent, subsequent_indent=indent) or [""]
    return out


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def conclusion_text(c: Conclusion, explain: bool = False) -> list[str]:
    lines = textwrap.wrap(f"{_MARK[c.severity]} {c.title} [{c.id}]", WIDTH,
                          subsequent_indent="      ", break_long_words=False,
                          break_on_hyphens=False)
    certainty = f"certainty {c.certainty:.2f}"
    if len(lines[-1]) + 2 + len(certainty) <= WIDTH:
        lines[-1] += "  " + certainty
    else:
        lines.append("      " + certainty)
    if c.explained_by:
        lines += _wrap("A consequence of: " + ", ".join(c.explained_by), "      ")
    lines += _wrap(c.rule.explanation, "      ")
    if c.evidence:
        lines.append("      Evidence:")
        for e in c.evidence:
            lines += _wrap(f"- {e['test']} (observed {_value(e['value'])})", "        ")
    if c.rule.contested:
        lines.append("      Contested:")
        lines += _wrap(c.rule.contested, "        ")
    if c.remedies:
        lines.append("      Remedies:")
        for i, r in enumerate(c.remedies, 1):
            lines += textwrap.wrap(f"{i}. {r.action}", WIDTH, initial_indent="        ",
                                   subsequent_indent="           ")
            if r.detail:
                lines += _wrap(r.detail, "           ")
    if c.sources:
        lines.append("      Sources:")
        for s in c.sources:
            lines += textwrap.wrap(str(s), WIDTH, initial_indent="        - ",
                                   subsequent_indent="          ", break_long_words=False,
                                   break_on_hyphens=False)  # a URL stays whole
    if explain:
        lines.append("      How it was concluded:")
        lines += c.explanation.text("        ").splitlines()
    return lines


def render_text(result: DiagnosisResult, explain: bool = False, title: str = "Diagnosis") -> str:
    errors, warnings, infos = (len(result.by_severity(s)) for s in ("error", "warning", "info"))
    lines = [f"{title}: {errors} error(s), {warnings} warning(s), {infos} tip(s)", ""]
    if not result.diagnoses:
        lines.append("Nothing in the knowledge base fired on these observations.")
    for c in result.diagnoses:
        lines += conclusion_text(c, explain)
        lines.append("")
    if result.unknown_facts:
        lines += _wrap("Ignored facts the knowledge base does not know: "
                       + ", ".join(result.unknown_facts), "")
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(result: DiagnosisResult, title: str = "Diagnosis") -> str:
    lines = [f"# {title}", ""]
    counts = {s: len(result.by_severity(s)) for s in ("error", "warning", "info")}
    lines.append(f"{counts['error']} error(s), {counts['warning']} warning(s), "
                 f"{counts['info']} tip(s).")
    lines.append("")
    if result.diagnoses:
        lines += ["| severity | diagnosis | id | certainty |", "|---|---|---|---|"]
        lines += [f"| {c.severity} | {c.title} | `{c.id}` | {c.certainty:.2f} |"
                  for c in result.diagnoses]
        lines.append("")
    for c in result.diagnoses:
        lines += [f"## {c.title} (`{c.id}`, {c.severity}, certainty {c.certainty:.2f})", "",
                  c.rule.explanation, ""]
        if c.evidence:
            if c.explained_by:
                lines += ["A consequence of: " + ", ".join(f"`{x}`" for x in c.explained_by), ""]
            lines += ["**Evidence**", ""]
            lines += [f"- `{e['test']}` (observed {_value(e['value'])})" for e in c.evidence]
            lines.append("")
        if c.rule.contested:
            lines += ["**Contested:** " + c.rule.contested, ""]
        if c.remedies:
            lines += ["**Remedies**", ""]
            for i, r in enumerate(c.remedies, 1):
                lines.append(f"{i}. {r.action}" + (f" {r.detail}" if r.detail else ""))
            lines.append("")
        if c.sources:
            lines += ["**Sources**", ""] + [f"- {s}" for s in c.sources] + [""]
        lines += ["<details><summary>How it was concluded</summary>", "", "```",
                  c.explanation.text(), "```", "", "</details>", ""]
    return "\n".join(lines)
