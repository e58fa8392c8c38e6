"""A character-level multi-layer LSTM language model trained with teacher forcing and truncated
backpropagation through time, re-implemented from karpathy/char-rnn `train.lua` (commit
a8c15821c2d0bb5e55f99ce95f95418b2ed4f2a0; Lua Torch) with its `util/CharSplitLMMinibatchLoader`.

What is kept: one-hot characters into a 2-layer LSTM of 128 units, a linear decoder and
log-softmax with the negative log-likelihood of the next character at every step (teacher
forcing: the true previous character is always the input); all parameters initialised
U(-0.08, 0.08) and the forget-gate biases set to 1; the data laid out as the loader does (the
text cut into batch_size contiguous streams, each minibatch the next seq_length characters of
every stream, no shuffling), so the LSTM state at the end of one minibatch is carried into the
next one (truncated BPTT, `init_state_global = rnn_state[#rnn_state]`); the gradient is the sum
over the seq_length time steps of the per-step mean losses (train.lua does not divide by
seq_length) and is clamped element-wise to [-5, 5]; RMSprop lr 2e-3 with alpha (decay_rate)
0.95; the learning rate decays by 0.97 per epoch after epoch 10 (a LambdaLR factory); dropout 0
(the default); train/val split 95 % / 5 %.

Deliberate differences:
- Data: tinyshakespeare is replaced by the characters of the source code of the stdlib module
  `argparse` (inspect.getsource), about 100k characters.
- Sizes: seq_length 50 -> 25 and batch_size 50 -> 25, so that a step costs a quarter.
- torch.optim.RMSprop(lr 2e-3, alpha 0.95, eps 1e-8) stands for Torch7's optim.rmsprop (the same
  update: the gradient over the root of its running mean square plus eps).
- The carried state lives on the model (`model.carried_state`) and is reset when a batch of
  another size arrives; forward() with no state starts from zeros, which is what validation uses
  here (train.lua also carries the state through validation batches).
"""

import argparse
import inspect

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

CORPUS = {
    "source": "https://github.com/karpathy/char-rnn",
    "path": "train.lua, util/CharSplitLMMinibatchLoader.lua",
    "commit": "a8c15821c2d0bb5e55f99ce95f95418b2ed4f2a0",
    "family": "lstm",
    "task": "multiclass",
    "notes": "2x128 LSTM char LM on the source of argparse; contiguous unshuffled streams, LSTM "
             "state carried across batches (truncated BPTT) in train_step, element-wise grad "
             "clamp 5, RMSprop 2e-3 alpha 0.95, per-epoch decay factory",
}

RNN_SIZE, NUM_LAYERS, SEQ_LENGTH, BATCH_SIZE, GRAD_CLIP = 128, 2, 25, 25, 5.0
LEARNING_RATE, LR_DECAY, LR_DECAY_AFTER, DECAY_RATE = 2e-3, 0.97, 10, 0.95


class CharLSTM(nn.Module):
    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.lstm = nn.LSTM(vocab_size, RNN_SIZE, NUM_LAYERS, batch_first=True)
        self.decoder = nn.Linear(RNN_SIZE, vocab_size)
        self.carried_state: tuple[torch.Tensor, torch.Tensor] | None = None
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-0.08, 0.08)
            for layer in range(NUM_LAYERS):  # gates i, f, g, o: f is the second block
                getattr(self.lstm, f"bias_ih_l{layer}")[RNN_SIZE:2 * RNN_SIZE].fill_(1.0)
                getattr(self.lstm, f"bias_hh_l{layer}")[RNN_SIZE:2 * RNN_SIZE].fill_(0.0)

    def forward(self, chars: torch.Tensor, state=None):
        """Log-probabilities of the next character at every position, and the final state."""
        out, state = self.lstm(F.one_hot(chars, self.vocab_size).float(), state)
        return F.log_softmax(self.decoder(out), dim=-1), state


class StreamBatches(Dataset):
    """CharSplitLMMinibatchLoader: minibatch i holds characters i*SEQ..(i+1)*SEQ of each stream."""

    def __init__(self, data: torch.Tensor):
        n = (len(data) - 1) // (BATCH_SIZE * SEQ_LENGTH) * (BATCH_SIZE * SEQ_LENGTH)
        self.x = data[:n].view(BATCH_SIZE, -1).split(SEQ_LENGTH, dim=1)
        self.y = data[1:n + 1].view(BATCH_SIZE, -1).split(SEQ_LENGTH, dim=1)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forced next-character predictions of a batch, from a zero state."""
    x, y = batch
    log_probs, _ = model(x)
    return log_probs.reshape(-1, log_probs.size(-1)), y.reshape(-1)


LOSS = nn.NLLLoss()


def train_step(model: nn.Module, batch, optimizer: torch.optim.Optimizer):
    x, y = batch
    state = model.carried_state
    if state is not None and state[0].shape[1] != x.shape[0]:
        state = None
    log_probs, state = model(x, state)
    model.carried_state = tuple(s.detach() for s in state)  # truncated BPTT
    loss = LOSS(log_probs.reshape(-1, log_probs.size(-1)), y.reshape(-1))
    optimizer.zero_grad()
    (loss * x.shape[1]).backward()  # sum over time steps of the per-step mean loss
    for p in model.parameters():
        if p.grad is not None:
            p.grad.clamp_(-GRAD_CLIP, GRAD_CLIP)
    optimizer.step()
    return loss


def setup():
    torch.manual_seed(123)
    text = inspect.getsource(argparse)
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n_train = int(0.95 * len(data))
    train = StreamBatches(data[:n_train])
    val_text = data[n_train:]
    val_n = (len(val_text) - 1) // SEQ_LENGTH * SEQ_LENGTH
    val_x = val_text[:val_n].view(-1, SEQ_LENGTH)
    val_y = val_text[1:val_n + 1].view(-1, SEQ_LENGTH)
    model = CharLSTM(len(chars))
    epoch_steps = len(train)
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=None, shuffle=False),
        "val_data": [(val_x, val_y)],
        "loss_fn": LOSS,
        "optimizer": torch.optim.RMSprop(model.parameters(), lr=LEARNING_RATE, alpha=DECAY_RATE,
                                         eps=1e-8),
        "scheduler": lambda opt: torch.optim.lr_scheduler.LambdaLR(
            opt, lambda it: LR_DECAY ** max(0, it // epoch_steps - LR_DECAY_AFTER + 1)),
        "step": step,
        "train_step": train_step,
        "task": "multiclass",
    }
