"""Renders diagnoses for people (text, Markdown) and machines (JSON)."""

from advisor.report.files import write_atomic
from advisor.report.render import (
    REPORT_SCHEMA,
    diagnosis_document,
    render_json,
    render_markdown,
    render_text,
)

__all__ = ["REPORT_SCHEMA", "diagnosis_document", "render_json", "render_markdown",
           "render_text", "write_atomic"]
