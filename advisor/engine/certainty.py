"""Certainty factors in the MYCIN/EMYCIN manner.

A certainty is a number in [-1, 1]: 1 is certainly true, -1 certainly false, 0 no evidence.
Unknown (nothing observed) is None and is distinct from 0.
"""

from __future__ import annotations

THRESHOLD = 0.2  # EMYCIN: a premise at or below 0.2 counts as false, so its rule does not fire


def combine(a: float, b: float) -> float:
    """Combine two pieces of evidence for the same conclusion (associative, commutative)."""
    if a >= 0 and b >= 0:
        return a + b * (1 - a)
    if a < 0 and b < 0:
        return a + b * (1 + a)
    denominator = 1 - min(abs(a), abs(b))
    if denominator == 0:  # +1 against -1: contradictory certainties; no evidence either way
        return 0.0
    return (a + b) / denominator


def combine_all(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total = combine(total, v)
    return total


def conjunction(values: list[float | None], threshold: float = THRESHOLD) -> float | None:
    """`all`: the minimum; false as soon as one known part is false, else unknown if any is."""
    known = [v for v in values if v is not None]
    if known and min(known) <= threshold:
        return min(known)
    if len(known) < len(values):
        return None
    return min(known)


def disjunction(values: list[float | None], threshold: float = THRESHOLD) -> float | None:
    """`any`: the maximum; true as soon as one known part is true, else unknown if any is."""
    known = [v for v in values if v is not None]
    if known and max(known) > threshold:
        return max(known)
    if len(known) < len(values):
        return None
    return max(known)


def negation(value: float | None) -> float | None:
    return None if value is None else -value
