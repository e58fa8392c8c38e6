"""A fast CIFAR-10 ResNet (David Page's cifar10-fast layout, "PageNet") trained with Adam and a
OneCycleLR schedule stepped after every batch, from woncoh1/era1a10 (ERA V1 session 10).

Source: https://github.com/woncoh1/era1a10, `src/models.py` (PageNet), `src/engine.py`
(train_step: scheduler.step() after each optimizer step when onecyclelr=True) and `S10.ipynb`
(hyperparameters), commit bd526e3518404cd4efedf0988a2d35484a7445ad.

Kept from the original: the architecture (prep block 3x3 conv + BN + ReLU; layer 1 = conv,
max-pool, BN, ReLU plus a residual block of two conv-BN-ReLU added back; layer 2 = conv block;
layer 3 = conv block plus residual block; max-pool 4, 1x1 conv to 10 logits, flatten; convs
without bias and with replicate padding), CrossEntropyLoss, Adam lr 1e-3 (no weight decay),
OneCycleLR(max_lr=4e-3, pct_start=0.2, anneal_strategy='linear', three_phase=False,
div_factor=100, final_div_factor default) over 24 epochs, stepped per batch.

Deliberate differences:
- Width: 8-16-32-64 channels instead of 64-128-256-512, and batch size 32 instead of 512,
  so that the probe runs in seconds on a CPU.
- Data: CIFAR-10 is a download, so the 32x32 colour images are scikit-learn's bundled digits
  upsampled bilinearly to 32x32 and tiled to 3 channels with a per-image random colour gain
  and pixel noise, normalised per channel with the training set's statistics. The original's
  albumentations augmentation (pad-crop, flip, cutout) is left out (a flip changes digits).
- The LR finder that chose max_lr = 4e-3 is not rerun; its result is used as in the notebook.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/woncoh1/era1a10",
    "path": "src/models.py, src/engine.py, S10.ipynb",
    "commit": "bd526e3518404cd4efedf0988a2d35484a7445ad",
    "family": "cnn",
    "task": "multiclass",
    "notes": "PageNet (cifar10-fast ResNet) at 1/8 width, Adam 1e-3 + OneCycleLR(max_lr 4e-3, "
             "pct_start 0.2, linear, two-phase, div_factor 100) over 24 epochs stepped per batch; "
             "batch 32 instead of 512; digits upsampled to 32x32x3 instead of CIFAR-10.",
}

EPOCHS = 24
BATCH_SIZE = 32
WIDTHS = (8, 16, 32, 64)


def _colour_digits(size: int, seed: int = 0):
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    x, y = x[order] / 16.0, y[order]
    images = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8)
    images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    gains = torch.tensor(rng.uniform(0.6, 1.0, size=(len(x), 3, 1, 1)), dtype=torch.float32)
    noise = torch.tensor(rng.normal(0.0, 0.05, size=(len(x), 3, size, size)), dtype=torch.float32)
    images = (images.repeat(1, 3, 1, 1) * gains + noise).clamp(0.0, 1.0)
    n_train = int(0.75 * len(x))
    mean = images[:n_train].mean(dim=(0, 2, 3), keepdim=True)
    std = images[:n_train].std(dim=(0, 2, 3), keepdim=True)
    images = (images - mean) / std
    labels = torch.tensor(y)
    return (TensorDataset(images[:n_train], labels[:n_train]),
            TensorDataset(images[n_train:], labels[n_train:]))


def prepblock(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, padding_mode="replicate", bias=False),
                         nn.BatchNorm2d(o), nn.ReLU())


def convblock(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, padding_mode="replicate", bias=False),
                         nn.MaxPool2d(2, stride=2), nn.BatchNorm2d(o), nn.ReLU())


def resblock(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, padding_mode="replicate", bias=False),
                         nn.BatchNorm2d(o), nn.ReLU(),
                         nn.Conv2d(o, o, 3, padding=1, padding_mode="replicate", bias=False),
                         nn.BatchNorm2d(o), nn.ReLU())


def predblock(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.MaxPool2d(4), nn.Conv2d(i, o, 1, padding=0, bias=False), nn.Flatten())


class SkipBlock(nn.Module):
    def __init__(self, i: int, o: int):
        super().__init__()
        self.conv = convblock(i, o)
        self.res = resblock(o, o)

    def forward(self, x):
        x = self.conv(x)
        return x + self.res(x)


class PageNet(nn.Module):
    """ResNet optimised for training speed (after davidcpage/cifar10-fast)."""

    def __init__(self, widths=WIDTHS, num_classes: int = 10):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.conv0 = prepblock(3, w0)
        self.conv1 = SkipBlock(w0, w1)
        self.conv2 = convblock(w1, w2)
        self.conv3 = SkipBlock(w2, w3)
        self.trans = predblock(w3, num_classes)

    def forward(self, x):
        return self.trans(self.conv3(self.conv2(self.conv1(self.conv0(x)))))


def setup():
    torch.manual_seed(0)
    train, val = _colour_digits(32)
    model = PageNet()
    loader = DataLoader(train, batch_size=BATCH_SIZE, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    steps_per_epoch = len(loader)
    return {
        "model": model,
        "train_data": loader,
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "scheduler": lambda opt: torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=4e-3, epochs=EPOCHS, steps_per_epoch=steps_per_epoch, pct_start=0.2,
            anneal_strategy="linear", three_phase=False, div_factor=100),
        "task": "multiclass",
    }
