"""Fault: a wide MLP trained on only 60 digit images with no regularization memorizes them; the
validation loss (500 held-out images) stops improving and rises.
"""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(27)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32) / 16.0
    y = torch.tensor(y, dtype=torch.long)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(27))
    tr, va = perm[:60], perm[60:560]
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    train = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=20, shuffle=True,
                       generator=torch.Generator().manual_seed(27))
    val = DataLoader(TensorDataset(x[va], y[va]), batch_size=100)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
