"""The PyTorch text classification tutorial: nn.EmbeddingBag over a flat token tensor with
offsets, batches of (label, text, offsets), SGD at lr 5 with gradient clipping to 0.1.

Source: pytorch/tutorials, `beginner_source/text_sentiment_ngrams_tutorial.py` (commit
5130967035247c8343376ee69f49d6e10d61eaca). TextClassificationModel = nn.EmbeddingBag(vocab,
64, sparse=False) (mode 'mean') -> Linear(64, num_class), embedding and fc weights uniform in
[-0.5, 0.5], fc bias zero; `collate_batch` concatenates the token ids of a batch into one 1-D
tensor and records where each text starts (`offsets`, a cumulative sum), and returns
`(label, text, offsets)`; training: zero_grad, CrossEntropyLoss, backward,
`clip_grad_norm_(model.parameters(), 0.1)`, SGD step at lr 5; batch 64 with shuffling;
vocabulary built over the training texts with '<unk>' as index 0 and default; 95 % / 5 %
random train/validation split of the training set; 4 classes as AG_NEWS.

Deliberate differences:
- Data: AG_NEWS is a download; here a text is one source line of a stdlib module and its label
  says which of four modules (argparse, tarfile, smtplib, logging.handlers) it comes from:
  600 lines with at least three word tokens per module, sampled with a fixed seed (2400 texts,
  balanced, as AG_NEWS is). The modules' identifiers and vocabulary give the class away, as
  topic words do in news.
- Tokenizer: a regular expression in the spirit of torchtext's `basic_english` (lower case,
  words and single punctuation marks) instead of torchtext, which is not installed.
- The scheduler StepLR(step_size=1, gamma=0.1) is stepped by the tutorial only at the end of
  an epoch whose validation accuracy fell below the best one; that depends on whole-epoch
  validation, not on a per-step schedule, so it is left out (over a probe's few epochs the
  tutorial's rate usually stays at 5 as well).
- The batch is a 3-tuple (label, text, offsets), so a `step` tells the probe which are the
  outputs and targets, and a `train_step` does the tutorial's clipped update.
"""

import argparse
import inspect
import logging.handlers
import re
import smtplib
import tarfile

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

CORPUS = {
    "source": "https://github.com/pytorch/tutorials",
    "path": "beginner_source/text_sentiment_ngrams_tutorial.py",
    "commit": "5130967035247c8343376ee69f49d6e10d61eaca",
    "family": "text",
    "task": "multiclass",
    "notes": "EmbeddingBag(mean, 64) + Linear, uniform(-0.5, 0.5) init; (label, text, offsets) "
             "batches of 64 through step/train_step; SGD lr 5, clip_grad_norm_ 0.1; source "
             "lines of 4 stdlib modules labelled by module instead of AG_NEWS; the "
             "accuracy-conditional per-epoch StepLR(gamma 0.1) left out",
}

MODULES = (argparse, tarfile, smtplib, logging.handlers)
LINES_PER_CLASS = 600
EMSIZE, LR, CLIP, BATCH_SIZE = 64, 5.0, 0.1, 64
TOKEN = re.compile(r"[a-z0-9_]+|[^\sa-z0-9_]")


def tokenizer(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def module_lines(seed: int = 0) -> list[tuple[int, str]]:
    """(label, line) pairs: LINES_PER_CLASS source lines of each module, three words or more."""
    rng = np.random.default_rng(seed)
    texts = []
    for label, module in enumerate(MODULES):
        lines = [line.strip() for line in inspect.getsource(module).splitlines()
                 if len(re.findall(r"[a-z0-9_]+", line.lower())) >= 3]
        for i in rng.choice(len(lines), size=LINES_PER_CLASS, replace=False):
            texts.append((label, lines[i]))
    rng.shuffle(texts)
    return texts


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int, num_class: int):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embedding(text, offsets))


class Collate:
    """The tutorial's collate_batch: labels, the concatenated token ids and the offsets."""

    def __init__(self, vocab: dict[str, int]):
        self.vocab = vocab

    def __call__(self, batch):
        label_list, text_list, offsets = [], [], [0]
        for label, text in batch:
            label_list.append(label)
            ids = torch.tensor([self.vocab.get(t, 0) for t in tokenizer(text)], dtype=torch.int64)
            text_list.append(ids)
            offsets.append(ids.size(0))
        return (torch.tensor(label_list, dtype=torch.int64),
                torch.cat(text_list),
                torch.tensor(offsets[:-1]).cumsum(dim=0))


CRITERION = nn.CrossEntropyLoss()


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    label, text, offsets = batch
    return model(text, offsets), label


def train_step(model: nn.Module, batch, optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """One tutorial step: forward, cross entropy, backward, clip to 0.1, SGD update."""
    label, text, offsets = batch
    optimizer.zero_grad()
    loss = CRITERION(model(text, offsets), label)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    optimizer.step()
    return loss


def setup():
    torch.manual_seed(0)
    texts = module_lines()
    vocab = {"<unk>": 0}
    for _, text in texts:
        for token in tokenizer(text):
            vocab.setdefault(token, len(vocab))
    num_train = int(len(texts) * 0.95)
    collate = Collate(vocab)
    model = TextClassificationModel(len(vocab), EMSIZE, len(MODULES))
    return {
        "model": model,
        "train_data": DataLoader(texts[:num_train], batch_size=BATCH_SIZE, shuffle=True,
                                 collate_fn=collate, generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(texts[num_train:], batch_size=BATCH_SIZE, shuffle=True,
                               collate_fn=collate, generator=torch.Generator().manual_seed(1)),
        "loss_fn": CRITERION,
        "optimizer": torch.optim.SGD(model.parameters(), lr=LR),
        "step": step,
        "train_step": train_step,
        "task": "multiclass",
    }
