"""Healthy: a small MLP on standardized sklearn digits, Adam at 1e-3, shuffled batches."""

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, random_state=0)
    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-6
    x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std
    train = TensorDataset(torch.tensor(x_tr, dtype=torch.float32), torch.tensor(y_tr))
    val = TensorDataset(torch.tensor(x_va, dtype=torch.float32), torch.tensor(y_va))
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=128),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
