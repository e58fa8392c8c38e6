"""The probe report: setup, device, timings, facts, series, observations and diagnoses, as one
versioned JSON document (`advisor-probe-report/1`), and as text, Markdown and HTML.

`facts` is a flat {name: value} mapping at the top level, so `advisor diagnose REPORT.json`
re-runs the engine on exactly what the probe observed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "advisor-probe-report/1"
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


@dataclass
class ProbeReport:
    """What `advisor.probe(...)` returns; `to_dict()` is the JSON document."""

    setup: dict[str, Any]
    device: dict[str, Any] | None
    options: dict[str, Any]
    timings: dict[str, float]
    facts: dict[str, Any]
    series: dict[str, Any]
    details: dict[str, Any]
    notes: list[str]
    warnings: list[dict[str, Any]]
    diagnoses: list[dict[str, Any]]
    partial: bool = False
    unknown_facts: list[str] = field(default_factory=list)
    kb_problem: str | None = None
    result: Any = field(default=None, repr=False, compare=False)  # the engine's result

    # ------------------------------------------------------------------------- queries
    def ids(self, *severities: str) -> list[str]:
        """Diagnosis ids in rank order, optionally only of the given severities."""
        return [d["id"] for d in self.diagnoses if not severities or d["severity"] in severities]

    def worst_severity(self) -> str | None:
        if not self.diagnoses:
            return None
        return min((d["severity"] for d in self.diagnoses), key=SEVERITY_RANK.__getitem__)

    def fact(self, name: str, default: Any = None) -> Any:
        value = self.facts.get(name, default)
        return value["value"] if isinstance(value, dict) and "value" in value else value

    # ------------------------------------------------------------------------- renderings
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "partial": self.partial,
            "setup": self.setup,
            "device": self.device,
            "options": self.options,
            "timings": self.timings,
            "summary": {s: sum(1 for d in self.diagnoses if d["severity"] == s)
                        for s in ("error", "warning", "info")},
            "diagnoses": self.diagnoses,
            "facts": self.facts,
            "series": self.series,
            "observations": {"notes": self.notes, "warnings": self.warnings,
                             "details": self.details},
            "unknown_facts": self.unknown_facts,
            "kb_problem": self.kb_problem,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_default, allow_nan=False) + "\n"

    def text(self) -> str:
        from advisor.probing.text import render_summary

        return render_summary(self)

    def markdown(self) -> str:
        from advisor.probing.markdown import render_markdown

        return render_markdown(self)

    def html(self) -> str:
        from advisor.probing.html import render_html

        return render_html(self)

    def write_json(self, path: str | Path) -> Path:
        return write_atomic(path, self.to_json())

    def write_markdown(self, path: str | Path) -> Path:
        return write_atomic(path, self.markdown())

    def write_html(self, path: str | Path) -> Path:
        return write_atomic(path, self.html())

    def __str__(self) -> str:
        return self.text()


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


def write_atomic(path: str | Path, text: str) -> Path:
    """Temp file in the same folder, then os.replace: a reader never sees half a report."""
    from advisor.report import write_atomic as _write

    return _write(path, text)
