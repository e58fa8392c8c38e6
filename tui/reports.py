"""Opening a saved report (`advisor tui REPORT.json`, or "Open a report" on the home screen).

The reading is advisor.report.reader's, in its lenient mode: what can be used is shown, and what
was left out is listed (a bad value drops only its fact, a fact this knowledge base does not
know is set aside). A file that cannot be read at all is one `ReportError` whose message names
the file (and the line and column for bad JSON), so the UI shows it instead of crashing. The
stored diagnoses are not trusted: the UI diagnoses the facts again with its own knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.kb.model import KnowledgeBase
from advisor.report.diagnosis import trials_by_remedy
from advisor.report.reader import ReportError, loss_curve, parse_series, read_report

__all__ = ["LoadedReport", "ReportError", "load_report", "loss_curve", "parse_series"]


@dataclass
class LoadedReport:
    path: Path
    facts: dict[str, Any]
    series: dict[str, list[float]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # facts this knowledge base does not know
    problems: list[str] = field(default_factory=list)  # values dropped, with the reason
    # what `advisor probe --verify` measured: the results show each remedy's verdict
    trials: list[dict[str, Any]] = field(default_factory=list)
    verification: dict[str, Any] | None = None
    # the trials of its remedies, by (diagnosis id, action): for a knowledge base without them
    remedy_trials: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def warning(self) -> str:
        """One line for the UI summarising what was left out, or "" when nothing was."""
        parts = []
        if self.problems:
            parts.append(f"{len(self.problems)} value(s) dropped: " + "; ".join(self.problems))
        if self.ignored:
            parts.append(f"{len(self.ignored)} fact(s) unknown to the knowledge base ignored: "
                         + ", ".join(self.ignored))
        return ". ".join(parts)


def load_report(path: str | Path, kb: KnowledgeBase) -> LoadedReport:
    """Read a report's facts, keeping those the knowledge base knows with legal values."""
    stored = read_report(path, kb, strict=False)
    verified = stored.diagnosis()
    return LoadedReport(stored.path, stored.facts, stored.series, stored.ignored,
                        [p.message for p in stored.problems], verified.trials,
                        verified.verification, trials_by_remedy(stored.data.get("diagnoses")))
