"""The reports of several runs found under one log folder (`advisor logs runs/`), written as
one file of each kind; one run is written as its own report."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from advisor.report.diagnosis import SEVERITY_RANK
from advisor.report.files import WritesFiles
from advisor.report.html import html_page, report_body, style_for

if TYPE_CHECKING:
    from advisor.report.probe import ProbeReport


RUNS_SCHEMA = "advisor-logs-report/1"


class RunsReport(WritesFiles):
    """The reports of several runs found under one log folder, written as one file of each kind:
    JSON `{"schema": "advisor-logs-report/1", "runs": [report, ...]}` (each report is the probe
    report document, so `advisor diagnose` reads any of them), Markdown and HTML one run after
    the other. One run is written as its own report, not wrapped (see `for_runs`)."""

    def __init__(self, reports: list[ProbeReport]) -> None:
        self.reports = reports

    def worst_severity(self) -> str | None:
        worst = [w for w in (r.worst_severity() for r in self.reports) if w is not None]
        return min(worst, key=SEVERITY_RANK.__getitem__) if worst else None

    def to_dict(self) -> dict[str, Any]:
        return {"schema": RUNS_SCHEMA, "runs": [r.to_dict() for r in self.reports]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=str) + "\n"

    def text(self) -> str:
        return "\n".join(r.text() for r in self.reports)

    def markdown(self) -> str:
        return "\n".join(r.markdown() for r in self.reports)

    def html(self) -> str:
        body = [line for r in self.reports for line in report_body(r)]
        return html_page(f"advisor logs: {len(self.reports)} runs", body,
                         style_for(self.reports))



def for_runs(reports: list[ProbeReport]) -> ProbeReport | RunsReport:
    """One run: its own report (`advisor diagnose` reads it as is); several: RunsReport."""
    return reports[0] if len(reports) == 1 else RunsReport(reports)
