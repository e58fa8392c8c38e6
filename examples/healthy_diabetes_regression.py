"""Healthy: regression on sklearn's diabetes data with standardized inputs and targets, MSE,
Adam at 1e-3, a validation split."""

import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(0)
    x, y = load_diabetes(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.2, random_state=0)
    xm, xs, ym, ys = x_tr.mean(0), x_tr.std(0), y_tr.mean(), y_tr.std()

    def data(a, b):
        return TensorDataset(torch.tensor((a - xm) / xs, dtype=torch.float32),
                             torch.tensor((b - ym) / ys, dtype=torch.float32).unsqueeze(1))

    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1))
    return {
        "model": model,
        "train_data": DataLoader(data(x_tr, y_tr), batch_size=32, shuffle=True),
        "val_data": DataLoader(data(x_va, y_va), batch_size=128),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
