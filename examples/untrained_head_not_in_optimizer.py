"""Broken: the optimizer is built on the encoder's parameters only; the classification head
keeps its random initial weights. Expected: untrained_parameters."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.encoder(x))


def setup():
    torch.manual_seed(21)
    train, val = digits()
    model = Net()
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.encoder.parameters(), lr=1e-3),
    }
