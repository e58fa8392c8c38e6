"""A labelled folder of probe reports as the scorer and the calibration read it: the label
file beside the reports (or given), an optional split, and every case scored from its report.
One place, so that `advisor kb calibrate` and benchmarks/diagnosis_accuracy.py agree on which
cases exist and which half each belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.calibration.labels import UNASSIGNED, Case, Split, read_labels, read_split
from advisor.calibration.reports import CaseResult, read_cases, unlabelled_reports
from advisor.errors import UsageError
from advisor.kb.model import KnowledgeBase

LABELS_NAME = "labels.yaml"


@dataclass
class LabelledReports:
    folder: Path
    labels: Path
    cases: dict[str, Case]
    split: Split | None = None

    def part(self, name: str) -> dict[str, Case]:
        """The cases of one half of the split (all of them without a split)."""
        if self.split is None:
            return dict(self.cases)
        return {n: c for n, c in self.cases.items() if self.split.part_of(c.program) == name}

    def unassigned_programs(self) -> list[str]:
        if self.split is None:
            return []
        return sorted({c.program for c in self.cases.values()
                       if self.split.part_of(c.program) == UNASSIGNED})

    def unknown_ids(self, kb: KnowledgeBase) -> list[str]:
        """A warning per expected id the knowledge base has no diagnosis for: such a case can
        never be detected (a typo, or a rule not written yet)."""
        known = {r.id for r in kb.diagnoses}
        return [f"{case.location or self.labels}: case '{name}' expects '{i}', which is no "
                "diagnosis of the knowledge base; it can never be detected (check the spelling "
                "with `advisor kb list`)"
                for name, case in self.cases.items() for i in case.expect if i not in known]

    def results(self, cases: dict[str, Case] | None = None, kb: KnowledgeBase | None = None,
                engine: Any = None) -> list[CaseResult]:
        return read_cases(self.folder, self.cases if cases is None else cases, kb, engine)


def default_labels(folder: str | Path) -> Path:
    return Path(folder) / LABELS_NAME


def open_reports(folder: str | Path, labels: str | Path | None = None,
                 split: str | Path | None = None) -> LabelledReports:
    """Check the folder, read the labels (default FOLDER/labels.yaml) and the split, and refuse
    reports that no label names; every problem is an AdvisorError (exit 2)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder of reports; give the folder that holds the "
                         "CASE.json probe reports")
    labels_path = Path(labels) if labels else default_labels(folder)
    cases = read_labels(labels_path)
    unlabelled_reports(folder, cases, labels_path)
    return LabelledReports(folder, labels_path, cases, read_split(split) if split else None)
