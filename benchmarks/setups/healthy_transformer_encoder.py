"""Healthy: a one-layer transformer encoder (d_model 32, 4 heads) classifying which of 4 channels
has the largest mean over a sequence, AdamW 1e-3.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(8, 32)
        self.enc = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64,
                                              dropout=0.1, batch_first=True)
        self.out = nn.Linear(32, 4)

    def forward(self, x):
        return self.out(self.enc(self.inp(x)).mean(1))


def setup():
    torch.manual_seed(105)
    n, t = 1500, 12
    x = torch.randn(n, t, 8)
    y = x[:, :, :4].mean(1).argmax(1)
    model = TinyTransformer()
    train = DataLoader(TensorDataset(x[:1200], y[:1200]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(105))
    val = DataLoader(TensorDataset(x[1200:], y[1200:]), batch_size=300)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01),
        "task": "multiclass",
    }
