"""Broken: hidden biases initialised at -3 on standardized inputs: almost every ReLU unit outputs
0 for every sample, so no gradient flows and the loss is stuck.
Expected: dead_relu."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


def setup():
    torch.manual_seed(6)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    with torch.no_grad():
        model[0].bias.fill_(-3.0)
        model[2].bias.fill_(-3.0)
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
