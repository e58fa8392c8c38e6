"""A convolutional denoising autoencoder: fresh Gaussian noise is added to every batch inside
the training step, the clean image is the target, re-implemented from Udacity's
deep-learning-v2-pytorch, `autoencoder/denoising-autoencoder/Denoising_Autoencoder_Solution.ipynb`
(commit 30e321c016f1bdf247be09711e2bf1b8ecd12c31).

What is kept: ConvDenoiser = encoder Conv2d(1, 32, 3, padding=1) -> ReLU -> MaxPool(2) ->
Conv2d(32, 16, 3, padding=1) -> ReLU -> MaxPool(2) -> Conv2d(16, 8, 3, padding=1) -> ReLU ->
MaxPool(2) (28 -> 14 -> 7 -> 3), decoder ConvTranspose2d(8, 8, 3, stride=2) -> ReLU ->
ConvTranspose2d(8, 16, 2, stride=2) -> ReLU -> ConvTranspose2d(16, 32, 2, stride=2) -> ReLU ->
Conv2d(32, 1, 3, padding=1) -> sigmoid (3 -> 7 -> 14 -> 28); noisy input = clip(image +
0.5 * randn, 0, 1) drawn anew for each batch; nn.MSELoss between the output and the clean
image; Adam lr 0.001; batch 20; the training loader does not shuffle (the notebook's
DataLoader has no `shuffle=True`); pixel values in [0, 1] (`ToTensor()` only).

Deliberate differences:
- Data: scikit-learn's bundled 8x8 digits scaled to [0, 1] and resized bilinearly to 28x28
  instead of MNIST (a download); 75 % train, the rest as validation (the notebook only looks
  at test images).
- The noise is added in `step` (the probe's contract for batches whose target is not the
  second element), which is where the notebook's loop adds it; the digit label in each batch
  is ignored, as in the notebook (`images, _ = data`).
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/udacity/deep-learning-v2-pytorch",
    "path": "autoencoder/denoising-autoencoder/Denoising_Autoencoder_Solution.ipynb",
    "commit": "30e321c016f1bdf247be09711e2bf1b8ecd12c31",
    "family": "autoencoder",
    "task": "regression",
    "notes": "conv encoder 32-16-8 with max-pooling, transposed-conv decoder, sigmoid output; "
             "fresh noise 0.5*randn clipped to [0, 1] added in step(), clean image as target; "
             "MSE, Adam 1e-3, batch 20, unshuffled loader; digits resized to 28x28",
}

NOISE_FACTOR = 0.5


class ConvDenoiser(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 16, 3, padding=1)
        self.conv3 = nn.Conv2d(16, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.t_conv1 = nn.ConvTranspose2d(8, 8, 3, stride=2)
        self.t_conv2 = nn.ConvTranspose2d(8, 16, 2, stride=2)
        self.t_conv3 = nn.ConvTranspose2d(16, 32, 2, stride=2)
        self.conv_out = nn.Conv2d(32, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.pool(F.relu(self.conv3(x)))  # compressed representation, 8 x 3 x 3
        x = F.relu(self.t_conv1(x))
        x = F.relu(self.t_conv2(x))
        x = F.relu(self.t_conv3(x))
        return torch.sigmoid(self.conv_out(x))


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy images in, clean images as the target; the label is not used."""
    images, _ = batch
    noisy = torch.clamp(images + NOISE_FACTOR * torch.randn_like(images), 0.0, 1.0)
    return model(noisy), images


def setup():
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    images = torch.tensor(x[order] / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    images = F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)
    images = images.clamp(0.0, 1.0)
    labels = torch.tensor(y[order])
    n_train = int(0.75 * len(images))
    model = ConvDenoiser()
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(images[:n_train], labels[:n_train]),
                                 batch_size=20),
        "val_data": DataLoader(TensorDataset(images[n_train:], labels[n_train:]),
                               batch_size=20),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=0.001),
        "step": step,
        "task": "regression",
    }
