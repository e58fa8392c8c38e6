"""Writing a pure judgement (advisor.facts.Judgement) into the probe's Observations.

The judgements return plain facts, details and notes; a fact judged with less than full
certainty arrives as {"value": v, "cf": c}, the form Observations stores it in.
"""

from __future__ import annotations

from advisor.facts import Judgement
from advisor.probing.facts import Observations


def apply_judgement(obs: Observations, judgement: Judgement) -> None:
    """Record the judgement's facts (None stays unknown), details and notes."""
    for name, value in judgement.facts.items():
        if isinstance(value, dict) and set(value) == {"value", "cf"}:
            obs.set(name, value["value"], cf=value["cf"])
        else:
            obs.set(name, value)
    obs.details.update(judgement.details)
    for note in judgement.notes:
        obs.note(note)
