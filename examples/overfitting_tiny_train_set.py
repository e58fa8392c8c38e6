"""Broken: 40 training digits for a 300k-parameter MLP, checked on 500 validation digits: the
model memorises the training set within a few dozen steps and the validation loss turns up.
Expected: overfitting, too_many_parameters."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader, Subset


def setup():
    torch.manual_seed(16)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    return {
        "model": model,
        "train_data": DataLoader(Subset(train, range(40)), batch_size=20, shuffle=True),
        "val_data": DataLoader(Subset(val, range(450)), batch_size=250),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=3e-3),
    }
