"""Healthy: a small CNN with BatchNorm on 8x8 digit images scaled to [0, 1], Adam at 1e-3."""

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x = x.reshape(-1, 1, 8, 8) / 16.0
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, random_state=0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10))

    def data(a, b):
        return TensorDataset(torch.tensor(a, dtype=torch.float32), torch.tensor(b))

    return {
        "model": model,
        "train_data": DataLoader(data(x_tr, y_tr), batch_size=64, shuffle=True),
        "val_data": DataLoader(data(x_va, y_va), batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
