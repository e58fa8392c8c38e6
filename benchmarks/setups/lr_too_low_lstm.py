"""Fault: an LSTM sequence classifier trained with SGD at learning rate 1e-6 (momentum 0.9), far
too small to learn anything.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=3, hidden_size=32, batch_first=True)
        self.out = nn.Linear(32, 3)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.out(h[:, -1])


def setup():
    torch.manual_seed(4)
    n, t = 1500, 16
    x = torch.randn(n, t, 3)
    # class = which channel has the largest sum over time
    y = x.sum(1).argmax(1)
    model = LSTMClassifier()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(4))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9),
        "task": "multiclass",
    }
