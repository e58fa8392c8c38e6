"""Healthy: an LSTM classifying synthetic noisy sine sequences by frequency (3 classes), Adam 3e-3,
shuffled.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=32, batch_first=True)
        self.fc = nn.Linear(32, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def setup():
    torch.manual_seed(104)
    n, t = 1500, 24
    tt = torch.linspace(0, 2 * 3.14159, t)
    y = torch.randint(0, 3, (n,))
    freq = (y + 1).float()
    x = torch.sin(freq[:, None] * tt[None, :] + torch.rand(n, 1) * 6.28)
    x = (x + 0.2 * torch.randn(n, t)).unsqueeze(-1)
    model = LSTMNet()
    train = DataLoader(TensorDataset(x[:1200], y[:1200]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(104))
    val = DataLoader(TensorDataset(x[1200:], y[1200:]), batch_size=300)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=3e-3),
    }
