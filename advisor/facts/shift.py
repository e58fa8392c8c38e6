"""Train against validation: do the labels and the inputs come from the same distribution?

Both measures subtract what two samples of these sizes from one distribution differ by anyway,
so a small validation set does not read as a shift.
"""

from __future__ import annotations

import math

import numpy as np

from advisor.facts import Judgement
from advisor.facts.labels import class_labels
from advisor.facts.order import REGRESSION_BINS, total_variation
from advisor.facts.records import DataRecord, FeatureStats
from advisor.facts.task import TaskInfo

LABEL_SHUFFLES = 20
"""Random splits of the pooled labels that estimate the sampling noise of the distance."""
STANDARD_ERRORS = 3.0
"""Each feature's mean difference is reduced by this many standard errors: a shift smaller
than three standard errors is within sampling noise (p > 0.003 per feature)."""
CONSTANT_STD_RTOL = 1e-12
"""A feature whose training std is below this fraction of its magnitude is constant in
training: a difference in it cannot be scaled by its spread and is skipped."""


def label_shift(train_t: np.ndarray, val_t: np.ndarray, task: TaskInfo) -> float | None:
    """Total-variation distance of the val label histogram from the train one, minus what two
    samples of these sizes from one distribution differ by anyway (clipped at 0)."""
    if task.classification:
        a, b = class_labels(train_t, task), class_labels(val_t, task)
    else:
        ya = np.asarray(train_t).astype(np.float64).reshape(len(train_t), -1)[:, 0]
        yb = np.asarray(val_t).astype(np.float64).reshape(len(val_t), -1)[:, 0]
        edges = np.unique(np.quantile(ya, REGRESSION_BINS))
        a, b = np.searchsorted(edges, ya), np.searchsorted(edges, yb)
    if a is None or b is None or not len(a) or not len(b):
        return None
    off = int(min(a.min(), b.min()))
    k = int(max(a.max(), b.max())) - off + 1
    pa = np.bincount(a - off, minlength=k) / len(a)
    pb = np.bincount(b - off, minlength=k) / len(b)
    tv = total_variation(pa, pb)
    pooled = np.concatenate([a, b]) - off
    rng = np.random.default_rng(0)
    noise = []
    for _ in range(LABEL_SHUFFLES):
        perm = rng.permutation(pooled)
        noise.append(total_variation(np.bincount(perm[:len(a)], minlength=k) / len(a),
                                     np.bincount(perm[len(a):], minlength=k) / len(b)))
    return float(max(0.0, tv - float(np.mean(noise))))


def input_shift(train: FeatureStats, val: FeatureStats, n_train: int, n_val: int) -> float:
    """Largest |mean_val - mean_train| / std_train over features, beyond sampling noise.

    Each feature's difference is reduced by three standard errors (so a small validation set
    does not read as a shift) and features constant in training are skipped."""
    std = train.std
    ok = std > CONSTANT_STD_RTOL * (np.abs(train.mean) + 1.0)
    if not ok.any():
        return 0.0
    d = np.abs(val.mean[ok] - train.mean[ok]) / std[ok]
    se = np.sqrt(1.0 / max(train.n, 1) + 1.0 / max(val.n, 1)) * np.maximum(
        1.0, val.std[ok] / std[ok])
    rows_per_sample = max(train.n / max(n_train, 1), 1.0)
    se = se * math.sqrt(rows_per_sample)  # rows within an image are not independent samples
    return float(np.max(np.maximum(d - STANDARD_ERRORS * se, 0.0)))


def judge_val_shift(train: DataRecord, val: DataRecord, task: TaskInfo,
                    layout: str) -> Judgement:
    """data.val_label_shift and data.val_input_shift, where both scans allow them."""
    out = Judgement()
    tr_t, va_t = train.all_targets(), val.all_targets()
    if tr_t is not None and va_t is not None and task.kind != "multilabel":
        shift = label_shift(tr_t, va_t, task)
        if shift is not None:
            out.facts["data.val_label_shift"] = shift
    tr_s = train.stats.get(layout) or train.stats.get("channel")
    va_s = val.stats.get(layout) or val.stats.get("channel")
    if tr_s is not None and va_s is not None and tr_s.n and va_s.n \
            and len(tr_s.mean) == len(va_s.mean):
        out.facts["data.val_input_shift"] = input_shift(tr_s, va_s, train.samples, val.samples)
    return out
