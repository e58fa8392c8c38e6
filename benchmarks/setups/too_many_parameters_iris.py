"""Fault: a 1.06-million-parameter MLP (two 1024-wide hidden layers) for the 150-sample iris data
set (120 for training), i.e. ~9,000 parameters per training sample.
"""

import torch
from sklearn.datasets import load_iris
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(37)
    x, y = load_iris(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.long)
    perm = torch.randperm(150, generator=torch.Generator().manual_seed(37))
    tr, va = perm[:120], perm[120:]
    model = nn.Sequential(nn.Linear(4, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 3))
    train = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=16, shuffle=True,
                       generator=torch.Generator().manual_seed(37))
    val = DataLoader(TensorDataset(x[va], y[va]), batch_size=30)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
