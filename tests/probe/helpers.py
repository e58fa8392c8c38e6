"""Small real setups for the probe tests (real torch, no mocks), kept tiny so a probe run takes a
second or two on two CPU cores."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

FAST = {"steps": 30, "budget": 120.0}  # the steps bound the run; the budget is only a cap


def blobs(n: int = 384, classes: int = 4, dim: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=g) * 3
    y = torch.randint(0, classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, dim, generator=g)
    return x, y


def small_setup(seed: int = 0, **overrides):
    """A healthy little classifier with BatchNorm (buffers), dropout and an Adam optimizer that
    already has state, on a shuffled DataLoader with its own generator."""
    torch.manual_seed(seed)
    x, y = blobs(seed=seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(x[:16]), y[:16]).backward()  # give the optimizer some state
    opt.step()
    opt.zero_grad()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    setup = {"model": model, "train_data": loader, "loss_fn": loss_fn, "optimizer": opt,
             "val_data": DataLoader(TensorDataset(x[:64], y[:64]), batch_size=64)}
    setup.update(overrides)
    return setup
