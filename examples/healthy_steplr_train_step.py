"""Healthy: a digits MLP with the user's own training step: gradient clipping, SGD with
momentum and a StepLR schedule. The scheduler is handed over as a factory of the optimizer, so
each of the probe's runs builds its own on its own copy (never driving the user's scheduler);
the train_step takes `scheduler=` and steps it itself."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader

LOSS = nn.CrossEntropyLoss()


def train_step(model, batch, optimizer, scheduler=None):
    x, y = batch
    optimizer.zero_grad()
    loss = LOSS(model(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss


def setup():
    torch.manual_seed(0)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": LOSS,
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        "scheduler": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=100,
                                                                 gamma=0.5),
        "train_step": train_step,
    }
