"""Fault: a GRU binary sequence classifier whose dataset is all class 0 followed by all class 1,
iterated without shuffling.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class GRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=1, hidden_size=24, batch_first=True)
        self.fc = nn.Linear(24, 1)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.fc(out[:, -1])


def setup():
    torch.manual_seed(31)
    n, t = 800, 16
    tt = torch.linspace(0, 6.28, t)
    freq = torch.where(torch.rand(n) < 0.5, 1.0, 2.0)
    x = torch.sin(freq[:, None] * tt[None, :] + torch.rand(n, 1) * 6.28)
    x = (x + 0.3 * torch.randn(n, t)).unsqueeze(-1)
    y = (freq == 2.0).float().unsqueeze(1)
    order = torch.argsort(y[:, 0], stable=True)
    x, y = x[order], y[order]
    model = GRUNet()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=False)
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=3e-3),
    }
