"""Broken: a digits classifier with 5 outputs for 10 classes; labels 5..9 are out of range and
CrossEntropyLoss raises "Target 7 is out of bounds".
Expected: output_size_mismatch."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


def setup():
    torch.manual_seed(10)
    train, _ = digits()
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 5))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
