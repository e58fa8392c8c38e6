"""Fault: the model returns torch.log of a raw linear output (meant as a log-scale prediction),
which is NaN wherever that output is negative.
"""

import torch
from sklearn.datasets import load_diabetes
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class LogHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x):
        return torch.log(self.body(x))


def setup():
    torch.manual_seed(12)
    x, y = load_diabetes(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.log(torch.tensor(y, dtype=torch.float32)).unsqueeze(1)
    model = LogHead()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(12))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "regression",
    }
