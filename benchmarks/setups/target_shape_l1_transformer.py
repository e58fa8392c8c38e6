"""Fault: a tiny transformer regressor returns (N,) while the targets are (N, 1); L1Loss broadcasts
them to (N, N) and the model learns only the mean.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 32)
        self.enc = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64,
                                              dropout=0.0, batch_first=True)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        h = self.enc(self.inp(x))
        return self.out(h.mean(1)).squeeze(-1)


def setup():
    torch.manual_seed(45)
    n, t = 1000, 10
    x = torch.randn(n, t, 4)
    y = (x[:, :, 0].mean(1) - x[:, :, 1].max(1).values).unsqueeze(1)
    y = (y - y.mean()) / y.std()
    model = TinyTransformer()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(45))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.L1Loss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "regression",
    }
