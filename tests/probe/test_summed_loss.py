"""A summed loss measured through whatever computes it (a `step`, tuple inputs, two terms), and
the initial loss judged per element (issue 9, generality fixes)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor

from .helpers import FAST, blobs, small_setup


class TwoInputs(nn.Module):
    """forward(features, scale): the batch's inputs are a tuple."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4),
                                 nn.LogSoftmax(dim=1))

    def forward(self, features: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return self.net(features * scale[:, None])


def tuple_input_setup(reduction: str) -> dict:
    torch.manual_seed(0)
    x, y = blobs()
    scale = torch.ones(len(x))
    batches = [((x[i:i + 64], scale[i:i + 64]), y[i:i + 64]) for i in range(0, len(x), 64)]
    loss = nn.NLLLoss(reduction=reduction)
    model = TwoInputs()

    def train_step(model, batch, optimizer):
        (features, s), labels = batch
        optimizer.zero_grad()
        value = loss(model(features, s), labels)
        value.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 3)
        optimizer.step()
        return value

    return {"model": model, "train_data": batches, "loss_fn": loss, "train_step": train_step,
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.01 if reduction == "sum"
                                         else 0.5),
            "task": "multiclass"}


def test_a_summed_loss_with_tuple_inputs_is_measured_and_judged_per_element():
    """The GRU name classifier's NLLLoss(reduction='sum') was not measured (tuple inputs, a
    train_step) and its initial loss read as 64x chance: `initial_loss_abnormal`."""
    report = advisor.probe(**tuple_input_setup("sum"), **FAST)
    assert report.fact("training.loss_reduction") == "sum"
    assert 0.7 < report.fact("loss.initial_vs_chance") < 1.5
    assert "initial_loss_abnormal" not in [d["id"] for d in report.diagnoses]


def test_a_two_term_summed_loss_through_a_step_is_measured():
    """A VAE-style loss: a `step` hands the outputs (a tuple) and targets to a loss that sums a
    reconstruction term and a penalty over the batch."""
    torch.manual_seed(0)
    x, _ = blobs()
    x = torch.sigmoid(x)
    model = nn.Sequential(nn.Linear(8, 3), nn.Tanh(), nn.Linear(3, 8), nn.Sigmoid())

    def loss_fn(outputs, targets):
        recon, code = outputs
        return (nn.functional.binary_cross_entropy(recon, targets, reduction="sum")
                + 0.01 * code.pow(2).sum())

    def step(model, batch):
        (inputs,) = batch
        return (model(inputs), model[0](inputs)), inputs

    report = advisor.probe(model=model, loss_fn=loss_fn, step=step,
                           train_data=DataLoader(TensorDataset(x), batch_size=32),
                           optimizer=torch.optim.Adam(model.parameters(), lr=1e-3), **FAST)
    assert report.fact("training.loss_reduction") == "sum"


def test_a_mean_loss_with_tuple_inputs_is_a_mean():
    report = advisor.probe(**tuple_input_setup("mean"), **FAST)
    assert report.fact("training.loss_reduction") == "mean"


def test_a_plain_summed_loss_fault_is_still_named():
    """CrossEntropyLoss(reduction='sum') under a rate tuned for the mean: every step is 64x
    too large."""
    setup = small_setup(loss_fn=nn.CrossEntropyLoss(reduction="sum"))
    setup["optimizer"] = torch.optim.SGD(setup["model"].parameters(), lr=0.5)
    report = advisor.probe(**setup, **FAST)
    assert report.fact("training.loss_reduction") == "sum"
    assert "loss_reduction_sum" in [d["id"] for d in report.diagnoses]
