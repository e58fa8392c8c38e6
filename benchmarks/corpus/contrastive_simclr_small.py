"""SimCLR (Chen et al. 2020) as implemented by sthalles/SimCLR: two augmented views of every
image, a ResNet encoder whose final fc is replaced by an MLP projection head
(Linear(dim_mlp, dim_mlp), ReLU, Linear(dim_mlp, out_dim=128)), and the InfoNCE / NT-Xent loss:
L2-normalised features, cosine-similarity matrix of the 2N views with the diagonal removed, the
positive pair's similarity in column 0 and the 2N - 2 negatives after it, divided by the
temperature 0.07, cross-entropy against label 0. Adam lr 3e-4, weight decay 1e-4, batch 256
with drop_last, CosineAnnealingLR(T_max=len(train_loader)) stepped once per epoch after 10
warm-up epochs.

Source: https://github.com/sthalles/SimCLR, `run.py`, `models/resnet_simclr.py` and
`simclr.py` (info_nce_loss and the training loop), commit
0ba2d0dfe65342027d4b00c9bc2bf1f21213a8aa.

Deliberate differences:
- Data: STL-10 / CIFAR-10 are downloads, so the images are scikit-learn's bundled digits
  (8x8 grey, scaled to [0, 1]; 1347 training / 450 validation images). The views come from
  augmentations that suit them: a random shift of up to one pixel in each direction (zero
  fill), a random contrast gain in [0.7, 1.3] and Gaussian pixel noise (sigma 0.1), instead of
  the original's random resized crop, flip, colour jitter, grayscale and blur. They are drawn
  per batch in the DataLoader's collate_fn (the original draws them per image in the dataset).
- Encoder: a small ResNet-style CNN (3x3 conv 16 + BN + ReLU, a basic block at 16 channels, a
  stride-2 basic block to 32 channels, global average pool; dim_mlp = 32) instead of
  torchvision's ResNet-18 (dim_mlp = 512); the projection head and out_dim 128 are kept.
- The epoch-wise cosine schedule is expressed per batch with LambdaLR (the probe steps a
  scheduler once per training step): the factor after s steps is that of CosineAnnealingLR
  after max(0, s // batches_per_epoch - 10) epoch steps, which is what the original's loop
  gives (including its T_max of len(train_loader), a count of batches used as epochs).
- Batch size 128 instead of 256 (so 254 negatives per view instead of 510), to halve the
  probe's time on a CPU.
- No GradScaler: the original's fp16_precision flag is off by default.
- The labels of the digits are not used by the loss (as in the original); a `step` turns a
  batch into (logits, labels) of the InfoNCE classification, so that loss_fn is the original's
  CrossEntropyLoss, and `train_step` is the original's step.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, Dataset

CORPUS = {
    "source": "https://github.com/sthalles/SimCLR",
    "path": "run.py, models/resnet_simclr.py, simclr.py",
    "commit": "0ba2d0dfe65342027d4b00c9bc2bf1f21213a8aa",
    "family": "contrastive",
    "task": "other",
    "notes": "SimCLR: two views, small ResNet-style encoder + MLP projection head (out_dim 128), "
             "InfoNCE with temperature 0.07 via CrossEntropyLoss, Adam 3e-4 wd 1e-4, batch 128 "
             "(original 256) drop_last, epoch-wise cosine after 10 warm-up epochs as a per-batch "
             "LambdaLR; digits with shift/contrast/noise views.",
}

TEMPERATURE = 0.07
N_VIEWS = 2
OUT_DIM = 128
BATCH_SIZE = 128
WARMUP_EPOCHS = 10
CRITERION = nn.CrossEntropyLoss()


class TwoViewDigits(Dataset):
    """Digit images with their labels; the two views are drawn per batch by `two_views`."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


def augment(images: torch.Tensor) -> torch.Tensor:
    """Per image: a random shift of up to one pixel (zero fill), a contrast gain, pixel noise."""
    n, _, h, w = images.shape
    padded = F.pad(images, (1, 1, 1, 1))
    shifts = torch.randint(0, 3, (n, 2))
    out = torch.empty_like(images)
    for dy in range(3):
        for dx in range(3):
            chosen = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[chosen] = padded[chosen, :, dy:dy + h, dx:dx + w]
    gain = 0.7 + 0.6 * torch.rand(n, 1, 1, 1)
    return out * gain + 0.1 * torch.randn_like(out)


def two_views(samples):
    """collate_fn: ([view_1, view_2], labels), the shape of the original's view generator."""
    images = torch.stack([image for image, _ in samples])
    labels = torch.stack([label for _, label in samples])
    return [augment(images) for _ in range(N_VIEWS)], labels


class BasicBlock(nn.Module):
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


class ResNetSimCLR(nn.Module):
    """Encoder + projection head; the head replaces the encoder's fc as in the original."""

    def __init__(self, out_dim: int = OUT_DIM):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        dim_mlp = 32
        self.fc = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), nn.Linear(dim_mlp, out_dim))

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def info_nce_logits(features: torch.Tensor):
    """(logits, labels): for each view, its positive's similarity first, then the negatives."""
    batch_size = features.shape[0] // N_VIEWS
    labels = torch.cat([torch.arange(batch_size) for _ in range(N_VIEWS)], dim=0)
    labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float().to(features.device)
    features = F.normalize(features, dim=1)
    similarity = features @ features.T
    mask = torch.eye(labels.shape[0], dtype=torch.bool, device=features.device)
    labels = labels[~mask].view(labels.shape[0], -1)
    similarity = similarity[~mask].view(similarity.shape[0], -1)
    positives = similarity[labels.bool()].view(labels.shape[0], -1)
    negatives = similarity[~labels.bool()].view(similarity.shape[0], -1)
    logits = torch.cat([positives, negatives], dim=1) / TEMPERATURE
    return logits, torch.zeros(logits.shape[0], dtype=torch.long, device=features.device)


def step(model, batch):
    """Both views through the model in one batch, then the InfoNCE classification."""
    views, _ = batch
    return info_nce_logits(model(torch.cat(views, dim=0)))


def train_step(model, batch, optimizer):
    logits, labels = step(model, batch)
    loss = CRITERION(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def _cosine_after_warmup(batches_per_epoch: int):
    """Per-batch factor equal to the original's per-epoch CosineAnnealingLR after warm-up."""
    def factor(steps: int) -> float:
        epoch_steps = max(0, steps // batches_per_epoch - WARMUP_EPOCHS)
        return 0.5 * (1 + math.cos(math.pi * epoch_steps / batches_per_epoch))
    return factor


def setup():
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    images = torch.tensor(x[order] / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    labels = torch.tensor(y[order])
    n_train = int(0.75 * len(x))
    train = TwoViewDigits(images[:n_train], labels[:n_train])
    val = TwoViewDigits(images[n_train:], labels[n_train:])
    loader = DataLoader(train, batch_size=BATCH_SIZE, shuffle=True, drop_last=True,
                        collate_fn=two_views, generator=torch.Generator().manual_seed(0))
    per_epoch = len(loader)
    model = ResNetSimCLR(OUT_DIM)
    return {
        "model": model,
        "train_data": loader,
        "val_data": DataLoader(val, batch_size=BATCH_SIZE, drop_last=True, collate_fn=two_views),
        "loss_fn": CRITERION,
        "optimizer": torch.optim.Adam(model.parameters(), lr=3e-4, weight_decay=1e-4),
        "scheduler": lambda opt: torch.optim.lr_scheduler.LambdaLR(
            opt, _cosine_after_warmup(per_epoch)),
        "step": step,
        "train_step": train_step,
    }
