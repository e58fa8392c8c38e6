"""The loss before any training: its value against chance, and the loss's reduction.

A model that has learned nothing should score about ln C on C classes; far above it means the
initial outputs are confidently wrong (a bad output scale or bias), far below it that the task
is easier than it looks or the loss is not what it seems.
"""

from __future__ import annotations

import math

from advisor.facts import Judgement
from advisor.facts.task import TaskInfo, chance_loss

MEAN_TOLERANCE = 0.05
"""The loss of a batch stacked twice within 5% of the single batch's: a mean. Eval mode makes
the repeated outputs identical, so only float rounding separates the two."""
SUM_TOLERANCE = 0.1
"""A doubled batch's loss within 0.1 of twice the single batch's: a sum."""
NEGLIGIBLE_LOSS = 1e-12
"""A loss this close to zero gives no usable ratio."""


def judge_initial_loss(value: float | None, task: TaskInfo,
                       summed_over: int | None = None) -> Judgement:
    """loss.initial and loss.initial_vs_chance (the initial loss over ln C).

    A loss measured to be summed (`summed_over`: the target elements it adds up) is compared
    per element: ln C is the loss of one prediction, and a sum over a batch of 64 is 64 times
    that without anything being wrong with the outputs."""
    out = Judgement()
    if value is None:
        return out
    out.facts["loss.initial"] = value
    chance = chance_loss(task)
    per = value / summed_over if summed_over else value
    if summed_over:
        out.details["initial_loss_per_element"] = per
    if chance and math.isfinite(value):
        out.facts["loss.initial_vs_chance"] = per / chance
        out.details["chance_loss"] = chance
    return out


def reduction_from_doubling(one: float, two: float) -> str | None:
    """'mean' or 'sum' from the loss of one batch and of the same batch stacked twice."""
    if not (math.isfinite(one) and math.isfinite(two)) or abs(one) < NEGLIGIBLE_LOSS:
        return None
    ratio = two / one
    if abs(ratio - 1) < MEAN_TOLERANCE:
        return "mean"
    if abs(ratio - 2) < SUM_TOLERANCE:
        return "sum"
    return None
