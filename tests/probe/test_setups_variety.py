"""The probe on setups of many shapes: token inputs, tuple and dict outputs, segmentation maps,
multi-output regression, one-shot generators, dict inputs, errors from user code. None of them
may crash the probe; each yields the facts that make sense for it."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor

QUICK = {"steps": 24, "budget": 20.0}


class TokenClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.rnn = nn.GRU(16, 16, batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, tokens):
        out, _ = self.rnn(self.emb(tokens))
        return self.fc(out[:, -1])


def test_token_inputs_and_a_recurrent_model():
    x = torch.randint(0, 50, (256, 12))
    y = (x[:, 0] % 3)
    report = advisor.probe(TokenClassifier(), DataLoader(TensorDataset(x, y), 32, shuffle=True),
                           nn.CrossEntropyLoss(), **QUICK)
    assert report.fact("runtime.error") == "none"
    assert report.fact("model.architecture") == "rnn"
    assert "data.input_max_std" not in report.facts  # token ids are not features


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        logits = self.fc(x)
        return logits, logits.detach().abs().mean()


def test_tuple_outputs_with_a_custom_loss():
    x, y = torch.randn(128, 6), torch.randint(0, 4, (128,))
    report = advisor.probe(TupleOut(), DataLoader(TensorDataset(x, y), 16, shuffle=True),
                           lambda out, t: nn.functional.cross_entropy(out[0], t), **QUICK)
    assert report.fact("runtime.error") == "none"
    assert report.fact("loss_fn.kind") == "cross_entropy"
    assert report.fact("model.output_size") == 4


def test_segmentation_maps():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 5, 1))
    x = torch.randn(64, 3, 8, 8)
    y = torch.randint(0, 5, (64, 8, 8))
    report = advisor.probe(model, DataLoader(TensorDataset(x, y), 8, shuffle=True),
                           nn.CrossEntropyLoss(), **QUICK)
    assert report.fact("runtime.error") == "none"
    assert report.fact("task.kind") == "multiclass"
    assert report.fact("model.output_size") == 5
    assert report.fact("data.label_out_of_range") is False
    assert report.fact("model.architecture") == "cnn"


def test_multi_output_regression_from_a_generator():
    def batches():
        g = torch.Generator().manual_seed(0)
        for _ in range(20):
            x = torch.randn(16, 5, generator=g)
            yield x, torch.stack([x.sum(1), x[:, 0] - x[:, 1], x[:, 2] * 2], 1)

    report = advisor.probe(nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 3)),
                           batches(), nn.MSELoss(), optimizer=lambda p: torch.optim.SGD(p, 0.05),
                           **QUICK)
    assert report.fact("runtime.error") == "none"
    assert report.fact("task.kind") == "regression"
    assert report.fact("optim.kind") == "sgd"
    assert report.fact("data.num_samples") == 320
    assert report.fact("wiring.target_shape_mismatch") is False


class DictIn(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 8), nn.Linear(2, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, num, cat):
        return self.out(torch.relu(self.a(num) + self.b(cat)))


def test_dict_inputs_and_binary_targets():
    g = torch.Generator().manual_seed(1)
    num, cat = torch.randn(200, 3, generator=g), torch.randn(200, 2, generator=g)
    y = ((num[:, 0] + cat[:, 1]) > 0).float().unsqueeze(1)
    data = [({"num": num[i:i + 20], "cat": cat[i:i + 20]}, y[i:i + 20]) for i in range(0, 200, 20)]
    report = advisor.probe(DictIn(), data, nn.BCEWithLogitsLoss(), **QUICK)
    assert report.fact("runtime.error") == "none"
    assert report.fact("task.kind") == "binary"
    assert report.fact("model.final_activation") == "none"


def test_bce_on_unbounded_outputs_is_a_runtime_error_observation():
    x, y = torch.randn(64, 4) * 5, torch.randint(0, 2, (64, 1)).float()
    report = advisor.probe(nn.Linear(4, 1), DataLoader(TensorDataset(x, y), 16), nn.BCELoss(),
                           **QUICK)
    assert report.fact("runtime.error") == "bce_input_range"
    assert "output_activation_mismatch" in report.ids()


def test_batchnorm_with_single_sample_batches():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    report = advisor.probe(model, DataLoader(TensorDataset(x, y), 1), nn.CrossEntropyLoss(),
                           **QUICK)
    assert report.fact("runtime.error") == "batchnorm_single_sample"
    assert "batchnorm_single_sample" in report.ids()


class BrokenDataset(torch.utils.data.Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        if i == 50:
            raise IndexError("index 50 is out of bounds for dimension 0 with size 50")
        return torch.randn(4), i % 2


def test_a_dataset_that_raises_is_an_observation():
    report = advisor.probe(nn.Linear(4, 2), DataLoader(BrokenDataset(), 8),
                           nn.CrossEntropyLoss(), **QUICK)
    assert report.fact("runtime.error") == "other"
    assert "out of bounds" in report.fact("runtime.error_message")
    assert report.details["runtime_error_phase"] == "reading the training data"
    assert "runtime_error_other" in report.ids()


def test_nan_is_localised_to_the_module():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(torch.log(self.fc(x)))  # log of negative numbers

    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    report = advisor.probe(Bad(), DataLoader(TensorDataset(x, y), 16), nn.CrossEntropyLoss(),
                           **QUICK)
    assert report.fact("loss.nonfinite") is True
    assert report.fact("loss.trend") == "nonfinite"
    assert report.fact("act.nonfinite_module") == "Bad"  # the root's own functional log
    assert report.details.get("nonfinite_op") == "log"
    assert "nonfinite_values" in report.ids()


def test_sparse_input_tensors_are_measured_not_a_crash():
    """A sparse input batch (bag-of-words counts, a graph's adjacency) crashed the probe's own
    data scan, and the crash was reported as the user's."""
    torch.manual_seed(0)

    class SparseLinear(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(20, 3)

        def forward(self, x):
            return self.fc(torch.sparse.mm(x, torch.eye(20)))

    x = (torch.rand(128, 20) < 0.2).float() * torch.randn(128, 20)
    y = (x.sum(1) > 0).long() + (x[:, 0] > 0).long()
    batches = [(x[i:i + 16].to_sparse(), y[i:i + 16]) for i in range(0, 128, 16)]
    report = advisor.probe(SparseLinear(), batches, nn.CrossEntropyLoss(), **QUICK)
    assert report.fact("runtime.error") == "none", report.fact("runtime.error_message")
    assert report.fact("data.input_max_std") is not None
