"""Dropout in the model: the largest rate, and dropout placed directly after a ReLU.

Rates come from the module tree (nn.Dropout and friends) and from functional calls traced in
forward (F.dropout), with what fed each call; both are plain numbers and names here.
"""

from __future__ import annotations

from collections.abc import Sequence

from advisor.facts import Judgement

RELU_SOURCES = ("relu", "relu_")
"""Traced ops whose output feeding a dropout counts as "dropout after ReLU"."""


def judge_module_dropout(rates: Sequence[float]) -> Judgement:
    """model.dropout_max from the dropout modules (0 without any)."""
    return Judgement(facts={"model.dropout_max": max(rates, default=0.0)},
                     details={"dropout_modules": list(rates)})


def judge_traced_dropout(traced: Sequence[tuple[float, str]], module_max: float | None,
                         module_after_relu: bool) -> Judgement:
    """model.dropout_max including functional dropout calls, and model.dropout_after_relu.

    `traced` holds (rate, op that produced the dropped tensor) per traced dropout call;
    `module_max` is the rate already known from the module tree."""
    out = Judgement()
    if traced:
        out.facts["model.dropout_max"] = max(max(p for p, _ in traced),
                                             module_max if module_max is not None else 0.0)
    after_relu = any(src in RELU_SOURCES for _, src in traced)
    out.facts["model.dropout_after_relu"] = after_relu or module_after_relu
    return out
