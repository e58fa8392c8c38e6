"""The PyTorch word-level language model example, Transformer variant.

Source: pytorch/examples, word_language_model/model.py (commit
001d493285083b54cacbc1334cb26338bdff2455: TransformerModel, PositionalEncoding) and
word_language_model/main.py (commit cd01f93000a6679e768700dd29e417a1e5fd10e5: training), with
the README's command for this model, `--model Transformer --lr 5` (README.md at commit
cf16e27b7b0a04a1b62971acb014f2adf80c6c56). TransformerModel subclasses nn.Transformer
(d_model=emsize, nhead=2, dim_feedforward=nhid, 2 encoder layers; its decoder attribute is
replaced by Linear(emsize, ntokens)), scales the embedding by sqrt(d_model), adds
sinusoidal positional encodings with dropout 0.2, runs the encoder under a causal
(square-subsequent) mask over sequence-major input (seq, batch) and returns log_softmax;
loss NLL. Training: batches of bptt=35 rows of a 20-column "batchified" stream, no hidden
state, gradients clipped to norm 0.25, parameters updated by hand p -= lr * grad.

Deliberate differences from the original:
- Data: the source code of the stdlib module `argparse` (inspect.getsource; never
  downloaded) instead of Wikitext-2, split on whitespace with '<eos>' after each line; the
  first 90% trains, the last 10% validates (batch 10). Tiny corpus: a long run overfits.
- Width: d_model = emsize = 100 and dim_feedforward = nhid = 100 instead of 200 (the
  original's defaults), to run fast on a CPU; 2 heads, 2 layers, bptt 35, batch 20 kept.
- The hand-written update is given as torch.optim.SGD(lr=5), the same update, so that the
  probe can vary the learning rate; the per-epoch annealing (lr /= 4 when validation stalls)
  is not reproduced.
- nn.Transformer's own (unused) decoder is built by the original's constructor and then
  replaced by the Linear decoder, exactly as in the original; the mask is built per length.
"""

import argparse
import inspect
import math

import torch
import torch.nn.functional as F
from torch import nn

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "word_language_model/model.py",
    "commit": "001d493285083b54cacbc1334cb26338bdff2455",
    "family": "transformer",
    "task": "multiclass",
    "notes": "argparse source text instead of Wikitext-2; width 100 not 200; README lr 5 "
             "for the Transformer; manual p -= lr*grad as SGD(lr=5); clip 0.25; no "
             "per-epoch lr annealing",
}

EMSIZE, NHEAD, NHID, NLAYERS, DROPOUT = 100, 2, 100, 2, 0.2
LR, CLIP, BPTT = 5.0, 0.25, 35
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


class PositionalEncoding(nn.Module):
    """Sinusoidal position codes added to (seq, batch, d_model) embeddings, then dropout."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(1))      # (max_len, 1, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[:x.size(0)])


class TransformerModel(nn.Transformer):
    """A causal Transformer encoder language model built on nn.Transformer, as the original."""

    def __init__(self, ntoken: int, ninp: int, nhead: int, nhid: int, nlayers: int,
                 dropout: float = 0.5) -> None:
        super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                         num_encoder_layers=nlayers)
        self.src_mask: torch.Tensor | None = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)
        initrange = 0.1
        nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    @staticmethod
    def causal_mask(size: int) -> torch.Tensor:
        """0 on and below the diagonal, -inf above: position i sees positions <= i only."""
        return torch.triu(torch.full((size, size), float("-inf")), diagonal=1)

    def forward(self, src: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if self.src_mask is None or self.src_mask.size(0) != len(src):
            self.src_mask = self.causal_mask(len(src)).to(src.device)
        x = self.pos_encoder(self.input_emb(src) * math.sqrt(self.ninp))
        output = self.decoder(self.encoder(x, mask=self.src_mask))
        return F.log_softmax(output, dim=-1).view(-1, output.size(-1))


CRITERION = nn.NLLLoss()


def train_step(model: TransformerModel, batch, optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """One chunk: forward, NLL, backward, clip to 0.25, update."""
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
    model = TransformerModel(len(vocab), EMSIZE, NHEAD, NHID, NLAYERS, DROPOUT)
    return {
        "model": model,
        "train_data": chunks(batchify(ids[:split], TRAIN_BATCH)),
        "val_data": chunks(batchify(ids[split:], EVAL_BATCH)),
        "loss_fn": CRITERION,
        "optimizer": torch.optim.SGD(model.parameters(), lr=LR),
        "train_step": train_step,
        "task": "multiclass",
    }
