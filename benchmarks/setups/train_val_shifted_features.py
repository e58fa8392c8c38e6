"""Fault: the validation inputs were normalized with different statistics than training (shifted by
+2.5 std and scaled), so val inputs come from another distribution.
"""

import torch
from sklearn.datasets import load_breast_cancer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(49)
    x, y = load_breast_cancer(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(49))
    tr, va = perm[:450], perm[450:]
    mu, sd = x[tr].mean(0), x[tr].std(0)
    x_tr = (x[tr] - mu) / sd
    x_va = (x[va] - mu) / sd * 1.5 + 2.5  # bug: val pipeline applies a different transform
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 1))
    train = DataLoader(TensorDataset(x_tr, y[tr]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(49))
    val = DataLoader(TensorDataset(x_va, y[va]), batch_size=119)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
