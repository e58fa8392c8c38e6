"""The entry points for a diagnosis: text, Markdown and JSON from the engine's result or from
the plain representation (advisor.report.diagnosis), whichever the caller holds."""

from __future__ import annotations

import json
from typing import Any

from advisor.report.diagnosis import Diagnosis, as_diagnosis
from advisor.report.markdown import render_markdown as _markdown
from advisor.report.text import render_text as _text

REPORT_SCHEMA = "advisor-diagnosis/1"


def diagnosis_document(source: Any) -> dict[str, Any]:
    """The JSON document of `advisor diagnose --format json` (and of the TUI's export)."""
    diagnosis = as_diagnosis(source)
    return {"schema": REPORT_SCHEMA, "summary": diagnosis.counts(), **diagnosis.to_dict()}


def render_json(source: Any, **extra: Any) -> str:
    """The document as JSON; `extra` adds top-level sections (the TUI adds `series`)."""
    return json.dumps({**diagnosis_document(source), **extra}, indent=2, default=str) + "\n"


def render_text(source: Any, explain: bool = False, title: str = "Diagnosis") -> str:
    return _text(as_diagnosis(source), explain, title)


def render_markdown(source: Any, title: str = "Diagnosis") -> str:
    return _markdown(as_diagnosis(source), title)


__all__ = ["REPORT_SCHEMA", "Diagnosis", "diagnosis_document", "render_json", "render_markdown",
           "render_text"]
