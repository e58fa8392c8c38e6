"""Fault: a hand-written relative-error loss divides by the target, and some targets are exactly 0,
so the loss is inf from the first batch that holds one.
"""

import torch
from sklearn.datasets import make_regression
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def relative_error(pred, target):
    return ((pred - target).abs() / target.abs()).mean()


def setup():
    torch.manual_seed(13)
    x, y = make_regression(n_samples=1000, n_features=8, noise=2.0, random_state=13)
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32)
    y = torch.round(y / y.std() * 3.0)  # integer-valued targets, several of them are 0
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1), nn.Flatten(0))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(13))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": relative_error,
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "regression",
    }
