"""Labelled report folders for the calibration tests: reports made by running the real engine
on small fact sets through the real report layer (no probe, no torch), and label files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


class ReportFolder:
    """A folder of CASE.json probe reports and its labels.yaml."""

    def __init__(self, path: Path):
        from advisor.engine import Engine
        from advisor.kb import load_kb

        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.engine = Engine(load_kb(check_examples=False))

    def report(self, name: str, facts: dict, seconds: float = 1.0) -> Path:
        """What `advisor probe --json` writes for a setup that measured FACTS."""
        from advisor.report.probe import ProbeReport

        result = self.engine.diagnose(facts)
        report = ProbeReport(setup={"name": name}, device=None, options={},
                             timings={"training": seconds / 2, "total": seconds},
                             facts=dict(facts), series={}, details={}, notes=[], warnings=[],
                             diagnoses=result.to_dict()["diagnoses"],
                             unknown_facts=result.unknown_facts)
        return report.write_json(self.path / f"{name}.json")

    def labels(self, text: str, name: str = "labels.yaml") -> Path:
        target = self.path / name
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return target


@pytest.fixture
def reports(tmp_path: Path) -> ReportFolder:
    return ReportFolder(tmp_path / "reports")
