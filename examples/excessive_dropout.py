"""Broken: Dropout(0.9) after every hidden layer: 90 % of the units are dropped at each step and
the network underfits. Expected: excessive_dropout."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


def setup():
    torch.manual_seed(15)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.9),
                          nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.9), nn.Linear(64, 10))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
