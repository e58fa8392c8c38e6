"""The PyTorch "Training a Classifier" tutorial (60-minute blitz): a LeNet-style CNN with two
5x5 convolutions and three fully connected layers, trained on CIFAR-10 with cross-entropy and
SGD (lr 0.001, momentum 0.9), batch size 4.

Source: https://github.com/pytorch/tutorials, `beginner_source/blitz/cifar10_tutorial.py`
(commit 04e3d04bcf91d38a1213918eba70dc43e9b0ce45), published as
https://pytorch.org/tutorials/beginner/blitz/cifar10_tutorial.html

Kept from the original: the network (conv 3->6 5x5, max-pool 2, conv 6->16 5x5, max-pool 2,
Linear 400->120->84->10 with ReLUs), CrossEntropyLoss, SGD lr 0.001 momentum 0.9, batch size 4,
shuffled training data, inputs normalised to [-1, 1] with mean 0.5 / std 0.5 per channel.

Deliberate differences:
- Data: CIFAR-10 is a download, so the 32x32 colour images are scikit-learn's bundled digits
  (8x8, 10 classes) upsampled bilinearly to 32x32 and tiled to 3 channels with a per-image
  random colour gain and pixel noise (1347 training / 450 validation images instead of
  50 000 / 10 000). The network needs 32x32 inputs (16*5*5 features), so the size is kept.
- The tutorial evaluates accuracy on the test set; here the test images are the validation data.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/tutorials",
    "path": "beginner_source/blitz/cifar10_tutorial.py",
    "commit": "04e3d04bcf91d38a1213918eba70dc43e9b0ce45",
    "family": "cnn",
    "task": "multiclass",
    "notes": "Blitz tutorial Net (2 conv + 3 fc), SGD 0.001 momentum 0.9, batch 4; digits "
             "upsampled to 32x32x3 instead of CIFAR-10.",
}


def _colour_digits(size: int, seed: int = 0):
    """Digits as colour images in [0, 1]: upsampled, three channels with a random gain each."""
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    x, y = x[order] / 16.0, y[order]
    images = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8)
    images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    gains = torch.tensor(rng.uniform(0.6, 1.0, size=(len(x), 3, 1, 1)), dtype=torch.float32)
    noise = torch.tensor(rng.normal(0.0, 0.05, size=(len(x), 3, size, size)), dtype=torch.float32)
    images = (images.repeat(1, 3, 1, 1) * gains + noise).clamp(0.0, 1.0)
    images = (images - 0.5) / 0.5  # transforms.Normalize((0.5,)*3, (0.5,)*3) as in the tutorial
    n_train = int(0.75 * len(x))
    labels = torch.tensor(y)
    return (TensorDataset(images[:n_train], labels[:n_train]),
            TensorDataset(images[n_train:], labels[n_train:]))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def setup():
    torch.manual_seed(0)
    train, val = _colour_digits(32)
    net = Net()
    return {
        "model": net,
        "train_data": DataLoader(train, batch_size=4, shuffle=True,
                                 generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(val, batch_size=4),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9),
        "task": "multiclass",
    }
