"""Labelled cases read back from a folder of probe reports (`CASE.json`).

Reports are read leniently: a report is evidence gathered by a probe that may have crashed or
been cut short, and a case must still be scored from whatever it holds. Only a report that
cannot be read at all (missing, not JSON) makes its case "probe-failed", which counts as missed
or not clean, as FORMATS.md says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from advisor.calibration.labels import Case, LabelError
from advisor.kb.model import KnowledgeBase
from advisor.report.reader import ReportError, check_report, read_report

COUNTED = ("error", "warning")  # the severities a verdict counts; tips (info) never do


class Found(NamedTuple):
    """One reported diagnosis: its id, severity and certainty."""

    id: str
    severity: str
    certainty: float


@dataclass
class CaseResult:
    """What one case's report says, as the scorer needs it."""

    case: Case
    diagnoses: list[Found] = field(default_factory=list)  # warnings and errors, report order
    failure: str | None = None  # why there is nothing to score (probe-failed)
    seconds: float | None = None  # the probe's own total time, else the measured wall time
    partial: bool = False
    steps: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # for re-running the engine

    @property
    def name(self) -> str:
        return self.case.name


def report_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.json"


def unlabelled_reports(folder: Path, cases: Mapping[str, Case], labels: Path) -> None:
    """A report with no case in the label file would be silently left out of every figure:
    refuse it, naming the label file and what to add."""
    extra = sorted(p.stem for p in folder.glob("*.json")
                   if p.stem not in cases and _is_probe_report(p))
    if extra:
        shown = ", ".join(extra[:10]) + (f" and {len(extra) - 10} more" if len(extra) > 10
                                         else "")
        raise LabelError(f"{labels}:1:1: {len(extra)} report(s) in {folder} have no case in "
                         f"this label file: {shown}; add each under 'cases:' (NAME: {{program: "
                         "P, expect: [ids]}}) or move the report out of the folder")


def _is_probe_report(path: Path) -> bool:
    """Whether a JSON file beside the reports is a probe report (other files, such as a
    mutation tool's own records, are not cases)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # a broken report is still a report: it must be labelled to be scored
    return isinstance(data, dict) and str(data.get("schema", "")).startswith(
        "advisor-probe-report/")


def read_case(path: Path, case: Case, kb: KnowledgeBase | None = None,
              engine: Any = None) -> CaseResult:
    """The case scored from its report; with `engine`, the diagnoses are recomputed from the
    report's facts (to score a changed knowledge base without probing again)."""
    result = CaseResult(case)
    if not path.exists():
        result.failure = "no report written"
        return result
    try:
        stored = read_report(path, strict=False)
    except ReportError as exc:
        result.failure = f"unreadable report ({str(exc).splitlines()[0]})"
        return result
    data = stored.data
    result.partial = bool(data.get("partial"))
    timings = data.get("timings") if isinstance(data.get("timings"), dict) else {}
    total = timings.get("total")
    if isinstance(total, (int, float)) and not isinstance(total, bool):
        result.seconds = float(total)
    result.steps = _steps(data)
    if kb is not None:
        check_report(stored, kb, strict=False)  # drops values the base cannot use
    result.facts = dict(stored.facts)
    if engine is not None:
        diagnoses = [c.to_dict() for c in engine.diagnose(result.facts).diagnoses]
    else:
        diagnoses = data.get("diagnoses") if isinstance(data.get("diagnoses"), list) else []
    result.diagnoses = found_in(diagnoses)
    return result


def found_in(diagnoses: list[Any]) -> list[Found]:
    """The warnings and errors of a report's `diagnoses` list, in the report's order."""
    found = []
    for d in diagnoses:
        if isinstance(d, dict) and d.get("severity") in COUNTED and isinstance(d.get("id"), str):
            cf = d.get("certainty")
            cf = float(cf) if isinstance(cf, (int, float)) and not isinstance(cf, bool) else 0.0
            found.append(Found(d["id"], d["severity"], cf))
    return found


def _steps(data: dict[str, Any]) -> int | None:
    observations = data.get("observations") if isinstance(data.get("observations"), dict) else {}
    details = observations.get("details") if isinstance(observations.get("details"), dict) else {}
    steps = details.get("training_steps")
    if isinstance(steps, int) and not isinstance(steps, bool):
        return steps
    series = data.get("series") if isinstance(data.get("series"), dict) else {}
    loss = series.get("loss")
    return len(loss) if isinstance(loss, list) and loss else None


def read_cases(folder: Path, cases: Mapping[str, Case], kb: KnowledgeBase | None = None,
               engine: Any = None) -> list[CaseResult]:
    """Every labelled case, in label order, scored from FOLDER/NAME.json."""
    return [read_case(report_path(folder, name), case, kb, engine)
            for name, case in cases.items()]
