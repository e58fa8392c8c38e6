"""Fault: log(softmax(z)) computed by hand (instead of log_softmax) on logits multiplied by 200, so
some probabilities underflow to exactly 0 and the log gives -inf, then NaN gradients.
"""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        z = self.body(x) * 200.0  # "sharpening" temperature bug
        return torch.log(torch.softmax(z, dim=1))


def setup():
    torch.manual_seed(14)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32) / 16.0
    y = torch.tensor(y, dtype=torch.long)
    model = Net()
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(14))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.NLLLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
