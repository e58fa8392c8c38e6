"""A tabular multiclass MLP with BatchNorm after every hidden layer, re-implemented from Akshaj
Verma's "PyTorch [Tabular] — Multiclass Classification" (Towards Data Science, 2020,
https://towardsdatascience.com/pytorch-tabular-multiclass-classification-9f8211a123ab), which
classifies the quality grade of wines (the UCI wine-quality table).

What is kept: MulticlassClassification = Linear(n_features, 512) -> BatchNorm1d -> ReLU ->
Linear(512, 128) -> BatchNorm1d -> ReLU -> Dropout(0.2) -> Linear(128, 64) -> BatchNorm1d ->
ReLU -> Dropout(0.2) -> Linear(64, n_classes); nn.CrossEntropyLoss weighted by inverse class
frequency together with a WeightedRandomSampler over the training rows (both as in the post);
Adam lr 0.0007; batch size 16; stratified train/validation/test split (test 20 % with
random_state 69, then validation 10 % of the rest with random_state 21); the scaler fitted on
the training rows only.

Deliberate differences:
- Data: scikit-learn's bundled wine recognition data set (178 wines, 13 chemical measurements,
  3 cultivars) instead of the downloaded wine-quality CSV (11 measurements, 6 grades).
- Inputs are standardised (StandardScaler); the post min-max scales them to [0, 1].
"""

import numpy as np
import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

CORPUS = {
    "source": "https://towardsdatascience.com/pytorch-tabular-multiclass-classification-9f8211a123ab",
    "path": None,
    "commit": None,
    "family": "tabular",
    "task": "multiclass",
    "notes": "512-128-64 MLP with BatchNorm1d and Dropout(0.2) on standardized sklearn wine; "
             "class-weighted CrossEntropyLoss + WeightedRandomSampler; Adam 7e-4, batch 16",
}


class MulticlassClassification(nn.Module):
    def __init__(self, num_feature: int, num_class: int):
        super().__init__()
        self.layer_1 = nn.Linear(num_feature, 512)
        self.layer_2 = nn.Linear(512, 128)
        self.layer_3 = nn.Linear(128, 64)
        self.layer_out = nn.Linear(64, num_class)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=0.2)
        self.batchnorm1 = nn.BatchNorm1d(512)
        self.batchnorm2 = nn.BatchNorm1d(128)
        self.batchnorm3 = nn.BatchNorm1d(64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.batchnorm1(self.layer_1(x)))
        x = self.dropout(self.relu(self.batchnorm2(self.layer_2(x))))
        x = self.dropout(self.relu(self.batchnorm3(self.layer_3(x))))
        return self.layer_out(x)


def setup():
    torch.manual_seed(69)
    x, y = load_wine(return_X_y=True)
    x_trainval, x_test, y_trainval, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=69)
    x_train, x_val, y_train, y_val = train_test_split(
        x_trainval, y_trainval, test_size=0.1, stratify=y_trainval, random_state=21)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    class_count = np.bincount(y_train)
    class_weights = torch.tensor(1.0 / class_count, dtype=torch.float32)
    sampler = WeightedRandomSampler(class_weights[y_train], num_samples=len(y_train),
                                    replacement=True, generator=torch.Generator().manual_seed(69))
    train = TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train))
    val = TensorDataset(torch.tensor(x_val, dtype=torch.float32), torch.tensor(y_val))
    model = MulticlassClassification(x.shape[1], len(class_count))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=16, sampler=sampler),
        "val_data": DataLoader(val, batch_size=16),
        "loss_fn": nn.CrossEntropyLoss(weight=class_weights),
        "optimizer": torch.optim.Adam(model.parameters(), lr=0.0007),
        "task": "multiclass",
    }
