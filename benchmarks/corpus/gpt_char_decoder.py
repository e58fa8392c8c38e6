"""A decoder-only character language model in the style of nanoGPT, re-implemented from
karpathy/nanoGPT `model.py` and `train.py` (commit 04a1d697ddc57aadb2edbe95816bf86c6b8918b0 of
model.py) with `config/train_shakespeare_char.py` and the README's "baby GPT on a CPU" overrides
(`--block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
--lr_decay_iters=2000 --dropout=0.0`).

What is kept: pre-LayerNorm blocks of causal self-attention (one fused qkv projection, causal
scaled dot-product attention with attention and residual dropout) and a 4x GELU MLP; learned
token and position embeddings; final LayerNorm; lm_head tied to the token embedding; bias=False
in Linear and LayerNorm (train.py's default); N(0, 0.02) init with the residual projections at
0.02/sqrt(2 n_layer); AdamW with weight decay 0.1 on the 2-D weights only (configure_optimizers)
and betas (0.9, 0.99); linear warmup over 100 iterations then cosine decay from 1e-3 to min_lr
1e-4 at lr_decay_iters 2000 (get_lr, here a LambdaLR factory); gradient clipping at norm 1.0;
block_size 64, batch_size 12, dropout 0.0; batches of random windows of the text (get_batch)
with next-character targets; cross-entropy over every position.

Deliberate differences:
- Data: tiny Shakespeare is downloaded by the original; here the characters of the source code of
  the stdlib module `difflib` (inspect.getsource), split 90 % / 10 % as in prepare.py.
- Sizes: n_layer 4 -> 2, n_head 4 -> 2, n_embd 128 -> 64 (the README's CPU model, halved).
- forward returns the logits of every position (nanoGPT also returns the loss when given
  targets); the loss is computed by the training step, as nanoGPT's F.cross_entropy does.
"""

import difflib
import inspect
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

CORPUS = {
    "source": "https://github.com/karpathy/nanoGPT",
    "path": "model.py, train.py, config/train_shakespeare_char.py",
    "commit": "04a1d697ddc57aadb2edbe95816bf86c6b8918b0",
    "family": "transformer",
    "task": "multiclass",
    "notes": "nanoGPT baby-GPT CPU config (halved) as a char LM on the source of difflib; AdamW "
             "wd 0.1 on 2-D weights, warmup+cosine LambdaLR factory, grad clip 1.0 in "
             "train_step, tied lm_head",
}

N_LAYER, N_HEAD, N_EMBD, BLOCK_SIZE, BATCH_SIZE, DROPOUT = 2, 2, 64, 64, 12, 0.0
LEARNING_RATE, MIN_LR, WARMUP_ITERS, LR_DECAY_ITERS = 1e-3, 1e-4, 100, 2000
WEIGHT_DECAY, BETAS, GRAD_CLIP = 0.1, (0.9, 0.99), 1.0


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(N_EMBD, 3 * N_EMBD, bias=False)
        self.c_proj = nn.Linear(N_EMBD, N_EMBD, bias=False)
        self.resid_dropout = nn.Dropout(DROPOUT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(N_EMBD, dim=2)
        q, k, v = (z.view(b, t, N_HEAD, c // N_HEAD).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=DROPOUT if self.training else 0.0)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c)))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(N_EMBD, 4 * N_EMBD, bias=False)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * N_EMBD, N_EMBD, bias=False)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(N_EMBD, bias=False)
        self.attn = CausalSelfAttention()
        self.ln_2 = nn.LayerNorm(N_EMBD, bias=False)
        self.mlp = MLP()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size: int):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, N_EMBD)
        self.wpe = nn.Embedding(BLOCK_SIZE, N_EMBD)
        self.drop = nn.Dropout(DROPOUT)
        self.h = nn.ModuleList(Block() for _ in range(N_LAYER))
        self.ln_f = nn.LayerNorm(N_EMBD, bias=False)
        self.lm_head = nn.Linear(N_EMBD, vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * N_LAYER))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))

    def configure_optimizers(self) -> torch.optim.AdamW:
        """Weight decay on every 2-D tensor (matmuls, embeddings), none on gains."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": WEIGHT_DECAY},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=LEARNING_RATE, betas=BETAS)


def get_lr(it: int) -> float:
    """nanoGPT's schedule: linear warmup, cosine decay to MIN_LR, then MIN_LR."""
    if it < WARMUP_ITERS:
        return LEARNING_RATE * (it + 1) / (WARMUP_ITERS + 1)
    if it > LR_DECAY_ITERS:
        return MIN_LR
    ratio = (it - WARMUP_ITERS) / (LR_DECAY_ITERS - WARMUP_ITERS)
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LEARNING_RATE - MIN_LR)


class CharWindows(Dataset):
    """Window i: characters i..i+BLOCK_SIZE, target the same window shifted by one."""

    def __init__(self, data: torch.Tensor):
        self.data = data

    def __len__(self) -> int:
        return len(self.data) - BLOCK_SIZE

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.data[i:i + BLOCK_SIZE], self.data[i + 1:i + 1 + BLOCK_SIZE]


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = batch
    logits = model(x)
    return logits.view(-1, logits.size(-1)), y.view(-1)


LOSS = nn.CrossEntropyLoss(ignore_index=-1)


def train_step(model: nn.Module, batch, optimizer: torch.optim.Optimizer, scheduler=None):
    logits, targets = step(model, batch)
    loss = LOSS(logits, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if scheduler is not None:
        scheduler.step()
    return loss


def setup():
    torch.manual_seed(1337)
    text = inspect.getsource(difflib)
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train, val = CharWindows(data[:n]), CharWindows(data[n:])
    model = GPT(len(chars))
    generator = torch.Generator().manual_seed(1337)
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=BATCH_SIZE,
                                 sampler=RandomSampler(train, replacement=True,
                                                       num_samples=200 * BATCH_SIZE,
                                                       generator=generator)),
        "val_data": DataLoader(val, batch_size=BATCH_SIZE,
                               sampler=RandomSampler(val, replacement=True,
                                                     num_samples=10 * BATCH_SIZE,
                                                     generator=torch.Generator().manual_seed(1))),
        "loss_fn": LOSS,
        "optimizer": model.configure_optimizers(),
        "scheduler": lambda opt: torch.optim.lr_scheduler.LambdaLR(
            opt, lambda it: get_lr(it) / LEARNING_RATE),
        "step": step,
        "train_step": train_step,
        "task": "multiclass",
    }
