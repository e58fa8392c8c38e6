"""Broken: a linear model (no hidden layer) on concentric circles, which no line separates: the
loss stalls near chance on plenty of data, and training and validation agree.
Expected: underfitting."""

import torch
from sklearn.datasets import make_circles
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(17)
    x, y = make_circles(n_samples=3000, noise=0.05, factor=0.5, random_state=17)
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    model = nn.Linear(2, 1)
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(x[:2400], y[:2400]), batch_size=64, shuffle=True),
        "val_data": DataLoader(TensorDataset(x[2400:], y[2400:]), batch_size=600),
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-2),
    }
