"""The small-batch overfit test's verdict (Karpathy's "overfit one batch"): a model that cannot
memorise 16 samples has a wiring problem (loss, outputs, targets, a detached graph), not a
tuning problem. Pure functions of the recorded losses and accuracy.

The test passes when the batch is classified correctly (accuracy >= 0.95), the loss falls to
5 % of its initial value, or it falls to half the loss the training run reached on the whole
data (`reference`). The last bar is relative to what this model can reach: a sequence batch
holds hundreds of targets, and an autoencoder with a narrow bottleneck keeps a floor far above
5 % of its start, yet a working model memorises 16 samples far better than it fits the whole
data set. That bar counts only when the training run itself learned (its loss fell below
LEARNED_SHARE of the loss before training): a wiring fault (a loss that cannot reach its
targets, inputs that do not reach the output, units that cannot differ) keeps the whole data
near its start, and then only the absolute bar stands.

Fewer than MIN_STEPS steps without success prove nothing, so a test cut short (by the time cap)
is inconclusive; so is one whose loss is still falling steadily when its steps run out (it is
"not finished", not "cannot overfit").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from advisor.facts import Judgement
from advisor.facts.curves import mann_whitney_z

SAMPLES = 16
PASS_RATIO = 0.05
PASS_ACCURACY = 0.95
MAX_STEPS = 300
MIN_STEPS = 100  # fewer steps without success prove nothing
STALL_WINDOW = 50
REFERENCE_SHARE = 0.5  # pass: the small batch's loss at half the whole data's, or lower
LEARNED_SHARE = 0.8    # ... when the training run brought the whole data's loss this low
FALLING_WINDOW = 100   # the stretch at the end over which "still falling" is judged
FALLING_EDGE = 20      # steps at each end of that stretch compared


@dataclass
class OverfitResult:
    passed: bool = False
    loss_ratio: float | None = None
    accuracy: float | None = None
    optimizer: str = "user"
    losses: list[float] = field(default_factory=list)
    conclusive: bool = True
    failed: bool = False   # the user's code raised: reported by the training run
    error: str | None = None
    samples: int | None = None  # samples in the memorised batch (None: the whole batch)
    reference: float | None = None  # the training run's final loss on the whole data
    reference_start: float | None = None  # the whole data's loss before training
    unfinished: bool = False    # still falling steadily when the steps ran out
    floor: float = 0.0          # the lowest loss the loss terms can take on this batch


def stalled(losses: list[float], window: int = STALL_WINDOW) -> bool:
    """After MIN_STEPS steps: the best loss of the last `window` steps is within 1 % of the
    best before them, so more steps will not change the verdict."""
    if len(losses) < max(MIN_STEPS, 2 * window):
        return False
    before = min(losses[:-window])
    recent = min(losses[-window:])
    return recent > before - 0.01 * abs(before)


def loss_ratio(losses: list[float], first: float | None) -> float | None:
    """Best of the last 10 finite losses over the first one."""
    finite = [v for v in losses if math.isfinite(v)]
    if first is None or first <= 0 or not finite:
        return None
    return min(finite[-10:]) / first


def passed(accuracy: float | None, ratio: float | None, best: float | None = None,
           reference: float | None = None, reference_start: float | None = None) -> bool:
    """Classified right, down to PASS_RATIO of the start, or (`best` loss of the last steps)
    down to REFERENCE_SHARE of the `reference` level the model reached on the whole data,
    when that run learned (`reference` under LEARNED_SHARE of `reference_start`)."""
    if accuracy is not None and accuracy >= PASS_ACCURACY:
        return True
    if ratio is not None and ratio <= PASS_RATIO:
        return True
    if best is None or reference is None or reference_start is None:
        return False
    if not (math.isfinite(reference) and math.isfinite(reference_start)) or reference <= 0:
        return False
    return reference <= LEARNED_SHARE * reference_start and best <= REFERENCE_SHARE * reference


def best_recent(losses: list[float]) -> float | None:
    """The lowest of the last 10 finite losses."""
    finite = [v for v in losses if math.isfinite(v)]
    return min(finite[-10:]) if finite else None


def still_falling(losses: list[float], budget: int = MAX_STEPS) -> bool:
    """The loss is still coming down steadily at the end: the last FALLING_EDGE steps are
    clearly below those FALLING_WINDOW steps earlier (rank test), at a rate that would halve
    the present loss within another `budget` steps. A stuck loss (a wiring fault) drifts far
    slower than that."""
    x = [v for v in losses if math.isfinite(v)]
    window = min(FALLING_WINDOW, len(x) // 2)
    if window < 2 * FALLING_EDGE:
        return False
    start = np.asarray(x[-window:-window + FALLING_EDGE])
    end = np.asarray(x[-FALLING_EDGE:])
    now = float(np.median(end))
    drop = float(np.median(start)) - now
    if drop <= 0 or now <= 0 or mann_whitney_z(start, end) < 2.33:
        return False
    return drop / (window - FALLING_EDGE) * budget >= 0.5 * now


def conclude(res: OverfitResult, capped: bool) -> OverfitResult:
    """Set the verdict of one attempt from its losses (the first finite one is the start),
    all measured above the loss's floor (`floor`: e.g. the entropy of soft targets under a
    binary cross-entropy, which no memorisation removes)."""
    losses = [v - res.floor for v in res.losses]
    reference, start = (None if v is None else v - res.floor
                        for v in (res.reference, res.reference_start))
    first = next((v for v in losses if math.isfinite(v)), None)
    res.loss_ratio = loss_ratio(losses, first)
    res.passed = passed(res.accuracy, res.loss_ratio, best_recent(losses), reference, start)
    stopped_nonfinite = bool(losses) and not math.isfinite(losses[-1])
    res.unfinished = not res.passed and not stopped_nonfinite and still_falling(losses)
    res.conclusive = not res.unfinished and (res.passed or stopped_nonfinite or (
        len(losses) >= MIN_STEPS and not capped) or (len(losses) >= MAX_STEPS))
    return res


def fallback_rate(optim_kind: str | None, user_lr: float | None,
                  suggested: float | None) -> tuple[str, float | None]:
    """What the second attempt tries when the user's settings could not memorise the batch:
    ('suggested', rate) the same optimizer at the LR range test's suggestion, ('adam', 1e-3)
    Adam at 1e-3 when there is no suggestion, or ('none', None) when the user's rate is already
    about the one that would be tried (a merely mistuned rate is reported by other facts)."""
    if suggested is None and optim_kind in ("adam", "adamw") and user_lr:
        if 1 / 3 < user_lr / 1e-3 < 3:
            return "none", None  # Adam near 1e-3 already: nothing better to try
        suggested = 1e-3
    if suggested is not None and user_lr and 1 / 3 < user_lr / suggested < 3:
        return "none", None
    if suggested is not None:
        return "suggested", suggested
    return "adam", 1e-3


def judge_overfit(res: OverfitResult) -> Judgement:
    j = Judgement()
    if res.failed:
        j.notes.append("The small-batch overfit test could not run on a slice of one batch ("
                       f"{res.error or 'the step raised'}); it gives no verdict.")
        return j
    if not res.losses:
        return j
    j.details["overfit"] = {"optimizer": res.optimizer, "accuracy": res.accuracy,
                            "steps": len(res.losses), "conclusive": res.conclusive,
                            "loss_ratio": res.loss_ratio, "samples": res.samples,
                            "unfinished": res.unfinished, "reference_loss": res.reference}
    if res.unfinished:
        j.notes.append(
            f"The small-batch overfit test did not finish: after {len(res.losses)} steps its "
            f"loss (now {res.loss_ratio or 0:.0%} of its start) was still falling steadily, so it "
            "gives no verdict. Slow memorisation is not a failure to learn.")
        return j
    if not res.conclusive:
        j.notes.append("The small-batch overfit test ran out of time before a verdict.")
        return j
    j.facts["overfit.passed"] = res.passed
    if res.loss_ratio is not None:
        j.facts["overfit.loss_ratio"] = res.loss_ratio
    return j
