"""The targets against the task: constant, out of range, inconsistent with the inputs,
imbalanced classes, outlying regression targets, and classes that do not match the outputs.

Everything is judged against the data itself: sampling noise is estimated from the same data
(shuffled labels for the nearest-neighbour test, robust scales for outliers), so a hard but
learnable dataset is not read as noisy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from advisor.facts import Judgement
from advisor.facts.records import DataRecord
from advisor.facts.task import TaskInfo

OUTLIER_Z = 5.0
"""Robust z-score beyond which a regression target is an outlier: 5 MAD-based standard
deviations is past anything a normal sample of a few thousand values reaches (p < 6e-7)."""
OUTLIER_MIN_VALUES = 10
"""Fewer finite targets than this give no usable median and MAD."""
MAD_TO_STD = 1.4826
"""Scales a median absolute deviation to the standard deviation of a normal distribution."""
MEAN_AD_TO_STD = 1.2533
"""Scales a mean absolute deviation to a normal standard deviation (sqrt(pi/2)); used when more
than half the targets are equal (the MAD is zero) and too few others remain to judge alone."""
POINT_MASS_SHARE = 0.2
"""Share of one exact value that makes a target column a point mass plus a spread: a fifth
of the samples at one value is a background or a floor, not a sample of a continuous law."""
DUPLICATE_CONFLICT_SHARE = 0.02
"""Share of samples whose identical input was seen with another label that makes the labels
inconsistent: a few exact duplicates with different labels happen in real data (annotation
slips), 2% is systematic."""
KNN_NEIGHBOURS = 5
"""k of the leave-one-out nearest-neighbour vote."""
KNN_MIN_SAMPLES = 60
"""Below this the nearest-neighbour score of real and shuffled labels overlap too much to tell."""
KNN_SHUFFLES = 50
"""Shuffled-label repetitions that estimate the null distribution's mean and spread."""
PREDICTABILITY_Z = 3.0
"""z below which the inputs predict the labels no better than chance: real labels, even of hard
data, score far above 3 standard deviations of the shuffled-label scores."""
CLASS_MISMATCH_SAMPLES_PER_OUTPUT = 20
"""Samples per output needed before "fewer classes seen than outputs" is trusted on a partial
scan: with 20 per class a class present in the data is missed with negligible probability."""
CONFLICT_CF, UNPREDICTABLE_CF = 0.9, 0.7
"""Certainty of "labels inconsistent" from duplicate conflicts (direct evidence) and from the
nearest-neighbour test (statistical evidence, weaker)."""


def with_certainty(value: Any, cf: float) -> Any:
    """A fact value with its certainty, in the form Observations stores (plain when certain)."""
    return value if cf >= 1.0 else {"value": value, "cf": round(float(cf), 3)}


def class_labels(targets: np.ndarray, task: TaskInfo) -> np.ndarray | None:
    """Class index per sample (one-hot rows become their argmax); None for multilabel."""
    if task.kind == "multilabel":
        return None
    t = np.asarray(targets)
    if t.ndim >= 2 and t.shape[1] > 1 and not task.class_indices and task.kind != "binary":
        return t.astype(np.float32).argmax(1)
    flat = t.reshape(-1).astype(np.float32)  # binary: one decision per value (per pixel)
    if task.kind == "binary" and not task.class_indices:
        flat = (flat > 0.5).astype(np.float32)
    flat = flat[flat != task.ignore_index]
    return np.round(flat).astype(np.int64)


def global_labels(record: DataRecord, task: TaskInfo) -> np.ndarray | None:
    """Class labels of the whole dataset (its own label array) when the scan was partial."""
    if record.complete or record.global_targets is None:
        return None
    try:
        return class_labels(record.global_targets, task)
    except (ValueError, TypeError, IndexError):
        return None


def label_out_of_range(targets: np.ndarray, task: TaskInfo) -> bool:
    """A class index outside [0, outputs) or a binary/multilabel target outside [0, 1]."""
    t = np.asarray(targets).astype(np.float32)
    if task.class_indices and task.output_size:
        t = t[t != task.ignore_index]
        if task.loss in ("bce", "bce_with_logits") or task.output_size == 1:
            return bool(((t < 0) | (t > 1)).any())
        return bool(((t < 0) | (t >= task.output_size)).any())
    if task.kind in ("binary", "multilabel"):
        return bool(((t < 0) | (t > 1)).any())
    return False


def output_class_mismatch(task: TaskInfo, complete: bool, samples: int) -> bool | None:
    """Classes in the targets exceed the outputs, or the outputs are not the classes."""
    out = task.output_size
    if out is None:
        return None
    if task.kind == "multiclass" and task.class_indices:
        if task.max_label is None:
            return None
        classes = task.max_label + 1
        if classes > out:
            return True
        enough = complete or samples >= CLASS_MISMATCH_SAMPLES_PER_OUTPUT * out
        return bool(classes < out and enough and (task.num_classes or 0) == classes)
    if task.kind == "binary":
        return bool(out != 1 and not (out == 2 and task.loss in ("cross_entropy", "nll")))
    if task.kind == "multilabel" or (task.kind == "multiclass" and not task.class_indices):
        return bool(task.num_classes is not None and out != task.num_classes)
    return None


