"""LeNet-5 (LeCun et al., 1998) with Tanh and average pooling on 32x32 digits, whose forward
returns a tuple (logits, probabilities), re-implemented from Eryk Lewinson's "Implementing Yann
LeCun's LeNet-5 in PyTorch" (Towards Data Science, 2020), notebook
erykml/medium_articles, `Computer Vision/lenet5_pytorch.ipynb` (commit
08c1872a65c0d9a5a8b02799469324a2fdcedb1b).

What is kept: LeNet5 = feature extractor Conv2d(1, 6, 5) -> Tanh -> AvgPool2d(2) -> Conv2d(6,
16, 5) -> Tanh -> AvgPool2d(2) -> Conv2d(16, 120, 5) -> Tanh, flatten, classifier Linear(120,
84) -> Tanh -> Linear(84, 10); `forward` returns `(logits, F.softmax(logits, dim=1))` and the
training loop unpacks `y_hat, _ = model(X)` before nn.CrossEntropyLoss; Adam lr 0.001; batch
32 with shuffling; seed 42; 32x32 inputs scaled to [0, 1] without normalisation
(`transforms.Resize((32, 32))` + `ToTensor()`).

Deliberate differences:
- Data: scikit-learn's bundled 8x8 digits (values 0..16) scaled to [0, 1] and resized
  bilinearly to 32x32, instead of MNIST's 28x28 images resized to 32x32 (a download); 75 %
  train, 25 % validation of a seeded permutation instead of MNIST's train/test files.
- The tuple output is unpacked by a `step` (the probe's contract), which is exactly what the
  notebook's train/validate functions do.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/erykml/medium_articles",
    "path": "Computer Vision/lenet5_pytorch.ipynb",
    "commit": "08c1872a65c0d9a5a8b02799469324a2fdcedb1b",
    "family": "cnn",
    "task": "multiclass",
    "notes": "classic LeNet-5 (Tanh, AvgPool, conv 6-16-120, fc 84) returning (logits, probs); "
             "step() keeps the logits; Adam 1e-3, batch 32; sklearn digits resized to 32x32 "
             "in [0, 1] instead of MNIST",
}

N_CLASSES = 10


class LeNet5(nn.Module):
    def __init__(self, n_classes: int):
        super().__init__()
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5, stride=1), nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(in_channels=6, out_channels=16, kernel_size=5, stride=1), nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(in_channels=16, out_channels=120, kernel_size=5, stride=1), nn.Tanh())
        self.classifier = nn.Sequential(
            nn.Linear(in_features=120, out_features=84), nn.Tanh(),
            nn.Linear(in_features=84, out_features=n_classes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.flatten(self.feature_extractor(x), 1)
        logits = self.classifier(x)
        return logits, F.softmax(logits, dim=1)


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """`y_hat, _ = model(X)`: the loss takes the logits, the probabilities are for accuracy."""
    images, labels = batch
    logits, _ = model(images)
    return logits, labels


def _digits_32x32(seed: int = 42):
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    images = torch.tensor(x[order] / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False)
    labels = torch.tensor(y[order])
    n_train = int(0.75 * len(images))
    return (TensorDataset(images[:n_train], labels[:n_train]),
            TensorDataset(images[n_train:], labels[n_train:]))


def setup():
    torch.manual_seed(42)
    train, valid = _digits_32x32()
    model = LeNet5(N_CLASSES)
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True,
                                 generator=torch.Generator().manual_seed(42)),
        "val_data": DataLoader(valid, batch_size=32, shuffle=False),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=0.001),
        "step": step,
        "task": "multiclass",
    }
