"""Broken: the model ends in Softmax and the loss is CrossEntropyLoss, which applies log-softmax
itself: the probabilities are squashed twice and gradients shrink.
Expected: output_activation_mismatch."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


def setup():
    torch.manual_seed(7)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10), nn.Softmax(dim=1))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
