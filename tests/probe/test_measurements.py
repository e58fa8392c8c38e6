"""Measurement helpers on real modules and tensors: final activation through functional calls,
loss kinds behind wrappers, task inference, error classification, initialisation checks, the
sampler type, and a one-sample dataset. The pure data judgements are tested in tests/facts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import advisor
from advisor.probing.collectors.loss import LossTrace, infer_task, loss_kind
from advisor.probing.collectors.model import identical_rows, init_scale_ratio
from advisor.probing.collectors.structure import shapes_broadcast_silently
from advisor.probing.data_scan import index_sampler, scan
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


# fixed targets: drawn from the global RNG at collection time, a draw of 8 labels in {0, 1, 2}
# sometimes holds only two values (then "binary" is the right answer), depending on what was
# collected before
@pytest.mark.parametrize("loss, out_shape, targets, kind", [
    ("cross_entropy", (8, 10), torch.tensor([3, 1, 4, 1, 5, 9, 2, 6]), "multiclass"),
    ("cross_entropy", (8, 4), torch.tensor([[1., 1, 0, 0]] * 8), "multilabel"),
    ("cross_entropy", (8, 4), torch.eye(4)[torch.tensor([0, 2, 1, 3, 2, 0, 1, 3])], "multiclass"),
    ("bce_with_logits", (8, 1), torch.tensor([[0.], [1.], [1.], [0.]] * 2), "binary"),
    ("bce_with_logits", (8, 5), torch.tensor([[1., 0, 1, 1, 0], [0, 1, 0, 1, 1]] * 4),
     "multilabel"),
    ("mse", (8, 1), torch.randn(8, 1, generator=torch.Generator().manual_seed(0)), "regression"),
    ("mse", (8, 1), torch.tensor([[0], [1], [2], [1], [0], [2], [1], [0]]), "multiclass"),
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
    # BCELoss with targets outside [0, 1]: PyTorch's own message, a label problem
    assert _raise(lambda: F.binary_cross_entropy(torch.full((4,), 0.5), torch.full((4,), 2.0))) \
        == "target_out_of_bounds"
    bn = nn.BatchNorm1d(3)
    assert _raise(lambda: bn(torch.randn(1, 3))) == "batchnorm_single_sample"
    assert _raise(lambda: nn.Linear(4, 3)(torch.randn(2, 4, dtype=torch.float64))) \
        == "dtype_mismatch"
    # a class-weighted loss whose output layer has one class too few
    assert _raise(lambda: nn.CrossEntropyLoss(weight=torch.ones(3))(torch.randn(4, 2),
                                                                    torch.tensor([0, 1, 1, 0]))) \
        == "shape_mismatch"
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


def _sampler_facts(loader):
    """data.shuffled as the probe records it: the scan measures, the judgement decides."""
    from advisor.facts.sampling import judge_shuffling

    record = scan(loader, seconds=30).record()
    return judge_shuffling(record.sampler, record.sampler_shuffle).facts.get("data.shuffled")


class BucketSampler(torch.utils.data.Sampler):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_shuffled_is_measured_from_the_sampler_type():
    """Issue 8 #15: DataLoader(shuffle=True) is shuffled, shuffle=False is not, anything whose
    order PyTorch does not document (custom samplers, lists of batches) stays unknown."""
    from torch.utils.data import DataLoader, DistributedSampler, SubsetRandomSampler

    data = torch.utils.data.TensorDataset(torch.randn(40, 3), torch.randint(0, 2, (40,)))
    assert _sampler_facts(DataLoader(data, batch_size=8, shuffle=True)) is True
    assert _sampler_facts(DataLoader(data, batch_size=8)) is False
    assert _sampler_facts(DataLoader(data, batch_size=8,
                                     sampler=SubsetRandomSampler(range(20)))) is True
    for flag in (True, False):
        dist = DistributedSampler(data, num_replicas=1, rank=0, shuffle=flag)
        assert _sampler_facts(DataLoader(data, batch_size=8, sampler=dist)) is flag
    assert _sampler_facts(DataLoader(data, batch_size=8, sampler=BucketSampler(40))) is None
    # batch_sampler=: the loader's own `sampler` attribute (sequential) is not what orders it
    custom = torch.utils.data.BatchSampler(BucketSampler(40), 8, False)
    assert _sampler_facts(DataLoader(data, batch_sampler=custom)) is None
    random_batches = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(data), 8, False)
    assert _sampler_facts(DataLoader(data, batch_sampler=random_batches)) is True
    assert index_sampler(DataLoader(data, batch_sampler=random_batches)) == (
        "torch.utils.data.sampler.RandomSampler", None)
    assert _sampler_facts([(torch.randn(8, 3), torch.randint(0, 2, (8,)))] * 3) is None


def test_probe_reports_the_measured_sampler():
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    data = TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    for shuffle in (True, False):
        report = advisor.probe(model, DataLoader(data, batch_size=16, shuffle=shuffle),
                               nn.CrossEntropyLoss(), steps=5, budget=60)
        assert report.facts["data.shuffled"] is shuffle
        assert report.details["sampler"].endswith(
            "RandomSampler" if shuffle else "SequentialSampler")


def test_one_training_sample_is_said_not_judged():
    """Issue 8 #12: one sample has zero variance in every feature; the probe must not call
    the inputs constant but say that one sample is too few for the data checks."""
    from torch.utils.data import TensorDataset

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    data = TensorDataset(torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([1]))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    report = advisor.probe(model, loader, nn.CrossEntropyLoss(), steps=5, budget=60)
    assert report.facts["data.num_samples"] == 1
    assert not [k for k in report.facts if k.startswith("data.input_")]
    assert "only 1 training sample: the data checks need at least 2" in report.notes
    assert "constant_inputs" not in report.ids()
    assert "data.shuffled" not in report.facts  # one sample: order cannot matter
    assert "unshuffled_data" not in report.ids()
    assert "overfit.passed" not in report.facts  # "overfits 16 samples: yes" with one sample
    assert any(n.startswith("Only 1 training sample: the small-batch overfit test") for n in
               report.notes)


def test_scan_records_bfloat16_targets():
    """numpy has no bfloat16: the scan's record holds such targets as float32 (it crashed)."""
    data = [(torch.randn(16, 3).bfloat16(), torch.randn(16, 1).bfloat16()) for _ in range(4)]
    record = scan(data).record()
    assert record.samples == 64 and len(record.knn_y) == 64
    assert record.all_targets().dtype == np.float32
