"""The PyTorch super-resolution example: ESPCN, a sub-pixel convolution network (PixelShuffle).

Source: pytorch/examples, super_resolution/model.py (commit
5c2b513a8e0d94bb9c594e4f8754c10b45cc9bf4), main.py (commit
6238eb6ae8d09cbe1b333ef4c32502a2f2564243) and data.py (commit
8952bff9bc81e82e1bfc751789bc3d0656c22b86). Net: Conv2d(1, 64, 5, pad 2) - ReLU - Conv2d(64, 64,
3, pad 1) - ReLU - Conv2d(64, 32, 3, pad 1) - ReLU - Conv2d(32, r^2, 3, pad 1) - PixelShuffle(r),
orthogonal init (gain sqrt(2) for the three ReLU convs, 1 for the last). Data: the luminance
(Y) channel of an image as target and the same image downscaled by r (PIL resize, bilinear)
as input, both in [0, 1]. Loss MSE, Adam with main.py's default lr=0.01 and batch size 64,
shuffled; here r=3 (the README's --upscale_factor 3).

Deliberate differences from the original:
- Data: scikit-learn's bundled digits (8x8, 0..16; a single grey channel, so it is the Y
  channel) upsampled bicubically to 24x24 and clamped to [0, 1] as the high-resolution target,
  and that target downscaled by 3 to 8x8 (bilinear with antialiasing, like PIL's resize) as
  the input, instead of 255x255 crops of BSDS300 photos (never downloaded). 75/25 split.
- init.orthogonal (deprecated) is written init.orthogonal_, the same initialisation.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import init
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "super_resolution/model.py",
    "commit": "5c2b513a8e0d94bb9c594e4f8754c10b45cc9bf4",
    "family": "superres",
    "task": "regression",
    "notes": "digits upsampled to 24x24 as HR targets, downscaled by 3 to 8x8 as inputs, "
             "instead of BSDS300 crops; upscale factor 3; Adam lr 0.01, batch 64 (main.py)",
}

UPSCALE = 3
BATCH_SIZE = 64


class Net(nn.Module):
    """ESPCN: features at low resolution, r^2 channels rearranged into an r-times larger image."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
        init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv4.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        return self.pixel_shuffle(self.conv4(x))


def digits_superres(seed: int = 0):
    """(train, val) datasets of (8x8 low-resolution input, 24x24 high-resolution target)."""
    x, _ = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    x = torch.tensor(x[order], dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    high = F.interpolate(x, scale_factor=UPSCALE, mode="bicubic", align_corners=False)
    high = high.clamp(0, 1)
    low = F.interpolate(high, scale_factor=1 / UPSCALE, mode="bilinear", antialias=True,
                        align_corners=False)
    n = int(0.75 * len(x))
    return TensorDataset(low[:n], high[:n]), TensorDataset(low[n:], high[n:])


def setup() -> dict:
    torch.manual_seed(123)
    train, val = digits_superres()
    model = Net(upscale_factor=UPSCALE)
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=BATCH_SIZE, shuffle=True,
                                 generator=torch.Generator().manual_seed(123)),
        "val_data": DataLoader(val, batch_size=10),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=0.01),
        "task": "regression",
    }
