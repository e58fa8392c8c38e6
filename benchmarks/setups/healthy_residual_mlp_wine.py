"""Healthy: a residual MLP (two pre-norm LayerNorm residual blocks) on standardized wine data,
AdamW 1e-3.
"""

import torch
from sklearn.datasets import load_wine
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.f = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, h):
        return h + self.f(self.norm(h))


class ResMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(13, 32)
        self.blocks = nn.Sequential(Block(32), Block(32))
        self.out = nn.Linear(32, 3)

    def forward(self, x):
        return self.out(self.blocks(self.inp(x)))


def setup():
    torch.manual_seed(108)
    x, y = load_wine(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.long)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(108))
    tr, va = perm[:140], perm[140:]
    model = ResMLP()
    train = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=16, shuffle=True,
                       generator=torch.Generator().manual_seed(108))
    val = DataLoader(TensorDataset(x[va], y[va]), batch_size=38)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.AdamW(model.parameters(), lr=1e-3),
    }
