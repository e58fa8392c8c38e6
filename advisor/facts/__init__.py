"""Facts from measurements: pure functions that judge what the instruments recorded.

Instruments (`advisor.instruments`) and the probe's data scan record plain numbers and arrays;
the functions here turn those records into facts of the catalogue (knowledge/facts.yaml). They
import neither torch nor textual (numpy at most), so every threshold and classification can be
tested on hand-made numbers, and the same judgement serves any loop that produced the record
(the probe's own experiments, the user's script under `advisor watch`, a log file).

Each judging function returns a `Judgement`: the facts it could decide (a fact it cannot decide
is left out, never guessed), plus details and notes for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Judgement:
    """What one judging function concluded from one record."""

    facts: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def merge(self, other: Judgement) -> Judgement:
        """This judgement with another's facts, details and notes added (the other wins)."""
        self.facts.update(other.facts)
        self.details.update(other.details)
        self.notes.extend(n for n in other.notes if n not in self.notes)
        return self
