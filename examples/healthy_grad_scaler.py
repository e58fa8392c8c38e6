"""Healthy: a digits MLP trained with mixed precision: the user's step runs the forward under
autocast and scales the loss with a GradScaler, unscales before clipping, and lets the scaler
step the optimizer. The scaler is handed over as a factory, so every probe run gets a fresh one
(the probe never changes the state of the user's own scaler)."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader

LOSS = nn.CrossEntropyLoss()
DEVICE_TYPE = "cuda" if torch.cuda.is_available() else "cpu"
DTYPE = torch.float16 if DEVICE_TYPE == "cuda" else torch.bfloat16


def train_step(model, batch, optimizer, scaler=None):
    x, y = batch
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=DTYPE):
        loss = LOSS(model(x), y)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    scaler.step(optimizer)
    scaler.update()
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
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "scaler": lambda: torch.amp.GradScaler(DEVICE_TYPE),
        "train_step": train_step,
    }
