"""Broken: model.eval() was called (after a validation pass) and never undone before training:
Dropout is off and BatchNorm normalises with its running statistics.
Expected: model_in_eval_mode."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


def setup():
    torch.manual_seed(24)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(128, 10))
    model.eval()
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
