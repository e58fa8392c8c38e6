"""Frozen parameters: a pretrained part kept fixed is a choice, a layer frozen at its random
initialisation is the fault (issue 9, generality fixes)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor
from advisor.facts.frozen import trained_values

from .helpers import FAST, blobs


def _frozen_setup(pretrain: bool, optimizer_holds_frozen: bool = False) -> dict:
    """A backbone (Linear, BatchNorm) with every parameter frozen and a new trainable head;
    the optimizer holds the head only, unless `optimizer_holds_frozen`."""
    torch.manual_seed(0)
    x, y = blobs()
    backbone = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU())
    if pretrain:  # "task A": a few Adam steps with a head of its own
        head_a = nn.Linear(32, 4)
        opt = torch.optim.Adam([*backbone.parameters(), *head_a.parameters()], lr=1e-2)
        for _ in range(40):
            opt.zero_grad()
            nn.functional.cross_entropy(head_a(backbone(x)), (y + 1) % 4).backward()
            opt.step()
    for p in backbone.parameters():
        p.requires_grad = False
    model = nn.Sequential(backbone, nn.Linear(32, 4))
    params = model.parameters() if optimizer_holds_frozen else model[1].parameters()
    return {"model": model, "loss_fn": nn.CrossEntropyLoss(),
            "train_data": DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                                     generator=torch.Generator().manual_seed(0)),
            "optimizer": torch.optim.SGD(params, lr=0.05, momentum=0.9)}


def test_trained_values_against_a_fresh_draw():
    g = torch.Generator().manual_seed(0)
    fresh = (torch.rand(500, generator=g) * 2 - 1).numpy()
    again = (torch.rand(500, generator=g) * 2 - 1).numpy()
    assert trained_values(again, fresh) is False
    assert trained_values(again * 1.6 + 0.1, fresh) is True
    assert trained_values(torch.ones(16).numpy(), torch.ones(16).numpy()) is False
    assert trained_values(torch.ones(3).numpy(), torch.ones(3).numpy()) is None
    # a few values pushed past the bound of a uniform init: trained
    moved = again.copy()
    moved[:100] *= 3
    assert trained_values(moved, fresh) is True


def test_a_pretrained_backbone_left_out_of_the_optimizer_is_a_choice():
    """It was `untrained_parameters` (error) on the fine-tuning tutorial's frozen backbone."""
    report = advisor.probe(**_frozen_setup(pretrain=True), **FAST)
    assert report.fact("wiring.untrained_params") == 0
    assert "untrained_parameters" not in [d["id"] for d in report.diagnoses]
    assert len(report.details["frozen_pretrained_params"]) == 4


def test_a_layer_frozen_at_its_random_initialisation_is_still_untrained():
    report = advisor.probe(**_frozen_setup(pretrain=False), **FAST)
    assert report.fact("wiring.untrained_params") == 4
    assert "untrained_parameters" in [d["id"] for d in report.diagnoses]


def test_frozen_parameters_the_optimizer_holds_are_still_untrained():
    report = advisor.probe(**_frozen_setup(pretrain=True, optimizer_holds_frozen=True), **FAST)
    assert report.fact("wiring.untrained_params") == 4
    assert "untrained_parameters" in [d["id"] for d in report.diagnoses]
