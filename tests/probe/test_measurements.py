"""Measurement helpers on real modules and tensors: final activation through functional calls,
loss kinds behind wrappers, task inference, error classification, initialisation checks, data
order and label sanity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advisor.probing.collectors.data import (
    DataScan,
    input_shift,
    label_shift,
    order_correlation,
    robust_outlier_fraction,
)
from advisor.probing.collectors.loss import LossTrace, infer_task, loss_kind
from advisor.probing.collectors.model import identical_rows, init_scale_ratio
from advisor.probing.collectors.structure import shapes_broadcast_silently
from advisor.probing.errors import classify_error
from advisor.probing.trace import ForwardTrace, unit_activity


def final_activation(model: nn.Module, x: torch.Tensor) -> str:
    tracer = ForwardTrace()
    with tracer:
        out = model(x)
    return tracer.final_activation(out)[0]


class Functional(nn.Module):
    def __init__(self, tail):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.tail = tail

    def forward(self, x):
        return self.tail(self.fc(x))


@pytest.mark.parametrize("tail, expected", [
    (lambda h: h, "none"),
    (lambda h: torch.sigmoid(h).squeeze(-1), "sigmoid"),
    (lambda h: F.softmax(h, dim=1), "softmax"),
    (lambda h: h.log_softmax(1), "log_softmax"),
    (lambda h: torch.tanh(h).view(len(h), -1), "tanh"),
    (lambda h: F.relu(h), "relu"),
    (lambda h: F.elu(h), "other"),
    (lambda h: F.dropout(torch.sigmoid(h), 0.1), "sigmoid"),
    (lambda h: torch.sigmoid(h) * 2, "none"),
])
def test_final_activation_sees_functional_calls(tail, expected):
    assert final_activation(Functional(tail), torch.randn(5, 4)) == expected


def test_final_activation_of_module_softmax():
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    assert final_activation(model, torch.randn(5, 4)) == "softmax"


def test_dropout_after_relu_and_rate_from_functional_call():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return F.dropout(F.relu(self.fc(x)), p=0.7, training=self.training)

    tracer = ForwardTrace()
    with tracer:
        Net()(torch.randn(3, 4))
    assert tracer.dropouts() == [(0.7, "relu")]


@pytest.mark.parametrize("loss_fn, expected", [
    (nn.CrossEntropyLoss(), "cross_entropy"),
    (lambda o, t: F.cross_entropy(o, t, label_smoothing=0.1), "cross_entropy"),
    (nn.NLLLoss(), "nll"),
    (nn.BCEWithLogitsLoss(), "bce_with_logits"),
    (lambda o, t: ((o - t) ** 2).mean(), "other"),
    (nn.HuberLoss(), "huber"),
])
def test_loss_kind(loss_fn, expected):
    out = torch.randn(4, 3)
    target = torch.randint(0, 3, (4,)) if expected in ("cross_entropy", "nll") \
        else torch.rand(4, 3)
    tracer = LossTrace()
    with tracer:
        loss_fn(out.log_softmax(1) if expected == "nll" else out, target)
    assert loss_kind(loss_fn, tracer) == expected


@pytest.mark.parametrize("loss, out_shape, targets, kind", [
    ("cross_entropy", (8, 10), torch.randint(0, 10, (8,)), "multiclass"),
    ("cross_entropy", (8, 4), torch.tensor([[1., 1, 0, 0]] * 8), "multilabel"),
    ("cross_entropy", (8, 4), torch.eye(4)[torch.randint(0, 4, (8,))], "multiclass"),
    ("bce_with_logits", (8, 1), torch.randint(0, 2, (8, 1)).float(), "binary"),
    ("bce_with_logits", (8, 5), torch.randint(0, 2, (8, 5)).float(), "multilabel"),
    ("mse", (8, 1), torch.randn(8, 1), "regression"),
    ("mse", (8, 1), torch.randint(0, 3, (8, 1)), "multiclass"),
    ("mse", (8, 1), torch.tensor([[0.], [1.]] * 4), "binary"),
])
def test_infer_task(loss, out_shape, targets, kind):
    assert infer_task(None, loss, torch.randn(*out_shape), targets).kind == kind


def test_given_task_wins():
    assert infer_task("regression", "cross_entropy", torch.randn(4, 3),
                      torch.randint(0, 3, (4,))).kind == "regression"


def test_shapes_that_broadcast_silently():
    assert shapes_broadcast_silently(torch.zeros(8, 1), torch.zeros(8), "mse")
    assert not shapes_broadcast_silently(torch.zeros(8, 1), torch.zeros(8, 1), "mse")
    assert not shapes_broadcast_silently(torch.zeros(8, 10), torch.zeros(8), "cross_entropy")
    assert not shapes_broadcast_silently(torch.zeros(8, 3), torch.zeros(5), "mse")


def _raise(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the point is to classify it
        return classify_error(exc)
    raise AssertionError("no error")


def test_classify_real_pytorch_errors():
    assert _raise(lambda: F.cross_entropy(torch.randn(4, 3), torch.tensor([0, 1, 5, 2]))) \
        == "target_out_of_bounds"
    assert _raise(lambda: nn.Linear(4, 3)(torch.randn(2, 5))) == "shape_mismatch"
    assert _raise(lambda: F.binary_cross_entropy(torch.randn(4) * 5, torch.rand(4))) \
        == "bce_input_range"
    bn = nn.BatchNorm1d(3)
    assert _raise(lambda: bn(torch.randn(1, 3))) == "batchnorm_single_sample"
    assert _raise(lambda: nn.Linear(4, 3)(torch.randn(2, 4, dtype=torch.float64))) \
        == "dtype_mismatch"
    assert classify_error(RuntimeError("CUDA out of memory. Tried to allocate")) == "out_of_memory"
    assert classify_error(ValueError("something else")) == "other"


def test_identical_rows_and_init_scale():
    torch.manual_seed(0)
    layer = nn.Linear(16, 8)
    assert not identical_rows(layer)
    nn.init.constant_(layer.weight, 0.3)
    nn.init.zeros_(layer.bias)
    assert identical_rows(layer)
    default = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    ratio, _ = init_scale_ratio(default)
    assert ratio == pytest.approx(3 ** 0.5, rel=0.1)  # PyTorch's default: 1/sqrt(3 fan_in)
    for m in default:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 1)
    assert init_scale_ratio(default)[0] > 5


def test_dead_unit_activity_per_neuron():
    out = torch.relu(torch.randn(32, 4, 5, 5))
    out[:, 1] = 0
    active = unit_activity(out, "channel")
    assert active.numel() == 4 * 5 * 5
    assert 1 - active.float().mean().item() == pytest.approx(0.25, abs=0.02)
    flat = torch.relu(torch.randn(32, 10))
    flat[:, :3] = 0
    assert 1 - unit_activity(flat, "last").float().mean().item() == pytest.approx(0.3)


def _task():
    return infer_task(None, "cross_entropy", torch.randn(4, 10), torch.arange(10))


def _scan(batches):
    return DataScan(targets=[torch.as_tensor(b) for b in batches], batches=len(batches),
                    complete=True)


def test_order_correlation_sorted_vs_shuffled():
    labels = np.repeat(np.arange(10), 64)
    sorted_batches = [labels[i:i + 32] for i in range(0, len(labels), 32)]
    shuffled = np.random.default_rng(0).permutation(labels)
    shuffled_batches = [shuffled[i:i + 32] for i in range(0, len(labels), 32)]
    assert order_correlation(_scan(sorted_batches), _task()) > 0.9
    assert order_correlation(_scan(shuffled_batches), _task()) < 0.2


def test_label_shift_corrects_for_small_samples():
    rng = np.random.default_rng(1)
    train = torch.tensor(rng.integers(0, 10, 2000))
    val = torch.tensor(rng.integers(0, 10, 60))       # same distribution, tiny sample
    assert label_shift(train, val, _task()) < 0.1
    shifted = torch.tensor(rng.integers(0, 3, 200))   # only classes 0..2
    assert label_shift(train, shifted, _task()) > 0.5


def test_input_shift():
    from advisor.probing.collectors.data import FeatureStats

    rng = np.random.default_rng(2)
    a, b, c = FeatureStats(), FeatureStats(), FeatureStats()
    a.add(rng.normal(0, 1, (2000, 5)))
    b.add(rng.normal(0, 1, (100, 5)))
    c.add(rng.normal(5, 1, (100, 5)))
    assert input_shift(a, b, 2000, 100) < 0.1
    assert input_shift(a, c, 2000, 100) > 3


def test_robust_outlier_fraction():
    rng = np.random.default_rng(3)
    y = rng.normal(0, 1, 1000)
    assert robust_outlier_fraction(y) == 0.0
    y[:30] *= 100
    assert robust_outlier_fraction(y) == pytest.approx(0.03, abs=0.005)
