"""ResNet-20 for CIFAR-10 (He et al. 2015, option-A shortcuts) as trained by
akamaster/pytorch_resnet_cifar10, re-implemented as a probe setup.

Source: https://github.com/akamaster/pytorch_resnet_cifar10, files `resnet.py` (architecture,
commit 1877b675ffe676e33cb61ee606d6aad9ab5131e8) and `trainer.py` (recipe, commit
159915c314dd68f20ae32ad137d376f0cb3aaf08).

Kept from the original: the architecture (3x3 conv 16 + BN + ReLU, three stages of three
BasicBlocks with 16/32/64 channels, stride-2 stage entries with the parameter-free option-A
shortcut that subsamples and zero-pads channels, global average pooling, Linear(64, 10); conv
layers without bias), CrossEntropyLoss, SGD lr 0.1, momentum 0.9, weight decay 1e-4, and
MultiStepLR with milestones at epochs 100 and 150 (gamma 0.1).

Deliberate differences:
- Data: CIFAR-10 is a download, so the images are scikit-learn's bundled digits (8x8, 10
  classes, 1347 training / 450 validation images) tiled to 3 channels with a per-image random
  colour gain and pixel noise (a task with real class structure), normalised per channel with
  the training set's mean and std (the original normalises with fixed per-channel statistics).
- Image size 8x8 instead of 32x32 (the stages run at 8, 4 and 2 pixels instead of 32, 16 and
  8) and batch size 64 instead of 128, so that the probe runs in seconds on a CPU; the network
  is unchanged (its average pooling adapts to the map size).
- No augmentation (the original's random horizontal flip would not preserve digit labels; the
  random crop is dropped with it).
- The epoch-based MultiStepLR is expressed in batches (milestones 100 and 150 epochs times the
  batches per epoch) because the probe steps a scheduler once per training step; the schedule is
  the same.
- No warm-up (the original uses one only for resnet110/1202) and no half precision (off by
  default in the original).
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/akamaster/pytorch_resnet_cifar10",
    "path": "resnet.py, trainer.py",
    "commit": "1877b675ffe676e33cb61ee606d6aad9ab5131e8",
    "family": "cnn",
    "task": "multiclass",
    "notes": "ResNet-20 (option A shortcuts, BatchNorm), SGD 0.1/0.9/1e-4, MultiStepLR [100, 150] "
             "epochs in batches; 8x8x3 colour-tinted digits instead of CIFAR-10 32x32; batch 64 "
             "instead of 128; no augmentation.",
}

BATCH_SIZE = 64
IMAGE_SIZE = 8


def _colour_digits(size: int, seed: int = 0):
    """Digits as small colour images: three channels with a random gain each, resized to size."""
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


class LambdaLayer(nn.Module):
    """Wraps a function as a module (the option-A shortcut has no parameters)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN, identity or option-A (subsample, zero-pad channels) shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            pad = planes // 4
            self.shortcut = LambdaLayer(
                lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad), "constant", 0))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR ResNet: 16-channel stem, three stages (16, 32, 64), global average pool, Linear."""

    def __init__(self, num_blocks=(3, 3, 3), num_classes: int = 10):
        super().__init__()
        self.in_planes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._make_layer(16, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(32, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(64, num_blocks[2], stride=2)
        self.linear = nn.Linear(64, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3]).flatten(1)
        return self.linear(out)


def setup():
    torch.manual_seed(0)
    train, val = _colour_digits(IMAGE_SIZE)
    model = ResNet((3, 3, 3))
    loader = DataLoader(train, batch_size=BATCH_SIZE, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    per_epoch = len(loader)
    return {
        "model": model,
        "train_data": loader,
        "val_data": DataLoader(val, batch_size=128),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4),
        "scheduler": lambda opt: torch.optim.lr_scheduler.MultiStepLR(
            opt, milestones=[100 * per_epoch, 150 * per_epoch], gamma=0.1),
        "task": "multiclass",
    }
