"""Fault: a GRU classifier applies torch.softmax inside forward() and the result is passed to
F.cross_entropy (double softmax).
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class GRUClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=4, hidden_size=32, batch_first=True)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        _, h = self.gru(x)
        return torch.softmax(self.fc(h[-1]), dim=-1)


def setup():
    torch.manual_seed(18)
    n, t = 1200, 12
    x = torch.randn(n, t, 4)
    y = x[:, -4:].mean(1).argmax(1)  # which channel is largest over the last 4 steps
    model = GRUClassifier()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(18))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": F.cross_entropy,
        "optimizer": torch.optim.Adam(model.parameters(), lr=2e-3),
    }
