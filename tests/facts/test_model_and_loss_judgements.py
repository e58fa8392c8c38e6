"""Task inference, initialisation, dropout, initial loss and shape judgements on plain numbers
and numpy arrays (no torch)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advisor.facts.dropout import judge_module_dropout, judge_traced_dropout
from advisor.facts.initial_loss import judge_initial_loss, reduction_from_doubling
from advisor.facts.initialisation import (
    LayerScale,
    identical_rows,
    init_distance,
    init_scale_ratio,
    judge_initialisation,
)
from advisor.facts.shapes import shapes_broadcast_silently
from advisor.facts.task import infer_task, judge_task

RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------------- task
@pytest.mark.parametrize("loss, out_shape, targets, kind", [
    ("cross_entropy", (8, 10), RNG.integers(0, 10, 8), "multiclass"),
    ("cross_entropy", (8, 4), np.array([[1., 1, 0, 0]] * 8, dtype=np.float32), "multilabel"),
    ("cross_entropy", (8, 4), np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 8)], "multiclass"),
    ("bce_with_logits", (8, 1), RNG.integers(0, 2, (8, 1)).astype(np.float32), "binary"),
    ("bce_with_logits", (8, 5), RNG.integers(0, 2, (8, 5)).astype(np.float32), "multilabel"),
    ("mse", (8, 1), RNG.normal(size=(8, 1)).astype(np.float32), "regression"),
    ("mse", (8, 1), RNG.integers(0, 3, (8, 1)), "multiclass"),
    ("mse", (8, 1), np.array([[0.], [1.]] * 4, dtype=np.float32), "binary"),
    ("other", (8, 3), np.array([True, False] * 4), "binary"),
])
def test_infer_task(loss, out_shape, targets, kind):
    assert infer_task(None, loss, out_shape, targets).kind == kind


def test_class_range_ignores_ignore_index_and_given_task_wins():
    task = infer_task(None, "cross_entropy", (6, 5), np.array([0, 3, -100, 3, 1, -100]))
    assert (task.num_classes, task.min_label, task.max_label) == (3, 0, 3)
    assert task.class_indices and task.chance_classes() == 5
    given = infer_task("regression", "cross_entropy", (4, 3), np.array([0, 1, 2, 0]))
    assert judge_task(given).facts == {"task.kind": "regression", "model.output_size": 3}
    assert judge_task(given).details == {"task_source": "given"}
    assert infer_task(None, "mse", None, np.zeros(0)).output_size is None


# ------------------------------------------------------------------------ initialisation
def test_init_distance_of_pytorch_default_and_of_unit_normal():
    fan_in = 64
    assert init_distance(1 / math.sqrt(3 * fan_in), fan_in, 64) == pytest.approx(math.sqrt(3))
    assert init_distance(math.sqrt(2 / fan_in), fan_in, 64) == pytest.approx(1.0)
    assert init_distance(1.0, fan_in, 10) > 5


def test_init_scale_ratio_picks_the_worst_layer_and_skips_constant_ones():
    layers = [LayerScale("fc1", math.sqrt(2 / 64), 64, 32), LayerScale("fc2", 1.0, 32, 10),
              LayerScale("zero", 0.0, 32, 10), LayerScale("nan", math.nan, 4, 4)]
    ratio, worst = init_scale_ratio(layers)
    assert worst == "fc2" and ratio == pytest.approx(math.sqrt(16))
    j = judge_initialisation(layers, ["zero"])
    assert j.facts == {"model.init_scale_ratio": ratio}
    assert j.details == {"init_scale_worst_layer": "fc2", "identical_row_layers": ["zero"]}
    assert judge_initialisation([LayerScale("zero", 0.0, 4, 4)], []).facts == {}


def test_identical_rows():
    w = RNG.normal(size=(8, 16))
    assert not identical_rows(w, None)
    const = np.full((8, 16), 0.3)
    assert identical_rows(const, np.zeros(8))
    assert not identical_rows(const, np.arange(8.0))   # the biases tell the units apart
    assert not identical_rows(np.full((1, 16), 0.3), None)  # one unit: nothing to be equal to


# ------------------------------------------------------------------------------- dropout
def test_dropout_facts():
    assert judge_module_dropout([]).facts == {"model.dropout_max": 0.0}
    assert judge_module_dropout([0.1, 0.5]).facts == {"model.dropout_max": 0.5}
    traced = judge_traced_dropout([(0.7, "relu"), (0.2, "linear")], 0.5, False)
    assert traced.facts == {"model.dropout_max": 0.7, "model.dropout_after_relu": True}
    assert judge_traced_dropout([], 0.5, True).facts == {"model.dropout_after_relu": True}
    assert judge_traced_dropout([(0.1, "tanh")], None, False).facts == {
        "model.dropout_max": 0.1, "model.dropout_after_relu": False}


# --------------------------------------------------------------------------- initial loss
def test_initial_loss_against_chance():
    task = infer_task(None, "cross_entropy", (4, 10), np.arange(10))
    j = judge_initial_loss(2 * math.log(10), task)
    assert j.facts == {"loss.initial": 2 * math.log(10), "loss.initial_vs_chance": 2.0}
    assert j.details["chance_loss"] == pytest.approx(math.log(10))
    regression = infer_task(None, "mse", (4, 1), np.linspace(0, 1, 4).reshape(-1, 1))
    assert judge_initial_loss(0.3, regression).facts == {"loss.initial": 0.3}
    assert judge_initial_loss(None, task).facts == {}
    assert "loss.initial_vs_chance" not in judge_initial_loss(math.nan, task).facts


@pytest.mark.parametrize("one, two, expected", [
    (0.7, 0.7, "mean"), (0.7, 1.4, "sum"), (0.7, 1.0, None), (0.0, 0.0, None),
    (math.inf, 1.0, None),
])
def test_reduction_from_doubling(one, two, expected):
    assert reduction_from_doubling(one, two) == expected


# -------------------------------------------------------------------------------- shapes
def test_shapes_that_broadcast_silently():
    assert shapes_broadcast_silently((8, 1), (8,), "mse", True)
    assert not shapes_broadcast_silently((8, 1), (8, 1), "mse", True)
    assert not shapes_broadcast_silently((8, 10), (8,), "cross_entropy", False)
    assert not shapes_broadcast_silently((8, 3), (5,), "mse", True)
    assert not shapes_broadcast_silently((8, 1), (8,), "other", False)  # integer: class indices
