"""Healthy: standardized breast-cancer binary classification with one logit, BCEWithLogitsLoss and
Adam 1e-3.
"""

import torch
from sklearn.datasets import load_breast_cancer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(103)
    x, y = load_breast_cancer(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(103))
    tr, va = perm[:455], perm[455:]
    mu, sd = x[tr].mean(0), x[tr].std(0)
    x = (x - mu) / sd
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 1))
    train = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(103))
    val = DataLoader(TensorDataset(x[va], y[va]), batch_size=114)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
