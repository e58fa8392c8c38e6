"""Constant (zero) weights under random biases are a symmetry problem measured at
initialisation (issue 9: the check only looked for identical rows after training)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor
from advisor.facts.initialisation import outputs_ignore_inputs
from tests.probe.helpers import blobs


def _probe(model: nn.Module):
    x, y = blobs()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    return advisor.probe(model, loader, nn.CrossEntropyLoss(),
                         torch.optim.SGD(model.parameters(), lr=0.05), steps=20, budget=120)


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 4))


def test_zero_weights_with_default_biases_are_symmetric():
    model = _mlp()
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)  # the biases keep PyTorch's random default
    report = _probe(model)
    assert report.facts["model.symmetric_init"] is True
    assert "symmetric_init" in report.ids()


def test_a_constant_fill_with_random_biases_is_symmetric():
    """Equal non-zero weights: the outputs still depend on the inputs (the biases differ), yet
    every unit of a layer starts the same and gets nearly the same update."""
    model = _mlp()
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.05)
    report = _probe(model)
    assert report.facts["model.symmetric_init"] is True
    assert "symmetric_init" in report.ids()


def test_a_zero_layer_on_a_residual_branch_is_not_symmetric():
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp, self.branch, self.out = nn.Linear(8, 32), nn.Linear(32, 32), \
                nn.Linear(32, 4)
            nn.init.zeros_(self.branch.weight)  # zero-initialised last layer of a branch

        def forward(self, x):
            h = torch.relu(self.inp(x))
            return self.out(h + self.branch(h))

    torch.manual_seed(0)
    report = _probe(Residual())
    assert report.facts["model.symmetric_init"] is False


def test_outputs_that_ignore_the_inputs():
    x = torch.randn(6, 3).numpy()
    same = torch.ones(6, 4).numpy() * 0.3
    assert outputs_ignore_inputs(same, x) is True
    assert outputs_ignore_inputs(torch.randn(6, 4).numpy(), x) is False
    assert outputs_ignore_inputs(same, torch.ones(6, 3).numpy()) is None  # equal inputs


def test_symmetry_is_reported_when_the_first_batch_crashes():
    """Identical units saturate, NaN reaches BCELoss and the first loss raises: the crash
    must not erase the symmetry measured on the weights alone (issue 9)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.05)
    x = torch.randn(64, 8)
    x[0, 0] = float("nan")  # the loss gets a NaN probability and raises
    y = (x[:, 1] > 0).float().unsqueeze(1)
    loader = DataLoader(TensorDataset(x, y), batch_size=64)
    report = advisor.probe(model, loader, nn.BCELoss(),
                           torch.optim.SGD(model.parameters(), lr=0.05), steps=5, budget=120)
    assert report.facts["runtime.error"] == "bce_input_range"
    assert report.facts["model.symmetric_init"] is True
