"""A crash in the user's first forward or loss keeps the data facts that did not depend on
it (issue 9: the crash erased them)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor


def test_nan_reaching_bce_keeps_the_input_and_label_facts():
    torch.manual_seed(0)
    x = torch.randn(120, 4) * 100  # unnormalised inputs, measured before the crash
    y = (x[:, 0] > 0).float()
    model = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid(), nn.Flatten(0))
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    loader = DataLoader(TensorDataset(x, y), batch_size=30)
    report = advisor.probe(model, loader, nn.BCELoss(), steps=5, budget=60)
    assert report.facts["runtime.error"] not in (None, "none")
    assert report.facts["data.input_max_std"] > 50
    assert report.facts["data.labels_constant"] is False
    assert report.facts["data.label_out_of_range"] is False
