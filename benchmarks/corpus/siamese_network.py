"""The PyTorch Siamese network example: a shared ResNet-18 embeds two images, a small head and a
sigmoid say whether they show the same digit, trained with BCELoss.

Source: pytorch/examples, siamese_network/main.py (commit
f62b4aec7bff832fc65b59aa62d60e94ddd6b39e). SiameseNetwork: torchvision's resnet18 (random
init) with its first conv replaced by Conv2d(1, 64, 7, stride 2, padding 3, bias=False) and its
fc removed; the two images' pooled features are concatenated and go through Linear(2*512, 256)
- ReLU - Linear(256, 1) - Sigmoid; Linear layers Xavier-uniform with bias 0.01. Pairs
(APP_MATCHER): a random class, a random image of it, and for even indices another image of the
same class (target 1), for odd indices an image of another class (target 0); images are the
raw uint8 pixels as float (0..255, not normalized). BCELoss, Adadelta lr=1.0,
StepLR(step_size=1, gamma=0.7) per epoch, batch size 64 (not shuffled, as the original's
CPU DataLoader; the pairs are random anyway).

Deliberate differences from the original:
- Data: scikit-learn's bundled digits (8x8, 0..16) upsampled to 28x28 (bilinear) and scaled
  to 0..255 as a stand-in for MNIST (never downloaded); 75/25 split of the images, pairs drawn
  only within a split. The pairs are drawn once with a seeded torch.Generator (1347 training,
  450 validation pairs) instead of afresh at every __getitem__ call with `random`.
- ResNet-18 is re-implemented here (torchvision is not a dependency) with the same layout
  (7x7/2 stem, max-pool, four stages of two BasicBlocks, strides 1-2-2-2, global average
  pooling, batch norm, Kaiming-normal fan-out init of the convolutions) but a quarter of the
  width (16-32-64-128 channels instead of 64-128-256-512), so the head is Linear(256, 256).
- The scheduler: the per-epoch StepLR(gamma=0.7) of the original (938 optimizer steps per
  MNIST epoch) is given as StepLR(step_size=938, gamma=0.7), because the probe steps a
  scheduler once per training step.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "siamese_network/main.py",
    "commit": "f62b4aec7bff832fc65b59aa62d60e94ddd6b39e",
    "family": "siamese",
    "task": "binary",
    "notes": "digits upsampled to 28x28, raw 0..255 as the original; ResNet-18 layout at 1/4 "
             "width re-implemented; fixed seeded pairs; per-epoch StepLR as step_size=938 steps",
}

BATCH_SIZE = 64
# 60000 MNIST training images / 64: the original's optimizer steps per epoch
MNIST_STEPS_PER_EPOCH = 938
WIDTH = 16          # torchvision's resnet18 starts at 64 channels


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual (projected when the shape changes)."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


def resnet18_features(width: int) -> nn.Sequential:
    """ResNet-18 without its fc: stem, 4 stages of 2 BasicBlocks, global average pooling."""
    layers: list[nn.Module] = [nn.Conv2d(1, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
                               nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    inplanes = width
    for stage, stride in enumerate((1, 2, 2, 2)):
        planes = width * 2 ** stage
        layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride),
                                    BasicBlock(planes, planes)))
        inplanes = planes
    layers.append(nn.AdaptiveAvgPool2d(1))
    features = nn.Sequential(*layers)
    for module in list(features.modules())[1:]:
        if isinstance(module, nn.Conv2d) and module is not layers[0]:
            # torchvision's init; the replaced stem conv keeps PyTorch's default init
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return features


class SiameseNetwork(nn.Module):
    """Shared feature extractor, concatenated features, MLP head, sigmoid similarity."""

    def __init__(self) -> None:
        super().__init__()
        self.resnet = resnet18_features(WIDTH)
        self.fc_in_features = WIDTH * 8
        self.fc = nn.Sequential(nn.Linear(self.fc_in_features * 2, 256), nn.ReLU(inplace=True),
                                nn.Linear(256, 1))
        self.sigmoid = nn.Sigmoid()
        self.fc.apply(self.init_weights)

    @staticmethod
    def init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            module.bias.data.fill_(0.01)

    def forward_once(self, x: torch.Tensor) -> torch.Tensor:
        return self.resnet(x).flatten(1)

    def forward(self, input1: torch.Tensor, input2: torch.Tensor) -> torch.Tensor:
        output = torch.cat((self.forward_once(input1), self.forward_once(input2)), 1)
        return self.sigmoid(self.fc(output))


def make_pairs(images: torch.Tensor, labels: torch.Tensor, count: int, seed: int):
    """APP_MATCHER's pairs: even index = two different images of one class (1), odd = two
    classes (0); the first image's class is uniform over the ten digits."""
    gen = torch.Generator().manual_seed(seed)
    by_class = [torch.nonzero(labels == c).flatten() for c in range(10)]

    def pick(c: int, avoid: int = -1) -> int:
        while True:
            idx = int(by_class[c][torch.randint(len(by_class[c]), (1,), generator=gen)])
            if idx != avoid:
                return idx

    first, second, targets = [], [], []
    for index in range(count):
        c = int(torch.randint(10, (1,), generator=gen))
        i = pick(c)
        if index % 2 == 0:
            j, target = pick(c, avoid=i), 1.0
        else:
            other = int(torch.randint(9, (1,), generator=gen))
            j, target = pick(other if other < c else other + 1), 0.0
        first.append(i)
        second.append(j)
        targets.append(target)
    return TensorDataset(images[first], images[second], torch.tensor(targets))


def digits_pairs(seed: int = 0):
    """(train, val) pair datasets of digits upsampled to 1x28x28 with 0..255 pixel values."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    x = torch.tensor(x[order], dtype=torch.float32).reshape(-1, 1, 8, 8) * (255.0 / 16.0)
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    y = torch.tensor(y[order])
    n = int(0.75 * len(x))
    return (make_pairs(x[:n], y[:n], n, seed=1),
            make_pairs(x[n:], y[n:], len(x) - n, seed=2))


def step(model: SiameseNetwork, batch):
    images_1, images_2, targets = batch
    return model(images_1, images_2).squeeze(), targets


def setup() -> dict:
    torch.manual_seed(1)
    train, val = digits_pairs()
    model = SiameseNetwork()
    train_loader = DataLoader(train, batch_size=BATCH_SIZE)
    return {
        "model": model,
        "train_data": train_loader,
        "val_data": DataLoader(val, batch_size=1000),
        "loss_fn": nn.BCELoss(),
        "optimizer": torch.optim.Adadelta(model.parameters(), lr=1.0),
        "scheduler": lambda opt: torch.optim.lr_scheduler.StepLR(
            opt, step_size=MNIST_STEPS_PER_EPOCH, gamma=0.7),
        "step": step,
        "task": "binary",
    }
