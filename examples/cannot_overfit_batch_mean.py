"""Broken: the hidden layer is averaged over the batch dimension (dim=0 instead of the feature
dimension), so every sample in a batch gets the same prediction: the model cannot even memorise
16 samples. Expected: cannot_overfit_small_batch."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        h = h.mean(dim=0, keepdim=True).expand_as(h)  # bug: meant a per-sample operation
        return self.fc2(h)


def setup():
    torch.manual_seed(20)
    train, val = digits()
    model = Net()
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
