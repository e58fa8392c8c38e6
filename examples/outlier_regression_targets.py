"""Broken: 3 % of the regression targets are off by a factor of 100 (a unit error in the data),
and the MSE loss is dominated by them. Expected: outlier_targets."""

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(18)
    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    bad = np.random.default_rng(18).choice(len(y), size=len(y) * 3 // 100, replace=False)
    y[bad] *= 100.0
    data = TensorDataset(torch.tensor(x, dtype=torch.float32),
                         torch.tensor(y, dtype=torch.float32).unsqueeze(1))
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1))
    return {
        "model": model,
        "train_data": DataLoader(data, batch_size=32, shuffle=True),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
