"""Healthy: a small CNN with BatchNorm on 1x8x8 digits, Adam 1e-3, batch size 64, shuffled."""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.net(x)


def setup():
    torch.manual_seed(101)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    x = (x - x.mean()) / x.std()
    y = torch.tensor(y, dtype=torch.long)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(101))
    tr, va = perm[:1500], perm[1500:]
    model = CNN()
    train = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=64, shuffle=True,
                       generator=torch.Generator().manual_seed(101))
    val = DataLoader(TensorDataset(x[va], y[va]), batch_size=300)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "multiclass",
    }
