"""A dense (fully connected) autoencoder trained to reconstruct its input with a mean squared
error, re-implemented from L1aoXingyu/pytorch-beginner `08-AutoEncoder/simple_autoencoder.py`
(commit 29cab65745f4e8283ebae7e631c9ec1d074955d3), which trains on MNIST.

What is kept: the encoder Linear(in, 128) -> ReLU -> Linear(128, 64) -> ReLU -> Linear(64, 12) ->
ReLU -> Linear(12, 3) (a 3-number code) and the mirrored decoder ending in Tanh; images
normalised to [-1, 1] (ToTensor then Normalize(0.5, 0.5)) so that Tanh can reach every target;
nn.MSELoss between the reconstruction and the input image; Adam lr 1e-3 with weight_decay 1e-5;
batch size 128, shuffled; the labels are loaded with the images and ignored (`img, _ = data`).

Deliberate differences:
- Data: MNIST (28x28, downloaded) is replaced by scikit-learn's bundled digits (8x8, values
  0..16, divided by 16 then mapped to [-1, 1]), so the input and output width is 64 instead of
  784; a 75 % / 25 % train/validation split (the original has no validation set).
"""

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/L1aoXingyu/pytorch-beginner",
    "path": "08-AutoEncoder/simple_autoencoder.py",
    "commit": "29cab65745f4e8283ebae7e631c9ec1d074955d3",
    "family": "autoencoder",
    "task": "regression",
    "notes": "dense 64-128-64-12-3 autoencoder with Tanh output on sklearn digits in [-1, 1]; "
             "MSE against the input (step() returns the image as target); Adam 1e-3 wd 1e-5",
}


class Autoencoder(nn.Module):
    def __init__(self, n_inputs: int = 64):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(n_inputs, 128), nn.ReLU(True),
            nn.Linear(128, 64), nn.ReLU(True),
            nn.Linear(64, 12), nn.ReLU(True),
            nn.Linear(12, 3))
        self.decoder = nn.Sequential(
            nn.Linear(3, 12), nn.ReLU(True),
            nn.Linear(12, 64), nn.ReLU(True),
            nn.Linear(64, 128), nn.ReLU(True),
            nn.Linear(128, n_inputs), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The target of a reconstruction is the image itself; the digit label is ignored."""
    img, _ = batch
    return model(img), img


def setup():
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    images = torch.tensor((x[order] / 16.0 - 0.5) / 0.5, dtype=torch.float32)
    labels = torch.tensor(y[order])
    n = int(0.75 * len(images))
    model = Autoencoder(images.shape[1])
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(images[:n], labels[:n]), batch_size=128,
                                 shuffle=True, generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(TensorDataset(images[n:], labels[n:]), batch_size=256),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5),
        "step": step,
        "task": "regression",
    }
