"""The PyTorch MNIST example: a two-convolution CNN with dropout, trained with Adadelta.

Source: pytorch/examples, mnist/main.py (commit 09654b86fcd7b489840546d9ad0cf9b629dc50d0; the
same Net, Adadelta lr=1.0 and StepLR(step_size=1, gamma=0.7) are in the upstream main branch).
Net: conv(1->32, 3) - ReLU - conv(32->64, 3) - ReLU - max-pool 2 - Dropout(0.25) - flatten
(9216) - Linear(9216, 128) - ReLU - Dropout(0.5) - Linear(128, 10) - log_softmax, trained with
F.nll_loss, batch size 64, shuffled.

Deliberate differences from the original:
- Data: scikit-learn's bundled digits (1797 8x8 images, 10 classes) upsampled to 28x28 with
  torch.nn.functional.interpolate (bilinear) as a stand-in for MNIST (never downloaded); pixels
  scaled to [0, 1] like ToTensor, then normalized with the training split's own mean and std
  (the original uses MNIST's mean 0.1307 and std 0.3081). 75/25 train/validation split.
- The scheduler: the original steps StepLR(step_size=1, gamma=0.7) once per epoch of MNIST
  (60000 / 64 = 938 optimizer steps). The probe steps a scheduler once per training step, so
  the factory builds StepLR(step_size=938, gamma=0.7): the same decay per optimizer step (a
  decay per digits epoch of 22 steps would cut the total learning 40-fold). In a probe run of
  a few hundred steps the rate therefore stays at 1.0.
- Epochs: the probe decides how many steps run (the cited file defaults to 3 epochs, its help
  text and upstream say 14).
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "mnist/main.py",
    "commit": "09654b86fcd7b489840546d9ad0cf9b629dc50d0",
    "family": "cnn",
    "task": "multiclass",
    "notes": "sklearn digits upsampled to 28x28 instead of MNIST; per-epoch StepLR(gamma=0.7) "
             "given as StepLR(step_size=938 MNIST steps) because the probe steps per step",
}

BATCH_SIZE = 64
# 60000 MNIST training images / 64: the original's optimizer steps per epoch
MNIST_STEPS_PER_EPOCH = 938


class Net(nn.Module):
    """The example's CNN; the flatten size 9216 = 64 channels x 12 x 12 needs 28x28 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


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
        "optimizer": torch.optim.Adadelta(model.parameters(), lr=1.0),
        "scheduler": lambda opt: torch.optim.lr_scheduler.StepLR(
            opt, step_size=MNIST_STEPS_PER_EPOCH, gamma=0.7),
        "task": "multiclass",
    }
