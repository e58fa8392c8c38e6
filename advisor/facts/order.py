"""Whether consecutive batches mix labels: the label-order statistic.

Mini-batch SGD assumes every batch is a random sample of the data. Data stored sorted by class
and read in order gives batches of one class; the statistic below measures how far the batches
are from random samples, against what shuffled batches of the same sizes would show.
"""

from __future__ import annotations

import numpy as np

from advisor.facts import Judgement
from advisor.facts.labels import class_labels, global_labels
from advisor.facts.records import DataRecord
from advisor.facts.task import TaskInfo

SIMULATED_SHUFFLES = 8
"""Simulated shuffled epochs that estimate D_rand; the mean over batches already averages most
of the noise, 8 epochs leave its standard error under a few percent of D_pure - D_rand."""
MIN_CONTRAST = 1e-3
"""D_pure - D_rand below this means sorted and shuffled batches look alike (one dominant label,
or batches of one sample): the statistic is undefined and stays unknown."""
REGRESSION_BINS = np.linspace(0.1, 0.9, 9)
"""Regression targets are binned at their deciles so that the same statistic applies."""


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance of two histograms (0 equal, 1 disjoint)."""
    return 0.5 * float(np.abs(a - b).sum())


def _label_keys(t: np.ndarray, task: TaskInfo, edges: np.ndarray | None) -> np.ndarray | None:
    if task.classification:
        return class_labels(t, task)
    return np.searchsorted(edges, sample_values(t)) if edges is not None else None


def sample_values(t: np.ndarray) -> np.ndarray:
    """One number per sample for binning regression targets: the target itself, or the mean
    of a multi-valued target (an image, a vector); its first value alone is often a constant
    (a background pixel), which hid the order of autoencoder and image-to-image data."""
    y = np.asarray(t).astype(np.float64).reshape(len(t), -1)
    return y[:, 0] if y.shape[1] == 1 else y.mean(axis=1)


def order_correlation(record: DataRecord, task: TaskInfo) -> float | None:
    """How sorted the labels are across consecutive batches: 0 shuffled, 1 sorted.

    D = mean total-variation distance between each batch's label histogram and the overall
    label distribution. For shuffled data D is the sampling noise D_rand (simulated with the
    same batch sizes); for data sorted by label each batch holds one label, D_pure. The result
    is (D - D_rand) / (D_pure - D_rand), clipped to [0, 1]. Regression targets are binned
    into deciles. None when fewer than two batches were seen or the labels never vary."""
    if task.kind == "multilabel" or len(record.targets) < 2:
        return None
    edges = None
    if not task.classification:
        edges = np.unique(np.quantile(sample_values(record.all_targets()), REGRESSION_BINS))
    batches = [_label_keys(t, task, edges) for t in record.targets]
    batches = [b for b in batches if b is not None and len(b)]
    if len(batches) < 2:
        return None
    reference = global_labels(record, task) if task.classification else None
    pool = reference if reference is not None and len(reference) else np.concatenate(batches)
    offset = int(min(pool.min(), min(b.min() for b in batches)))
    k = int(max(pool.max(), max(b.max() for b in batches))) - offset + 1
    p = np.bincount(pool - offset, minlength=k) / len(pool)
    if p.max() >= 1.0 - 1e-12:
        return None
    d_obs = float(np.mean([total_variation(np.bincount(b - offset, minlength=k) / len(b), p)
                           for b in batches]))
    rng = np.random.default_rng(0)
    sims = []
    for _ in range(SIMULATED_SHUFFLES):
        sims.append(np.mean([total_variation(rng.multinomial(len(b), p) / len(b), p)
                             for b in batches]))
    d_rand = float(np.mean(sims))
    d_pure = float(np.mean([1.0 - p[np.bincount(b - offset, minlength=k).argmax()]
                            for b in batches]))
    if d_pure - d_rand < MIN_CONTRAST:
        return None
    return float(np.clip((d_obs - d_rand) / (d_pure - d_rand), 0.0, 1.0))


def judge_order(record: DataRecord, task: TaskInfo) -> Judgement:
    """data.order_correlation, when the batches allow it."""
    value = order_correlation(record, task)
    return Judgement(facts={} if value is None else {"data.order_correlation": value})
