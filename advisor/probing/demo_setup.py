"""The setup behind `advisor demo`: a classifier with a real, common fault.

Ten Gaussian clusters in 20 dimensions stand in for a small tabular data set (generated here, so
the demo needs no download and no scikit-learn). The model ends in `nn.Softmax` while the loss
is `nn.CrossEntropyLoss`, which applies log-softmax itself: the outputs are squashed twice, the
initial loss is off and gradients shrink as the model grows confident. The probe should report
`output_activation_mismatch`.

Run it yourself: `advisor probe advisor.probing.demo_setup:setup`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def clusters(n: int = 2000, classes: int = 10, dim: int = 20, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=g) * 1.5
    y = torch.randint(0, classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, dim, generator=g)
    return (x - x.mean(0)) / x.std(0), y


def setup() -> dict:
    torch.manual_seed(0)
    x, y = clusters()
    model = nn.Sequential(
        nn.Linear(20, 64), nn.ReLU(),
        nn.Linear(64, 10),
        nn.Softmax(dim=1),  # the fault: CrossEntropyLoss expects raw logits
    )
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(x[:1600], y[:1600]), batch_size=32, shuffle=True,
                                 generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(TensorDataset(x[1600:], y[1600:]), batch_size=200),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
