"""Fault: 2% of the regression targets are corrupted by a factor of 1000 (e.g. a unit error), so a
few huge residuals dominate the MSE loss.
"""

import torch
from sklearn.datasets import load_diabetes
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(38)
    x, y = load_diabetes(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32)
    y = (y - y.mean()) / y.std()
    bad = torch.randperm(len(y), generator=torch.Generator().manual_seed(38))[: len(y) // 50]
    y[bad] = y[bad] * 1000.0
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1))
    loader = DataLoader(TensorDataset(x, y.unsqueeze(1)), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(38))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "regression",
    }
