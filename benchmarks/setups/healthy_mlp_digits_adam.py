"""Healthy: a standardized-digits MLP with Adam 1e-3, shuffled batches of 64 and a held-out
validation set.
"""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(100)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(100))
    tr, va = perm[:1400], perm[1400:]
    mu, sd = x[tr].mean(0), x[tr].std(0) + 1.0
    x = (x - mu) / sd
    y = torch.tensor(y, dtype=torch.long)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    train = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=64, shuffle=True,
                       generator=torch.Generator().manual_seed(100))
    val = DataLoader(TensorDataset(x[va], y[va]), batch_size=256)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
