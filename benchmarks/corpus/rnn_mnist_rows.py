"""The PyTorch MNIST-with-an-RNN example: an LSTM reads an image row by row and classifies it.

Source: pytorch/examples, mnist_rnn/main.py (commit 190e03515818f68842206ee075e5e8782360b564).
Net: LSTM(input_size=28, hidden_size=64, batch_first=True) over the 28 rows of a 28x28 image;
its last output goes through BatchNorm1d(64), Dropout2d(0.25), Linear(64, 32), ReLU,
Dropout2d(0.5), Linear(32, 10) and log_softmax, trained with F.nll_loss, Adadelta lr=0.1,
StepLR(step_size=1, gamma=0.7) per epoch, batch size 64, shuffled. The original applies
nn.Dropout2d to 2-D (batch, features) tensors; that is kept (PyTorch warns about it).

Deliberate differences from the original:
- Data: scikit-learn's bundled digits (1797 8x8 images) upsampled to 28x28 with
  torch.nn.functional.interpolate (bilinear) as a stand-in for MNIST (never downloaded); pixels
  scaled to [0, 1], then normalized with the training split's own mean and std (the original
  uses MNIST's 0.1307 and 0.3081). 75/25 train/validation split.
- The scheduler: the original steps StepLR(step_size=1, gamma=0.7) once per epoch of MNIST
  (60000 / 64 = 938 optimizer steps); the probe steps a scheduler once per training step, so
  the factory builds StepLR(step_size=938, gamma=0.7), the same decay per optimizer step (per
  digits epoch of 22 steps it would cut the total learning 40-fold).
- Epochs: the probe decides how many steps run (the original trains 14 epochs).
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "mnist_rnn/main.py",
    "commit": "190e03515818f68842206ee075e5e8782360b564",
    "family": "lstm",
    "task": "multiclass",
    "notes": "sklearn digits upsampled to 28x28 instead of MNIST; per-epoch StepLR(gamma=0.7) "
             "as StepLR(step_size=938 MNIST steps); Dropout2d on 2-D tensors as in the original",
}

BATCH_SIZE = 64
# 60000 MNIST training images / 64: the original's optimizer steps per epoch
MNIST_STEPS_PER_EPOCH = 938


class Net(nn.Module):
    """LSTM over image rows; the last time step's output feeds a small batch-normed head."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
        self.batchnorm = nn.BatchNorm1d(64)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        rows = images.reshape(-1, 28, 28)          # (batch, 28 rows as time steps, 28 pixels)
        output, _ = self.rnn(rows)
        output = self.batchnorm(output[:, -1, :])
        output = self.dropout1(output)
        output = F.relu(self.fc1(output))
        output = self.dropout2(output)
        return F.log_softmax(self.fc2(output), dim=1)


def digits_28x28(seed: int = 0):
    """(train, val) datasets of digits upsampled to 1x28x28, normalized on the train split."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    x = torch.tensor(x[order], dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    y = torch.tensor(y[order])
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    n = int(0.75 * len(x))
    mean, std = x[:n].mean(), x[:n].std()
    x = (x - mean) / std
    return TensorDataset(x[:n], y[:n]), TensorDataset(x[n:], y[n:])


def setup() -> dict:
    torch.manual_seed(1)
    train, val = digits_28x28()
    model = Net()
    train_loader = DataLoader(train, batch_size=BATCH_SIZE, shuffle=True,
                              generator=torch.Generator().manual_seed(1))
    return {
        "model": model,
        "train_data": train_loader,
        "val_data": DataLoader(val, batch_size=1000),
        "loss_fn": nn.NLLLoss(),
        "optimizer": torch.optim.Adadelta(model.parameters(), lr=0.1),
        "scheduler": lambda opt: torch.optim.lr_scheduler.StepLR(
            opt, step_size=MNIST_STEPS_PER_EPOCH, gamma=0.7),
        "task": "multiclass",
    }
