"""The reporting layer: one representation of a diagnosis (`Diagnosis`), one formatter
(`advisor.report.format`), one reader (`advisor.report.reader`), and every rendering of them:
text, Markdown, HTML with SVG plots, JSON, and the content the TUI shows.

Imports neither torch nor textual: `advisor diagnose` renders without them.
"""

from advisor.report.diagnosis import Diagnosis, Finding
from advisor.report.files import MissingFolderError, write_atomic
from advisor.report.render import (
    REPORT_SCHEMA,
    diagnosis_document,
    render_json,
    render_markdown,
    render_text,
)

__all__ = ["REPORT_SCHEMA", "Diagnosis", "Finding", "MissingFolderError", "diagnosis_document",
           "render_json", "render_markdown", "render_text", "write_atomic"]
