"""Fault: the data were sorted by target before the split, so the validation set is the tail of the
target range (largest 20% of diabetes progression scores) and does not match training.
"""

import torch
from sklearn.datasets import load_diabetes
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(48)
    x, y = load_diabetes(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32)
    y = ((y - y.mean()) / y.std()).unsqueeze(1)
    order = torch.argsort(y[:, 0])
    x, y = x[order], y[order]
    n = int(0.8 * len(x))
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1))
    train = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(48))
    val = DataLoader(TensorDataset(x[n:], y[n:]), batch_size=100)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
