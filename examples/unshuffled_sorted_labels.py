"""Broken: digits sorted by label and read in order (shuffle=False): every batch holds one or two
classes, so each step pulls the model towards the current class.
Expected: unshuffled_data."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(12)
    train, val = digits()
    x, y = train.tensors
    order = torch.argsort(y, stable=True)
    train = TensorDataset(x[order], y[order])
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=False),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
