"""The PyTorch word-level language model example, LSTM variant: truncated BPTT with clipping.

Source: pytorch/examples, word_language_model/main.py (commit
cd01f93000a6679e768700dd29e417a1e5fd10e5) and word_language_model/model.py (commit
001d493285083b54cacbc1334cb26338bdff2455). RNNModel('LSTM'): Embedding(ntokens, emsize) -
dropout - 2-layer LSTM(emsize, nhid, dropout=0.2) - dropout - Linear(nhid, ntokens) -
log_softmax (loss NLL), uniform(-0.1, 0.1) init of the embedding and the decoder, decoder bias
zero, untied weights. Training: the token stream is "batchified" into 20 columns (sequence-
major tensors of shape (seq, batch)) and cut into chunks of bptt=35 rows; the hidden state is
carried from one chunk to the next and detached ("repackage_hidden") so back-propagation stops
at the chunk border; gradients are clipped to norm 0.25 and the parameters are updated by hand,
p -= lr * grad, with lr=20.

Deliberate differences from the original:
- Data: the source code of the stdlib module `argparse` (inspect.getsource; never
  downloaded) instead of Wikitext-2: split on whitespace, '<eos>' after each line (as the
  original data.Corpus does), vocabulary built over the whole text (about 11.6k tokens,
  2.5k distinct); the first 90% of the stream trains, the last 10% validates (batch 10, as
  the original's eval_batch_size). The corpus is tiny, so a long run overfits it.
- Width: emsize = nhid = 100 instead of 200 (the original's defaults), to run fast on a CPU;
  two layers, bptt 35, batch 20, dropout 0.2, lr 20 and clip 0.25 are the original's.
- The hand-written update `p.data.add_(p.grad, alpha=-lr)` is given as torch.optim.SGD(lr=20)
  without momentum or weight decay, which performs exactly the same update and lets the probe
  vary the learning rate.
- The hidden state lives on the model (`model.hidden`) instead of a local variable of the
  training loop; it is stored detached after each forward (the same cut as repackage_hidden
  before the next one) and re-initialised to zeros when the batch size changes (train and
  validation batches differ, as when the original re-initialises it for evaluation).
- The per-epoch annealing (lr /= 4 when the validation loss does not improve) is not
  reproduced: it depends on whole-epoch validation, not on a per-step schedule.
"""

import argparse
import inspect

import torch
import torch.nn.functional as F
from torch import nn

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "word_language_model/main.py",
    "commit": "cd01f93000a6679e768700dd29e417a1e5fd10e5",
    "family": "lstm",
    "task": "multiclass",
    "notes": "argparse source text instead of Wikitext-2; width 100 not 200; manual "
             "p -= lr*grad update as SGD(lr=20); hidden state carried detached on the "
             "model; clip 0.25; no per-epoch lr annealing",
}

EMSIZE, NHID, NLAYERS, DROPOUT = 100, 100, 2, 0.2
LR, CLIP, BPTT = 20.0, 0.25, 35
TRAIN_BATCH, EVAL_BATCH = 20, 10


def tokenize(text: str) -> tuple[torch.Tensor, dict[str, int]]:
    """Word ids of the text, one '<eos>' after each line, as the original data.Corpus does."""
    vocab: dict[str, int] = {}
    ids = []
    for line in text.splitlines():
        for word in line.split() + ["<eos>"]:
            ids.append(vocab.setdefault(word, len(vocab)))
    return torch.tensor(ids, dtype=torch.long), vocab


def batchify(data: torch.Tensor, bsz: int) -> torch.Tensor:
    """Arrange the stream into bsz columns: shape (len // bsz, bsz), sequence-major."""
    nbatch = data.size(0) // bsz
    return data[:nbatch * bsz].view(bsz, -1).t().contiguous()


def chunks(source: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(input, flattened next-word target) pairs of up to BPTT rows, in stream order."""
    pairs = []
    for i in range(0, source.size(0) - 1, BPTT):
        seq_len = min(BPTT, source.size(0) - 1 - i)
        pairs.append((source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)))
    return pairs


class RNNModel(nn.Module):
    """Embedding, LSTM and decoder; carries its hidden state across calls (truncated BPTT)."""

    def __init__(self, ntoken: int, ninp: int, nhid: int, nlayers: int, dropout: float) -> None:
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid, self.nlayers = nhid, nlayers
        self.hidden: tuple[torch.Tensor, torch.Tensor] | None = None
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def init_hidden(self, bsz: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.hidden is None or self.hidden[0].size(1) != tokens.size(1):
            self.hidden = self.init_hidden(tokens.size(1))
        emb = self.drop(self.encoder(tokens))
        output, hidden = self.rnn(emb, self.hidden)
        # repackage_hidden: the next chunk starts from these values but does not
        # back-propagate into this one.
        self.hidden = tuple(h.detach() for h in hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1)


CRITERION = nn.NLLLoss()


def train_step(model: RNNModel, batch, optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """One chunk: forward from the carried hidden state, clip to 0.25, update."""
    data, targets = batch
    model.zero_grad()
    loss = CRITERION(model(data), targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    optimizer.step()
    return loss


def setup() -> dict:
    torch.manual_seed(1111)
    ids, vocab = tokenize(inspect.getsource(argparse))
    split = int(0.9 * len(ids))
    model = RNNModel(len(vocab), EMSIZE, NHID, NLAYERS, DROPOUT)
    return {
        "model": model,
        "train_data": chunks(batchify(ids[:split], TRAIN_BATCH)),
        "val_data": chunks(batchify(ids[split:], EVAL_BATCH)),
        "loss_fn": CRITERION,
        "optimizer": torch.optim.SGD(model.parameters(), lr=LR),
        "train_step": train_step,
        "task": "multiclass",
    }
