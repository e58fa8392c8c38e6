"""Classifying names with a character-level recurrent network, re-implemented from the PyTorch
tutorial "NLP From Scratch: Classifying Names with a Character-Level RNN"
(https://pytorch.org/tutorials/intermediate/char_rnn_classification_tutorial.html, source
pytorch/tutorials `intermediate_source/char_rnn_classification_tutorial.py`; the stored commit
10098032865151e891c6074522207880f0e68fd3 has the older hand-made RNN cell, the current tutorial
uses nn.RNN with minibatches: the version ported here).

What is kept: one-hot letters over the tutorial's alphabet (ascii letters + " .,;'", 57
symbols); a recurrent layer with 128 hidden units read to the end of the name, its last hidden
state through Linear -> LogSoftmax(dim=1); nn.NLLLoss summed over the names of a minibatch of
64 (the tutorial adds the per-name losses: `batch_loss += loss`); SGD lr 0.15; gradient norm
clipped to 3 before each step; 85 % / 15 % train/test split.

Deliberate differences:
- The recurrent layer is nn.GRU instead of nn.RNN (the tutorial's "Exercises" suggest it).
- The tutorial loops over the names of a batch one by one; here a batch is padded and packed
  (pack_padded_sequence), which gives each name the same last hidden state; batch-first
  layout (the tutorial's tensors are time-first, one name at a time).
- Data: the tutorial's 20k surnames in 18 languages are downloaded; here 3000 synthetic names
  from 6 made-up "languages", each a first-order character Markov chain with its own sparse
  transition matrix and its own length range (names are 3-12 letters, capitalised). Which
  language wrote a name is learnable from its letter pairs, but chains overlap, so it is not
  trivial.
"""

import string

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, Dataset, random_split

CORPUS = {
    "source": "https://github.com/pytorch/tutorials",
    "path": "intermediate_source/char_rnn_classification_tutorial.py",
    "commit": None,
    "family": "gru",
    "task": "multiclass",
    "notes": "names tutorial with nn.GRU; synthetic names from 6 per-class character Markov "
             "chains; padded+packed batches of 64; NLLLoss(reduction='sum'), SGD 0.15, clip 3",
}

ALL_LETTERS = string.ascii_letters + " .,;'"
N_LETTERS, N_HIDDEN, N_LANGUAGES = len(ALL_LETTERS), 128, 6


class CharGRU(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, letters: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(letters, lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, hidden = self.rnn(packed)
        return self.softmax(self.h2o(hidden[0]))


def markov_languages(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, int, int]]:
    """Per language: start distribution, transition matrix over a..z, min and max length."""
    languages = []
    for _ in range(N_LANGUAGES):
        start = rng.dirichlet(np.full(26, 0.3))
        trans = rng.dirichlet(np.full(26, 0.15), size=26)
        low = int(rng.integers(3, 7))
        languages.append((start, trans, low, low + int(rng.integers(2, 6))))
    return languages


def sample_name(language, rng: np.random.Generator) -> str:
    start, trans, low, high = language
    letters = [int(rng.choice(26, p=start))]
    for _ in range(int(rng.integers(low, high + 1)) - 1):
        letters.append(int(rng.choice(26, p=trans[letters[-1]])))
    return "".join(string.ascii_lowercase[i] for i in letters).capitalize()


class NamesDataset(Dataset):
    def __init__(self, n: int, seed: int):
        rng = np.random.default_rng(seed)
        languages = markov_languages(rng)
        self.labels = rng.integers(0, N_LANGUAGES, size=n)
        self.names = [sample_name(languages[c], rng) for c in self.labels]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        name = self.names[i]
        one_hot = torch.zeros(len(name), N_LETTERS)
        one_hot[torch.arange(len(name)), [ALL_LETTERS.index(c) for c in name]] = 1.0
        return one_hot, int(self.labels[i])


def collate(items):
    """((letters (B, T, 57) zero-padded, lengths (B,)), labels (B,))."""
    lengths = torch.tensor([len(x) for x, _ in items])
    letters = torch.zeros(len(items), int(lengths.max()), N_LETTERS)
    for j, (x, _) in enumerate(items):
        letters[j, :len(x)] = x
    return (letters, lengths), torch.tensor([y for _, y in items])


LOSS = nn.NLLLoss(reduction="sum")


def train_step(model: nn.Module, batch, optimizer: torch.optim.Optimizer):
    (letters, lengths), labels = batch
    batch_loss = LOSS(model(letters, lengths), labels)
    batch_loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 3)
    optimizer.step()
    optimizer.zero_grad()
    return batch_loss


def setup():
    torch.manual_seed(2024)
    data = NamesDataset(3000, seed=2024)
    train, test = random_split(data, [0.85, 0.15], generator=torch.Generator().manual_seed(2024))
    model = CharGRU(N_LETTERS, N_HIDDEN, N_LANGUAGES)
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=64, shuffle=True, collate_fn=collate,
                                 generator=torch.Generator().manual_seed(2024)),
        "val_data": DataLoader(test, batch_size=256, collate_fn=collate),
        "loss_fn": LOSS,
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.15),
        "train_step": train_step,
        "task": "multiclass",
    }
