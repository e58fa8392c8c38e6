"""Word2vec skip-gram with negative sampling on sparse embeddings trained by SparseAdam,
re-implemented from Andras7/word2vec-pytorch: `word2vec/model.py` (commit
36b93a503e8b3b5448abbc0e18f2a6bd3e017fc9), `word2vec/data_reader.py` (same commit) and
`word2vec/trainer.py` (commit 815f7bbe7a49ba03035890d2c3f4379a8562a37b).

What is kept: SkipGramModel = two nn.Embedding(vocab, 100, sparse=True) tables, u (centre
words) uniform in [-1/100, 1/100] and v (context words) all ZERO at the start; score =
<u, v> clamped to [-10, 10], negatives' scores <u, v_neg> clamped likewise; loss =
mean over pairs of -logsigmoid(score) - sum over the 5 negatives of logsigmoid(-neg_score);
torch.optim.SparseAdam lr 0.001 with a cosine annealing of the rate over one pass of the data,
stepped per batch and restarted for every pass (the trainer builds a new optimizer and
CosineAnnealingLR(optimizer, len(dataloader)) for each of its iterations); data reading as
DataReader/Word2vecDataset: whitespace tokens, words seen fewer than min_count=12 times
dropped, frequent words subsampled with keep probability sqrt(t/f) + t/f (t = 1e-4), a random
window radius in [1, 4] (np.random.randint(1, window_size=5)) per line, pairs (u, v) with
u != v inside the window, 5 negatives per pair drawn in turn from a shuffled table filled in
proportion to frequency ** 0.5 (this repository's choice; the paper uses 0.75); batches of 32
lines flattened into all their pairs (so a batch holds a varying number of pairs), batches of
at most one pair skipped, no shuffling.

Deliberate differences:
- Data: the source text of eleven stdlib modules (inspect.getsource, never downloaded)
  instead of a user's large text file. One "line" of the original's input file is one
  paragraph here (a block between blank lines, whitespace-joined): source lines are too short
  for a window of 5, and with them and t = 1e-4 subsampling a batch held about 20 pairs and
  the loss barely moved (4.159 -> 4.106 in 200 steps). About 2900 paragraphs, 47k pairs, 700
  words kept by min_count.
- The negative table has 1e6 entries instead of 1e8 (the vocabulary is tiny).
- Subsampling, windows and negatives are drawn once with a fixed seed, so every pass over the
  data sees the same pairs (the original draws them anew while reading each pass).
- The forward's loss is split into the model (returning the clamped scores, positive column
  first, shape (pairs, 1 + 5)) and `sgns_loss(scores, targets)`, whose targets mark the
  positive column; the arithmetic is the original's. A `step` feeds the three index tensors.
- The schedule is CosineAnnealingWarmRestarts(T_0 = batches per pass), stepped after each
  optimizer step, which restarts the rate like the original's new CosineAnnealingLR per pass;
  the original also starts a fresh SparseAdam (moment estimates reset) per pass, which a
  scheduler cannot do, and steps its scheduler before the optimizer.
"""

import argparse
import calendar
import collections
import difflib
import inspect
import logging
import pydoc
import re
import smtplib
import tarfile
import textwrap
import unittest.case
import zipfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn import init

CORPUS = {
    "source": "https://github.com/Andras7/word2vec-pytorch",
    "path": "word2vec/model.py, word2vec/data_reader.py, word2vec/trainer.py",
    "commit": "36b93a503e8b3b5448abbc0e18f2a6bd3e017fc9",
    "family": "embedding",
    "task": "multilabel",
    "notes": "SGNS with two sparse nn.Embedding(V, 100) (context table zero-initialised), "
             "SparseAdam 1e-3 with per-pass cosine restarts, 5 negatives from a freq**0.5 "
             "table, subsampling t=1e-4, min_count 12, 32 lines per batch; paragraphs of 11 "
             "stdlib modules' source as lines; the model returns clamped scores and "
             "sgns_loss does the original's sum",
}

MODULES = (argparse, tarfile, difflib, zipfile, pydoc, smtplib, textwrap, calendar, logging,
           unittest.case, collections)
EMB_DIMENSION, BATCH_LINES, WINDOW_SIZE, N_NEGATIVES = 100, 32, 5, 5
MIN_COUNT, SUBSAMPLE_T, NEGATIVE_TABLE_SIZE, LR = 12, 1e-4, 1_000_000, 0.001


