"""Broken: SGD with momentum 0.995. The momentum buffer averages over ~200 steps, the effective
step is lr/(1 - 0.995) = 200x the learning rate, and it reacts to the loss surface with a long
delay. Expected: hyperparameter_out_of_range."""

import torch
from sklearn.datasets import load_breast_cancer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(25)
    x, y = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    data = TensorDataset(torch.tensor(x, dtype=torch.float32),
                         torch.tensor(y, dtype=torch.float32).unsqueeze(1))
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 1))
    return {
        "model": model,
        "train_data": DataLoader(data, batch_size=32, shuffle=True),
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.995),
    }
