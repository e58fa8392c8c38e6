"""The task from the loss kind and the targets: regression, binary, multiclass or multilabel.

Every data fact is judged against the task (class balance means nothing for regression, an
outlier test nothing for class indices), so the task is decided first, from what the loss
function is (measured by tracing the loss callable) and what the targets look like (dtype,
shape, values). Pure: the targets arrive as a numpy array, the outputs as a shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from advisor.facts import Judgement

CLASS_INDEX_LOSSES = ("cross_entropy", "nll")
"""Losses that take class indices (or class probabilities of the output's shape): multiclass."""
BINARY_LOSSES = ("bce", "bce_with_logits")
"""Losses of one probability per output: binary, or multilabel with several outputs."""
ELEMENTWISE_LOSSES = ("mse", "l1", "smooth_l1", "huber", "bce", "bce_with_logits")
"""Losses computed element by element, where mismatched shapes broadcast instead of failing."""

SOFT_TARGET_ATOL = 1e-3
"""How far a row of soft class targets may sum from 1 and still read as one class distribution
(float32 rounding of probabilities written by hand or by label smoothing stays well inside)."""


@dataclass
class TaskInfo:
    """The task as the probe understands it; every data fact is judged against it."""

    kind: str                     # regression | binary | multiclass | multilabel
    source: str                   # given | inferred from ...
    loss: str                     # loss_fn.kind
    output_size: int | None
    class_indices: bool           # targets are class indices (not one-hot / probabilities)
    num_classes: int | None = None
    max_label: int | None = None
    min_label: int | None = None
    ignore_index: int = -100

    @property
    def classification(self) -> bool:
        return self.kind != "regression"

    def chance_classes(self) -> int | None:
        """C in the chance loss ln C: what a uniform prediction over the outputs scores."""
        if self.loss in CLASS_INDEX_LOSSES and self.output_size and self.output_size > 1:
            return self.output_size
        if self.loss in BINARY_LOSSES:
            return 2
        return None


def chance_loss(info: TaskInfo) -> float | None:
    """ln C for C equally likely classes: the loss of a model that has learned nothing."""
    c = info.chance_classes()
    return math.log(c) if c else None


def output_size(output_shape: Sequence[int] | None, loss: str) -> int | None:
    """Size of the output dimension that holds classes or regression outputs (dim 1 for
    class-index losses, which put classes there even for images and sequences; else the last)."""
    if output_shape is None:
        return None
    if len(output_shape) <= 1:
        return 1
    if loss in CLASS_INDEX_LOSSES:
        return int(output_shape[1])
    return int(output_shape[-1])


def dense_channels(output_shape: Sequence[int] | None, target_shape: Sequence[int]) -> int | None:
    """Channels of a dense (per-pixel or per-position) prediction: outputs (N, C, *S) of an
    image-like layout against targets (N, *S) (C = 1, the channel left out) or (N, C, *S) with
    four dimensions or more. A segmentation mask (N, H, W) against logits (N, 1, H, W) is one
    binary decision per pixel, not a multilabel task with H*W labels. None for anything else
    (sequences (N, T, F) keep their features last)."""
    if output_shape is None or len(output_shape) < 3:
        return None
    out, target = tuple(output_shape), tuple(target_shape)
    if len(target) == len(out) - 1 and out[1] == 1 and target[1:] == out[2:] \
            and target[:1] == out[:1]:
        return 1
    if len(out) >= 4 and target == out:
        return int(out[1])
    return None


def _per_sample_width(targets: np.ndarray) -> int:
    if targets.ndim <= 1:
        return 1
    return int(np.prod(targets.shape[1:]))


def infer_task(given: str | None, loss: str, output_shape: Sequence[int] | None,
               targets: np.ndarray, ignore: int = -100,
               target_shape: Sequence[int] | None = None) -> TaskInfo:
    """The task from the setup, else from the loss kind and the targets' dtype, shape, values.

    Class-index losses (cross entropy, NLL) mean multiclass; binary losses mean binary, or
    multilabel with several targets per sample; any other loss is judged by its targets alone
    (integers or 0/1 values are classification, anything else regression). `target_shape` is
    one batch's target shape when `targets` holds several batches flattened per sample."""
    t = np.asarray(targets)
    out_size = output_size(output_shape, loss)
    integer = t.dtype.kind in "biu"
    width = _per_sample_width(t)
    channels = None if loss in CLASS_INDEX_LOSSES else \
        dense_channels(output_shape, t.shape if target_shape is None else target_shape)
    if channels is not None:  # judged per pixel: the channels are the outputs
        out_size, width = channels, channels
    same_shape = output_shape is not None and tuple(output_shape[1:]) == tuple(t.shape[1:]) \
        and t.ndim >= 2
    info = TaskInfo("regression", "inferred", loss, out_size, False, ignore_index=ignore)
    values = t.astype(np.float32)
    binary_values = bool(((values == 0) | (values == 1)).all()) if values.size else False
    if loss in CLASS_INDEX_LOSSES:
        if not integer and same_shape:
            info.kind = "multiclass" if _rows_sum_to_one(values) else "multilabel"
            info.num_classes = out_size
        else:
            info.kind, info.class_indices = "multiclass", True
    elif loss in BINARY_LOSSES:
        info.kind = "binary" if width == 1 else "multilabel"
        info.num_classes = 2 if width == 1 else width
    elif integer or binary_values:
        if width == 1 or (integer and t.ndim >= 2 and not same_shape):
            info.class_indices = True
            distinct = np.unique(t[t != ignore]) if t.size else t
            info.kind = "binary" if binary_values and distinct.size <= 2 else "multiclass"
        else:
            per_row = values.reshape(len(values), -1).sum(1)
            info.kind = "multiclass" if bool((per_row == 1).all()) else "multilabel"
            info.num_classes = width
    if given:
        info.kind, info.source = given, "given"
    if info.class_indices:
        _class_range(info, t, ignore)
    elif info.kind == "binary":
        info.num_classes = 2
    return info


def _rows_sum_to_one(values: np.ndarray) -> bool:
    """Soft targets of a class-index loss: one distribution per row (multiclass) or not.

    Targets of more than two dimensions are compared value by value, as before the split."""
    rows = values.reshape(len(values), -1) if values.ndim == 2 else values
    sums = rows.sum(1) if rows.ndim == 2 else rows
    return bool(np.allclose(sums, np.ones_like(sums), rtol=1e-5, atol=SOFT_TARGET_ATOL))


def _class_range(info: TaskInfo, t: np.ndarray, ignore: int) -> None:
    labels = t.reshape(-1)
    labels = labels[labels != ignore]
    if labels.size == 0:
        return
    if labels.dtype.kind == "f":
        labels = np.round(labels)
    labels = labels.astype(np.int64)
    info.num_classes = int(np.unique(labels).size)
    info.max_label, info.min_label = int(labels.max()), int(labels.min())


def judge_task(task: TaskInfo) -> Judgement:
    """The task's facts: its kind and the size of the model's output."""
    return Judgement(facts={"task.kind": task.kind, "model.output_size": task.output_size},
                     details={"task_source": task.source})
