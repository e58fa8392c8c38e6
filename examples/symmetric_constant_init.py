"""Broken: every weight initialised to the same constant: all hidden units compute the same
function, receive the same gradient and stay identical forever.
Expected: symmetric_init."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


def setup():
    torch.manual_seed(13)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.05)
            nn.init.zeros_(m.bias)
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
    }