def robust_outlier_fraction(y: np.ndarray, z: float = OUTLIER_Z) -> float | None:
    """Share of values more than z robust z-scores (MAD-based) from the median."""
    y = y[np.isfinite(y)]
    if len(y) < OUTLIER_MIN_VALUES:
        return None
    mass = point_mass(y)
    if mass is not None:
        # e.g. pixel targets on a zero background: the values off the background are judged
        # among themselves; being off the background is not being an outlier
        rest = y[y != mass]
        inner = robust_outlier_fraction(rest, z)
        return 0.0 if inner is None else inner * len(rest) / len(y)
    med = np.median(y)
    dev = np.abs(y - med)
    scale = MAD_TO_STD * np.median(dev)
    if scale == 0:
        scale = MEAN_AD_TO_STD * dev.mean()
    if scale == 0:
        return 0.0
    return float((dev / scale > z).mean())


def point_mass(y: np.ndarray) -> float | None:
    """The value that holds at least POINT_MASS_SHARE of the values when the others still vary
    enough to be judged (OUTLIER_MIN_VALUES of them, not all equal); None otherwise.

    A column that is a point mass plus a spread (a zero background under an image, a count
    that is mostly 0) has a median absolute deviation near zero, so every value off the mass
    would read as an outlier."""
    values, counts = np.unique(y, return_counts=True)
    top = int(counts.argmax())
    if counts[top] < POINT_MASS_SHARE * len(y) or len(values) < 3:
        return None
    if len(y) - counts[top] < OUTLIER_MIN_VALUES:
        return None
    return float(values[top])


def labels_constant(targets: np.ndarray) -> bool:
    """Every sample has the same target (needs two samples to say so)."""
    t = np.asarray(targets).reshape(len(targets), -1)
    return len(t) > 1 and bool((t == t[:1]).all())


def duplicate_conflicts(record: DataRecord) -> float | None:
    """Share of the samples whose exact input was also seen with another label."""
    if not record.input_hashes:
        return None
    total = record.knn_seen or len(record.input_hashes)
    conflicted = sum(1 for labels in record.input_hashes.values() if len(labels) > 1)
    return conflicted / max(total, 1)


def label_predictability(record: DataRecord, task: TaskInfo,
                         k: int = KNN_NEIGHBOURS) -> float | None:
    """z-score of leave-one-out k-NN balanced accuracy against the same test on shuffled labels.

    Real labels depend on the inputs, so neighbours share them (z well above 3 even for hard
    data); labels unrelated to the inputs score like shuffled ones (z near 0)."""
    if task.kind == "multilabel" or record.input_integer or len(record.knn_x) < KNN_MIN_SAMPLES:
        return None
    if (task.class_indices or task.kind == "binary") and np.asarray(record.knn_y[0]).size > 1:
        return None  # per-pixel or per-token labels: not one label per input
    x = np.stack(record.knn_x).astype(np.float64)
    y_raw = np.stack(record.knn_y)
    if y_raw.ndim == 2 and y_raw.shape[1] > 1:
        y = y_raw.argmax(1)
    else:
        y = y_raw.reshape(-1)
        if task.kind == "binary" and not task.class_indices:
            y = (y > 0.5).astype(np.int64)
    y = np.round(y).astype(np.int64)
    y = y - y.min()
    classes = np.unique(y)
    if len(classes) < 2:
        return None
    x = x - x.mean(0)
    sd = x.std(0)
    x = x[:, sd > 0] / sd[sd > 0]
    if x.shape[1] == 0:
        return None
    sq = (x * x).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * x @ x.T
    np.fill_diagonal(d, np.inf)
    nn_idx = np.argpartition(d, k, axis=1)[:, :k]
    obs_score = _balanced_knn(y, nn_idx)
    rng = np.random.default_rng(0)
    null = [_balanced_knn(rng.permutation(y), nn_idx) for _ in range(KNN_SHUFFLES)]
    sd_null = float(np.std(null)) or 1e-3
    return float((obs_score - float(np.mean(null))) / sd_null)


def _balanced_knn(y: np.ndarray, nn_idx: np.ndarray) -> float:
    votes = y[nn_idx]
    counts = np.zeros((len(y), int(y.max()) + 1))
    np.add.at(counts, (np.repeat(np.arange(len(y)), votes.shape[1]), votes.reshape(-1)), 1)
    pred = counts.argmax(1)
    recalls = [float((pred[y == c] == c).mean()) for c in np.unique(y)]
    return float(np.mean(recalls))


