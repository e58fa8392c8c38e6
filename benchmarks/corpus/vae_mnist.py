"""The PyTorch VAE example: a fully connected variational autoencoder on MNIST.

Source: pytorch/examples, vae/main.py (commit cd01f93000a6679e768700dd29e417a1e5fd10e5).
VAE: encoder Linear(784, 400) - ReLU - two heads Linear(400, 20) for mu and logvar;
reparameterization z = mu + eps * exp(logvar / 2); decoder Linear(20, 400) - ReLU -
Linear(400, 784) - sigmoid. Loss: binary cross-entropy of the reconstruction against the
input with reduction='sum', plus the KL divergence -0.5 * sum(1 + logvar - mu^2 - exp(logvar)),
summed over the batch (so the loss scales with the batch size). Adam lr=1e-3, batch size 128.

Deliberate differences from the original:
- Data: scikit-learn's bundled digits (8x8, values 0..16) upsampled to 28x28 with
  torch.nn.functional.interpolate (bilinear) and scaled to [0, 1] (like ToTensor on MNIST), so
  the 784-pixel architecture is unchanged; not binarized, like the original's MNIST.
  75/25 train/validation split; the class labels are not used.
- The batch carries the image twice (input, target) and `step` returns the model's
  (reconstruction, mu, logvar) with the target, so the two-term loss function
  `loss_fn(outputs, images)` is the original's loss_function; train_step returns it.
- Newer versions of the upstream file add a continuous-Bernoulli normalizing term and clamp
  the decoder output; this port follows the classic BCE + KL version cited above.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "vae/main.py",
    "commit": "cd01f93000a6679e768700dd29e417a1e5fd10e5",
    "family": "vae",
    "task": "other",
    "notes": "sklearn digits upsampled to 28x28 in [0, 1] instead of MNIST; BCE(sum) + KL loss "
             "through a step and a train_step; Adam 1e-3, batch 128 as the original",
}

BATCH_SIZE = 128


class VAE(nn.Module):
    """784 -> 400 -> (mu, logvar) of 20 -> 400 -> 784 sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def loss_function(outputs, images: torch.Tensor) -> torch.Tensor:
    """Reconstruction BCE plus KL divergence, both summed over elements and batch."""
    recon, mu, logvar = outputs
    bce = F.binary_cross_entropy(recon, images.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def step(model: VAE, batch):
    """(outputs, targets) for the probe's own measurements: the images are their own target."""
    images, targets = batch
    return model(images), targets


def train_step(model: VAE, batch, optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """The original's inner loop: zero_grad, forward, two-term loss, backward, Adam step."""
    optimizer.zero_grad()
    loss = loss_function(*step(model, batch))
    loss.backward()
    optimizer.step()
    return loss


def digits_784(seed: int = 0):
    """(train, val) datasets of (image, image): digits upsampled to 28x28 in [0, 1]."""
    x, _ = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    x = torch.tensor(x[order], dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)
    n = int(0.75 * len(x))
    return TensorDataset(x[:n], x[:n]), TensorDataset(x[n:], x[n:])


def setup() -> dict:
    torch.manual_seed(1)
    train, val = digits_784()
    model = VAE()
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=BATCH_SIZE, shuffle=True,
                                 generator=torch.Generator().manual_seed(1)),
        "val_data": DataLoader(val, batch_size=BATCH_SIZE),
        "loss_fn": loss_function,
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "step": step,
        "train_step": train_step,
    }
