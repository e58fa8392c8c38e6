"""Whether weight decay dominates the steps: the median share of the decay term against the
loss gradient, from `advisor.instruments.decay.DecayShare`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from advisor.facts import Judgement


def judge_decay(ratios: Sequence[float]) -> Judgement:
    """optim.decay_grad_ratio: median over sampled steps of weight_decay * |w| / |grad| (the
    typical weight matrix); above 1 the decay pulls harder than the data."""
    j = Judgement()
    finite = [r for r in ratios if math.isfinite(r)]
    if len(finite) >= 3:
        j.facts["optim.decay_grad_ratio"] = float(np.median(finite))
    return j
