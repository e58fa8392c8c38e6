"""Healthy: logistic-style MLP on standardized breast-cancer features, BCEWithLogitsLoss on raw
logits, SGD with momentum, a validation split."""

import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(0)
    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    mean, std = x_tr.mean(0), x_tr.std(0)
    x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std

    def data(a, b):
        return TensorDataset(torch.tensor(a, dtype=torch.float32),
                             torch.tensor(b, dtype=torch.float32).unsqueeze(1))

    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 1))
    return {
        "model": model,
        "train_data": DataLoader(data(x_tr, y_tr), batch_size=32, shuffle=True),
        "val_data": DataLoader(data(x_va, y_va), batch_size=128),
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
    }
