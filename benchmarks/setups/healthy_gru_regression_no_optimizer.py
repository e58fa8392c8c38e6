"""Healthy: a GRU regressing a mean of a synthetic random sequence, standardized target, no
optimizer given (the probe's default is used).
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class GRUReg(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=2, hidden_size=32, batch_first=True)
        self.fc = nn.Linear(32, 1)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.fc(out[:, -1])


def setup():
    torch.manual_seed(109)
    n, t = 1500, 15
    x = torch.randn(n, t, 2)
    y = (x[:, :, 0].mean(1) + 0.5 * x[:, -3:, 1].mean(1)).unsqueeze(1)
    y = (y - y.mean()) / y.std()
    model = GRUReg()
    train = DataLoader(TensorDataset(x[:1200], y[:1200]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(109))
    val = DataLoader(TensorDataset(x[1200:], y[1200:]), batch_size=300)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.MSELoss(),
        "task": "regression",
    }
