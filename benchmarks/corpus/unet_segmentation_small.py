"""U-Net for binary segmentation as trained by milesial/Pytorch-UNet (the Carvana car-mask
training script), scaled down and re-implemented as a probe setup.

Source: https://github.com/milesial/Pytorch-UNet, `unet/unet_model.py`, `unet/unet_parts.py`,
`utils/dice_score.py` and `train.py` (commit 21d7850f2af30a9695bbeea75f3136aa538cfc4a).

Kept from the original: the U-Net layout (DoubleConv = (3x3 conv, BatchNorm, ReLU) x 2; four
Down blocks = max-pool + DoubleConv; four Up blocks = 2x2 transposed convolution (the default,
bilinear=False), pad to the skip's size, concatenate, DoubleConv; 1x1 OutConv to one logit
channel), 3 input channels, n_classes=1 so the loss is BCEWithLogitsLoss plus the Dice loss
1 - dice_coeff(sigmoid(logits), mask) computed over the whole batch (reduce_batch_first=True,
epsilon 1e-6); RMSprop lr 1e-5, weight decay 1e-8, momentum 0.999 (foreach=True); gradient
clipping to norm 1.0 after backward; batch size 1 (the script's default); AMP off (its default),
so the GradScaler is a no-op and is left out.

Deliberate differences:
- Width: base 8 channels instead of 64 (8-16-32-64-128 instead of 64-...-1024), so that the
  probe runs in seconds on a CPU.
- Data: the Carvana images are a download, so the images are generated: 32x32 RGB with a
  noisy background and one or two filled ellipses or rectangles of a random colour; the mask is
  the union of the shapes (about 15-35 % foreground), 600 training / 100 validation images.
- ReduceLROnPlateau on the validation Dice score (stepped 5 times per epoch in the original) is
  left out: with patience 5 it cannot fire within the probe's few hundred steps.
- The loss of `loss_fn` is the same BCE + Dice the original's loop adds up; `train_step` is the
  original's step (zero_grad, loss, backward, clip_grad_norm_ 1.0, optimizer step).
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/milesial/Pytorch-UNet",
    "path": "unet/unet_model.py, unet/unet_parts.py, utils/dice_score.py, train.py",
    "commit": "21d7850f2af30a9695bbeea75f3136aa538cfc4a",
    "family": "segmentation",
    "task": "other",
    "notes": "U-Net (transposed-conv up path, BatchNorm) at base width 8 instead of 64; "
             "BCEWithLogits + Dice; RMSprop 1e-5 momentum 0.999 wd 1e-8; clip norm 1.0; batch 1; "
             "synthetic 32x32 shapes with masks; ReduceLROnPlateau left out.",
}

IMAGE_SIZE = 32
BASE = 8
GRADIENT_CLIPPING = 1.0


class DoubleConv(nn.Module):
    """(convolution => BN => ReLU) * 2"""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None):
        super().__init__()
        mid_channels = mid_channels or out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    """Max-pool then DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Transposed-conv upsampling, pad to the skip connection, concatenate, DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(nn.Module):
    def __init__(self, n_channels: int = 3, n_classes: int = 1, base: int = BASE):
        super().__init__()
        self.n_channels, self.n_classes = n_channels, n_classes
        self.inc = DoubleConv(n_channels, base)
        self.down1 = Down(base, base * 2)
        self.down2 = Down(base * 2, base * 4)
        self.down3 = Down(base * 4, base * 8)
        self.down4 = Down(base * 8, base * 16)
        self.up1 = Up(base * 16, base * 8)
        self.up2 = Up(base * 8, base * 4)
        self.up3 = Up(base * 4, base * 2)
        self.up4 = Up(base * 2, base)
        self.outc = nn.Conv2d(base, n_classes, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)


def dice_coeff(probs: torch.Tensor, target: torch.Tensor, epsilon: float = 1e-6) -> torch.Tensor:
    """Dice over the whole batch (the original's reduce_batch_first=True on (N, H, W))."""
    inter = 2 * (probs * target).sum()
    sets_sum = probs.sum() + target.sum()
    sets_sum = torch.where(sets_sum == 0, inter, sets_sum)
    return (inter + epsilon) / (sets_sum + epsilon)


BCE = nn.BCEWithLogitsLoss()


def bce_dice_loss(masks_pred: torch.Tensor, true_masks: torch.Tensor) -> torch.Tensor:
    """BCEWithLogits on the logits plus Dice loss on their sigmoid, as train.py adds them."""
    logits = masks_pred.squeeze(1)
    return BCE(logits, true_masks) + (1 - dice_coeff(torch.sigmoid(logits), true_masks))


def train_step(model, batch, optimizer):
    """One step of train.py: loss, backward, clip the gradient norm to 1.0, step."""
    images, true_masks = batch
    loss = bce_dice_loss(model(images), true_masks)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRADIENT_CLIPPING)
    optimizer.step()
    return loss


def _shapes(n: int, rng: np.random.Generator):
    """Noisy RGB images with one or two filled ellipses/rectangles; the mask is their union."""
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    images = np.empty((n, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    masks = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for i in range(n):
        background = rng.uniform(0.0, 0.5, size=(3, 1, 1))
        image = background + rng.normal(0.0, 0.08, size=(3, IMAGE_SIZE, IMAGE_SIZE))
        for _ in range(rng.integers(1, 3)):
            cy, cx = rng.uniform(6, IMAGE_SIZE - 6, size=2)
            ry, rx = rng.uniform(3, 8, size=2)
            if rng.random() < 0.5:
                shape = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
            else:
                shape = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
            colour = rng.uniform(0.5, 1.0, size=(3, 1))
            image[:, shape] = colour + rng.normal(0.0, 0.08, size=(3, int(shape.sum())))
            masks[i][shape] = 1.0
        images[i] = image
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(masks))


def setup():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    train, val = _shapes(600, rng), _shapes(100, rng)
    model = UNet(n_channels=3, n_classes=1)
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=1, shuffle=True,
                                 generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(val, batch_size=1),
        "loss_fn": bce_dice_loss,
        "optimizer": torch.optim.RMSprop(model.parameters(), lr=1e-5, weight_decay=1e-8,
                                         momentum=0.999, foreach=True),
        "train_step": train_step,
    }
