"""Broken: the labels were joined to the wrong rows (permuted independently of the images), so
they carry no information about the inputs. Expected: suspicious_labels."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(22)
    train, val = digits()
    x, y = train.tensors
    y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(22))]
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
