"""Fault: the residual MLP's forward() starts from a learned constant instead of its input (a typo:
self.start instead of x), so the output never depends on the data.
"""

import torch
from sklearn.datasets import make_moons
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.f = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))

    def forward(self, h):
        return torch.relu(h + self.f(h))


class ResMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(2, 32)
        self.start = nn.Parameter(torch.randn(1, 32) * 0.1)
        self.blocks = nn.Sequential(Block(32), Block(32))
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        h = self.inp(x)  # computed ...
        h = self.start.expand(x.shape[0], -1)  # ... but overwritten (bug)
        return self.out(self.blocks(h))


def setup():
    torch.manual_seed(41)
    x, y = make_moons(n_samples=1200, noise=0.1, random_state=41)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    model = ResMLP()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(41))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "binary",
    }
