"""Transfer learning with a frozen feature extractor ("ConvNet as fixed feature extractor")
from the PyTorch transfer-learning tutorial: a pretrained network with every parameter frozen
(requires_grad = False), its last layer replaced by a new nn.Linear(num_ftrs, 2), and only the
new layer's parameters given to SGD (lr 0.001, momentum 0.9) with StepLR(step_size=7 epochs,
gamma=0.1); cross-entropy; batch size 4; the model stays in train() mode during training.

Source: https://github.com/pytorch/tutorials, `beginner_source/transfer_learning_tutorial.py`
(commit 74ba612b95095bf8f77828989e9cdac609d2bd1b), published as
https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html

Deliberate differences:
- Backbone: an ImageNet ResNet-18 is a download, so the "pretrained" network is a small
  ResNet-style CNN (conv + BatchNorm + ReLU stem, two residual stages, global average pool,
  Linear head) pretrained inside setup() for a few quick Adam steps on task A: classifying
  scikit-learn digits 0-9 on half of the digits data. Then every parameter is frozen and the
  head is replaced, as in the tutorial.
- Target task (the tutorial's ants vs bees, 2 classes): digits below 5 vs 5 and above, on the
  other half of the digits data (8x8 grey images scaled to [0, 1] instead of 224x224 photos).
- StepLR's step_size of 7 epochs is expressed in batches (7 x batches per epoch) because the
  probe steps a scheduler once per training step; the schedule is the same.
- As in the tutorial, the frozen backbone's BatchNorm layers run in training mode, so their
  running statistics keep adapting to the new data (the parameters do not change).
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/tutorials",
    "path": "beginner_source/transfer_learning_tutorial.py",
    "commit": "74ba612b95095bf8f77828989e9cdac609d2bd1b",
    "family": "finetune",
    "task": "multiclass",
    "notes": "Frozen small ResNet-style CNN pretrained in setup() on digits 0-9 (half the data), "
             "new Linear(num_ftrs, 2) head on digit<5 vs >=5 (other half); SGD 0.001/0.9 on the "
             "head only; StepLR 7 epochs in batches; batch 4.",
}

PRETRAIN_STEPS = 60


class Block(nn.Module):
    """A ResNet basic block (two 3x3 conv + BN, identity or 1x1-conv shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class SmallResNet(nn.Module):
    """Stem, two stages, global average pool, `fc` (named like torchvision's ResNet)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def _digits_halves(seed: int = 0):
    """Two disjoint halves of the digits (pretraining, target task), images in [0, 1]."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    images = torch.tensor(x[order] / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    labels = torch.tensor(y[order])
    half = len(x) // 2
    return (images[:half], labels[:half]), (images[half:], labels[half:])


def _pretrain(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
    """Task A: a few quick Adam steps on digit classification (the 'ImageNet' weights)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(1))
    step = 0
    while step < PRETRAIN_STEPS:
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
            step += 1
            if step == PRETRAIN_STEPS:
                break


def setup():
    torch.manual_seed(0)
    (pre_x, pre_y), (x, y) = _digits_halves()
    model_conv = SmallResNet(num_classes=10)
    _pretrain(model_conv, pre_x, pre_y)

    for param in model_conv.parameters():
        param.requires_grad = False
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, 2)  # new module: requires_grad=True by default

    target = (y >= 5).long()
    n_train = int(0.75 * len(x))
    train = TensorDataset(x[:n_train], target[:n_train])
    val = TensorDataset(x[n_train:], target[n_train:])
    loader = DataLoader(train, batch_size=4, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    per_epoch = len(loader)
    return {
        "model": model_conv,
        "train_data": loader,
        "val_data": DataLoader(val, batch_size=4),
        "loss_fn": nn.CrossEntropyLoss(),
        # only the new head is optimised, as in the tutorial
        "optimizer": torch.optim.SGD(model_conv.fc.parameters(), lr=0.001, momentum=0.9),
        "scheduler": lambda opt: torch.optim.lr_scheduler.StepLR(
            opt, step_size=7 * per_epoch, gamma=0.1),
        "task": "multiclass",
    }
