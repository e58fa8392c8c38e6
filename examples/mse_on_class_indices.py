"""Broken: iris classes 0/1/2 regressed with MSELoss on a single output, as if the class index
were a quantity. Expected: loss_task_mismatch."""

import torch
from sklearn.datasets import load_iris
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(9)
    x, y = load_iris(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    data = TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y).unsqueeze(1))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    return {
        "model": model,
        "train_data": DataLoader(data, batch_size=16, shuffle=True),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
