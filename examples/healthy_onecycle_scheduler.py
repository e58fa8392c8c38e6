"""Healthy: a digits MLP trained with AdamW under a OneCycleLR schedule, with the probe's own
step. The scheduler is a factory of the optimizer: the probe builds one per run on its copy and
steps it once per training step, as a per-batch schedule is meant to be stepped."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


def setup():
    torch.manual_seed(0)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.AdamW(model.parameters(), lr=1e-3),
        "scheduler": lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2,
                                                                     total_steps=1000),
    }
