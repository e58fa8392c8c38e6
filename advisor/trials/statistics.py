"""The decision of a remedy trial, from paired outcomes of matched seeds (pure, no torch).

Why this test: each seed of the treated arm is paired with the same seed of the control (same
initial weights, data order and dropout draws), so the paired change removes most of the seed
noise. Under "the remedy has no effect" each pair's change is as likely to be positive as
negative, so flipping signs enumerates the null distribution exactly: with k pairs there are
2**k equally likely sign patterns, and the smallest attainable one-sided p is 1 / 2**k (1/32
with the default five seeds), as in DEFault++'s mutant validation (research note §5). The
statistic is the sum of signed ranks of the changes (the Wilcoxon signed-rank statistic, itself
a sign-flip permutation statistic): a run that turned NaN is the worst outcome, and ranks keep
one such run from swamping the others the way a sum of raw changes would.

The effect size is the median relative change of the outcome (negative: the remedy lowered the
loss), with a percentile bootstrap interval over the pairs.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05
# a relative change is capped at this many times the control's outcome: a run that diverged to
# 1e30 or NaN is "much worse", and the median and its interval stay readable numbers
CHANGE_CAP = 10.0
BOOTSTRAP_DRAWS = 2000
# the smallest median change that counts as an effect: matched seeds can make a change of 0.01 %
# consistent in sign, and so "significant", yet no one would call it a remedy
MIN_EFFECT = 0.02


@dataclass(frozen=True)
class Decision:
    """What a set of paired outcomes says about a remedy."""

    verdict: str                 # helps | no_effect | hurts
    p_value: float               # one-sided p of the verdict (no_effect: the smaller one)
    effect: float                # median relative change of the outcome, treated vs control
    interval: tuple[float, float]
    seeds: int
    p_lower: float               # P(statistic <= observed): evidence the remedy lowers the outcome
    p_higher: float              # P(statistic >= observed): evidence it raises it


def relative_changes(control: Sequence[float | None], treated: Sequence[float | None],
                     cap: float = CHANGE_CAP) -> list[float]:
    """(treated - control) / |control| per pair, within [-cap, cap]; a non-finite or missing
    outcome is the worst: a treated NaN is +cap, a control NaN that the remedy avoided is -1
    (the whole loss removed, the most a lower loss can gain), both NaN 0."""
    changes = []
    for c, t in zip(control, treated, strict=True):
        c_ok, t_ok = _finite(c), _finite(t)
        if not c_ok and not t_ok:
            changes.append(0.0)
        elif not t_ok:
            changes.append(cap)
        elif not c_ok:
            changes.append(-1.0)
        else:
            scale = max(abs(c), 1e-12)  # type: ignore[arg-type]
            changes.append(max(-cap, min(cap, (t - c) / scale)))  # type: ignore[operator]
    return changes


def signed_rank_p(changes: Sequence[float]) -> tuple[float, float]:
    """Exact one-sided p-values (lower, higher) of the signed-rank statistic under sign flips.

    Zero changes carry no sign (they rank, but contribute nothing in every pattern). With more
    than 16 pairs the 2**k enumeration would be slow; a seeded Monte Carlo of 2**16 patterns
    is used instead (more than 16 seeds is far beyond what the probe runs)."""
    ranks = _ranks([abs(x) for x in changes])
    signed = [r if x > 0 else -r if x < 0 else 0.0 for r, x in zip(ranks, changes, strict=True)]
    observed = sum(signed)
    magnitudes = [abs(s) for s in signed]
    if len(magnitudes) <= 16:
        patterns = itertools.product((1, -1), repeat=len(magnitudes))
        totals = [sum(m * s for m, s in zip(magnitudes, p, strict=True)) for p in patterns]
    else:
        rng = random.Random(0)
        totals = [sum(m * rng.choice((1, -1)) for m in magnitudes) for _ in range(2**16)]
    eps = 1e-9
    lower = sum(1 for t in totals if t <= observed + eps) / len(totals)
    higher = sum(1 for t in totals if t >= observed - eps) / len(totals)
    return lower, higher


def decide(control: Sequence[float | None], treated: Sequence[float | None],
           alpha: float = ALPHA, seed: int = 0, min_effect: float = MIN_EFFECT) -> Decision:
    """helps (the outcome is lower: loss or error), hurts (higher) or no_effect: significant at
    `alpha` and a median change of at least `min_effect` in that direction."""
    if len(control) != len(treated) or not control:
        raise ValueError("decide() needs the same positive number of control and treated "
                         f"outcomes, got {len(control)} and {len(treated)}")
    changes = relative_changes(control, treated)
    lower, higher = signed_rank_p(changes)
    effect = _median(changes)
    if lower <= alpha and lower < higher and effect <= -min_effect:
        verdict, p = "helps", lower
    elif higher <= alpha and higher < lower and effect >= min_effect:
        verdict, p = "hurts", higher
    else:
        verdict, p = "no_effect", min(lower, higher)
    return Decision(verdict, p, effect, bootstrap_interval(changes, seed=seed),
                    len(changes), lower, higher)


def bootstrap_interval(changes: Sequence[float], level: float = 0.95,
                       draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the median change (seeded: the same data give the
    same interval)."""
    if len(changes) == 1:
        return changes[0], changes[0]
    rng = random.Random(seed)
    medians = sorted(_median([rng.choice(changes) for _ in changes]) for _ in range(draws))
    lo = medians[int(math.floor((1 - level) / 2 * (draws - 1)))]
    hi = medians[int(math.ceil((1 + level) / 2 * (draws - 1)))]
    return lo, hi


def smallest_p(seeds: int) -> float:
    """The smallest one-sided p attainable with this many pairs: below alpha, never "helps"."""
    return 1.0 / 2**seeds


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks with ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks
