"""Healthy: a 2-hidden-layer MLP on make_moons trained with SGD lr 0.05 momentum 0.9, shuffled
batches of 32, 2-class CrossEntropyLoss.
"""

import torch
from sklearn.datasets import make_moons
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(107)
    x, y = make_moons(n_samples=2000, noise=0.2, random_state=107)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.long)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2))
    train = DataLoader(TensorDataset(x[:1600], y[:1600]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(107))
    val = DataLoader(TensorDataset(x[1600:], y[1600:]), batch_size=400)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
    }
