"""The observations a probe run collects: catalogue facts, recorded series and free-form details.

Facts are a flat {name: value} mapping with the exact names and meanings of docs/design.md;
values are plain JSON types (bool, int, float, str), never NaN or infinity, so that a report can
be stored and re-diagnosed (`advisor diagnose REPORT.json`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from advisor.facts import Judgement

BIG = 1e30  # stands for infinity in JSON


def clean_value(value: Any) -> Any:
    """A JSON-safe plain value, or None when the value is not a measurement (NaN)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return math.copysign(BIG, value)
        return float(value)
    if isinstance(value, str):
        return value
    return str(value)


@dataclass
class Observations:
    """What the collectors found. `facts` feed the engine; the rest feeds the report."""

    facts: dict[str, Any] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def set(self, name: str, value: Any, cf: float | None = None) -> None:
        """Record a fact; None and NaN mean "not measured" and leave it unknown."""
        value = clean_value(value)
        if value is None:
            return
        if cf is not None and cf < 1.0:
            self.facts[name] = {"value": value, "cf": round(float(cf), 3)}
        else:
            self.facts[name] = value

    def get(self, name: str, default: Any = None) -> Any:
        value = self.facts.get(name, default)
        if isinstance(value, dict) and "value" in value:
            return value["value"]
        return value

    def apply(self, judgement: Judgement, series: dict[str, str] | None = None) -> None:
        """Record a pure judgement (advisor.facts): its facts (None stays unknown; a fact judged
        with less than full certainty arrives as {"value": v, "cf": c}), details and notes.
        `series` names details that belong with the plotted series (detail key -> series key).
        """
        for name, value in judgement.facts.items():
            if isinstance(value, dict) and set(value) == {"value", "cf"}:
                self.set(name, value["value"], cf=value["cf"])
            else:
                self.set(name, value)
        for key, value in judgement.details.items():
            if series and key in series:
                self.series[series[key]] = value
            else:
                self.details[key] = value
        for text in judgement.notes:
            self.note(text)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
