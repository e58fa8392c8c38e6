"""Fault: a purely linear model (no hidden layer) on concentric circles, a problem no linear
boundary can separate; the loss plateaus near ln 2.
"""

import torch
from sklearn.datasets import make_circles
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(28)
    x, y = make_circles(n_samples=2000, noise=0.05, factor=0.5, random_state=28)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    model = nn.Sequential(nn.Linear(2, 1))
    n = 1600
    train = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(28))
    val = DataLoader(TensorDataset(x[n:], y[n:]), batch_size=200)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-2),
    }
