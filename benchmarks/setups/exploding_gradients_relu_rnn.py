"""Fault: a ReLU RNN whose recurrent matrix is initialized to 1.1x the identity, so the hidden
state and its gradients grow ~1.1x per time step over 30 steps (no clipping).
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class RNNRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(input_size=2, hidden_size=32, nonlinearity="relu", batch_first=True)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(1.1 * torch.eye(32) + 0.02 * torch.randn(32, 32))
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h[:, -1])


def setup():
    torch.manual_seed(6)
    n, t = 1000, 30
    x = torch.randn(n, t, 2)
    y = (x[:, :, 0] * x[:, :, 1]).mean(1, keepdim=True) * 3.0
    model = RNNRegressor()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(6))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=1e-3),
        "task": "regression",
    }