def labels_inconsistent(record: DataRecord, targets: np.ndarray,
                        task: TaskInfo) -> tuple[tuple[bool, float] | None, str]:
    """Targets that do not fit the task: fractional class targets, identical inputs with
    different labels, or labels that the inputs do not predict at all (a nearest-neighbour
    test against shuffled labels). Returns ((value, certainty), why)."""
    t = np.asarray(targets).astype(np.float32)
    if task.class_indices and bool((t != np.round(t)).any()):
        return (True, 1.0), "fractional values in class-index targets"
    if task.kind in ("binary", "multilabel") and not task.class_indices \
            and bool(((t < 0) | (t > 1)).any()):
        return (True, 1.0), "targets outside [0, 1] for a binary loss"
    conflict = duplicate_conflicts(record)
    if conflict is not None and conflict >= DUPLICATE_CONFLICT_SHARE:
        return (True, CONFLICT_CF), \
            f"{conflict:.1%} of the samples share an input with another label"
    z = label_predictability(record, task)
    if z is not None and z < PREDICTABILITY_Z:
        return (True, UNPREDICTABLE_CF), (f"nearest-neighbour labels predict no better than "
                                          f"shuffled labels (z = {z:.1f})")
    return (False, 1.0), ""


def content_labels(labels: np.ndarray, structural: list[int]) -> np.ndarray:
    """The labels without the padding and end-marker ids of sequence targets: their counts
    follow the sequence lengths, not a class distribution anyone would rebalance."""
    if not structural:
        return labels
    return labels[~np.isin(labels, np.asarray(structural, dtype=labels.dtype))]


def judge_classes(record: DataRecord, targets: np.ndarray, task: TaskInfo) -> Judgement:
    """Class facts: number of classes, labels out of range, imbalance, inconsistent labels,
    and whether the classes match the model's outputs."""
    out = Judgement()
    out.facts["task.num_classes"] = task.num_classes
    out.facts["data.label_out_of_range"] = label_out_of_range(targets, task)
    labels = class_labels(targets, task)
    if task.kind == "multilabel":
        pos = targets.reshape(len(targets), -1).astype(np.float32).sum(0)
        pos = pos[pos > 0]
        if len(pos) >= 2:
            out.facts["data.class_imbalance_ratio"] = float(pos.max() / pos.min())
    elif labels is not None and len(labels):
        reference = global_labels(record, task)
        ref = reference if reference is not None and len(reference) else labels
        ref = content_labels(ref, record.structural_tokens)
        if record.structural_tokens:
            out.details["structural_tokens"] = list(record.structural_tokens)
        counts = np.bincount(ref - ref.min()) if len(ref) else np.zeros(0, dtype=np.int64)
        counts = counts[counts > 0]
        if len(counts) >= 2:
            out.facts["data.class_imbalance_ratio"] = float(counts.max() / counts.min())
        out.details["class_counts"] = counts.tolist()[:100]
    inconsistent, why = labels_inconsistent(record, targets, task)
    if inconsistent is not None:
        out.facts["data.labels_inconsistent"] = with_certainty(*inconsistent)
        if why:
            out.details["labels_inconsistent"] = why
    mismatch = output_class_mismatch(task, record.complete, record.samples)
    if mismatch is not None:
        out.facts["model.output_class_mismatch"] = mismatch
    return out


DENSE_POOL_VALUES = 200_000
"""Values of dense targets pooled for the outlier test (an even stride over them beyond it)."""


def judge_regression_targets(targets: np.ndarray, dense: bool = False) -> Judgement:
    """The largest share of outlying values over the target columns, and the target range.

    Dense targets (an image or a map per sample: every column is the same quantity at another
    position) are judged pooled: one pixel's values over the images follow whatever the images
    put there (background at the borders, strokes now and then), which no column-wise outlier
    test can tell from an error."""
    out = Judgement()
    y = np.asarray(targets).astype(np.float64).reshape(len(targets), -1)
    if dense and y.shape[1] > 1:
        pooled = y.reshape(-1)
        pooled = pooled[::max(1, len(pooled) // DENSE_POOL_VALUES)]
        fractions = [robust_outlier_fraction(pooled)]
    else:
        fractions = [robust_outlier_fraction(y[:, j]) for j in range(y.shape[1])]
    fractions = [f for f in fractions if f is not None]
    if fractions:
        out.facts["data.target_outlier_fraction"] = max(fractions)
    finite = np.where(np.isfinite(y), y, np.nan)
    if len(y) >= 2 and np.isfinite(finite).any(axis=0).any():
        out.facts["data.target_max_std"] = float(np.nanmax(np.nanstd(finite, axis=0)))
    out.details["target_range"] = [float(np.nanmin(y)), float(np.nanmax(y))]
    return out
