"""Healthy: diabetes regression with standardized inputs and target, an MLP, Adam 1e-3 and MSELoss
on matching (N, 1) shapes.
"""

import torch
from sklearn.datasets import load_diabetes
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(102)
    x, y = load_diabetes(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    y = (y - y.mean()) / y.std()
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(102))
    tr, va = perm[:350], perm[350:]
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
    train = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(102))
    val = DataLoader(TensorDataset(x[va], y[va]), batch_size=100)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "regression",
    }