class SkipGramModel(nn.Module):
    """u_embeddings: centre words; v_embeddings: context (and negative) words."""

    def __init__(self, emb_size: int, emb_dimension: int):
        super().__init__()
        self.u_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=True)
        self.v_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=True)
        initrange = 1.0 / emb_dimension
        init.uniform_(self.u_embeddings.weight.data, -initrange, initrange)
        init.constant_(self.v_embeddings.weight.data, 0)

    def forward(self, pos_u: torch.Tensor, pos_v: torch.Tensor,
                neg_v: torch.Tensor) -> torch.Tensor:
        emb_u = self.u_embeddings(pos_u)
        score = torch.clamp(torch.sum(emb_u * self.v_embeddings(pos_v), dim=1), -10, 10)
        neg_score = torch.bmm(self.v_embeddings(neg_v), emb_u.unsqueeze(2)).squeeze(2)
        neg_score = torch.clamp(neg_score, -10, 10)
        return torch.cat([score.unsqueeze(1), neg_score], dim=1)


def sgns_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """-logsigmoid(positive) - sum logsigmoid(-negative), averaged over pairs; targets are 1 on
    the positive column and 0 on the negatives, so the sign is 2 * target - 1."""
    return torch.mean(-torch.sum(F.logsigmoid(scores * (2 * targets - 1)), dim=1))


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    pos_u, pos_v, neg_v = batch
    scores = model(pos_u, pos_v, neg_v)
    targets = torch.zeros_like(scores)
    targets[:, 0] = 1.0
    return scores, targets


def paragraphs(module) -> list[str]:
    """The module's source cut at blank lines, each block joined into one line of text."""
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", inspect.getsource(module))]


def read_words(lines: list[list[str]]) -> tuple[dict[str, int], np.ndarray, int]:
    """word -> id for words seen at least MIN_COUNT times, their counts, all tokens."""
    counts: dict[str, int] = {}
    token_count = 0
    for words in lines:
        for word in words:
            token_count += 1
            counts[word] = counts.get(word, 0) + 1
    word2id: dict[str, int] = {}
    freq = []
    for word, count in counts.items():
        if count >= MIN_COUNT:
            word2id[word] = len(word2id)
            freq.append(count)
    return word2id, np.array(freq, dtype=np.float64), token_count


def skipgram_batches(seed: int = 12345):
    """The batches of one pass: (pos_u, pos_v, neg_v) of all pairs of BATCH_LINES lines."""
    rng = np.random.default_rng(seed)
    lines = [paragraph.split() for module in MODULES for paragraph in paragraphs(module)
             if len(paragraph) > 1 and len(paragraph.split()) > 1]
    word2id, freq, token_count = read_words(lines)
    f = freq / token_count
    discards = np.sqrt(SUBSAMPLE_T / f) + SUBSAMPLE_T / f
    pow_frequency = freq ** 0.5
    count = np.round(pow_frequency / pow_frequency.sum() * NEGATIVE_TABLE_SIZE).astype(int)
    negatives = np.repeat(np.arange(len(freq)), count)
    rng.shuffle(negatives)
    negpos = 0
    batches = []
    for start in range(0, len(lines), BATCH_LINES):
        us, vs, negs = [], [], []
        for words in lines[start:start + BATCH_LINES]:
            ids = [word2id[w] for w in words
                   if w in word2id and rng.random() < discards[word2id[w]]]
            boundary = int(rng.integers(1, WINDOW_SIZE))
            for i, u in enumerate(ids):
                for v in ids[max(i - boundary, 0):i + boundary]:
                    if u == v:
                        continue
                    neg = negatives[negpos:negpos + N_NEGATIVES]
                    negpos = (negpos + N_NEGATIVES) % len(negatives)
                    if len(neg) != N_NEGATIVES:
                        neg = np.concatenate((neg, negatives[:negpos]))
                    us.append(u)
                    vs.append(v)
                    negs.append(neg)
        if len(us) > 1:
            batches.append((torch.tensor(us), torch.tensor(vs),
                            torch.tensor(np.array(negs), dtype=torch.long)))
    return batches, len(word2id)


def setup():
    torch.manual_seed(0)
    batches, vocab_size = skipgram_batches()
    n_train = int(0.9 * len(batches))
    train, valid = batches[:n_train], batches[n_train:]
    model = SkipGramModel(vocab_size, EMB_DIMENSION)
    return {
        "model": model,
        "train_data": train,
        "val_data": valid,
        "loss_fn": sgns_loss,
        "optimizer": torch.optim.SparseAdam(model.parameters(), lr=LR),
        "scheduler": lambda opt: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=len(train)),
        "step": step,
        "task": "multilabel",
    }
