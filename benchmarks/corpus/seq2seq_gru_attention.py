"""A GRU encoder-decoder with Bahdanau attention trained with teacher forcing, re-implemented from
the PyTorch tutorial "NLP From Scratch: Translation with a Sequence to Sequence Network and
Attention" (https://pytorch.org/tutorials/intermediate/seq2seq_translation_tutorial.html, source
pytorch/tutorials `intermediate_source/seq2seq_translation_tutorial.py`; the stored commit
803c1b1273a47bc53bb6cd5f63eecfb897bbc856 is the older one-pair-at-a-time version, the current
tutorial trains minibatches with additive attention: the version ported here).

What is kept: EncoderRNN (Embedding -> Dropout(0.1) -> GRU, batch-first); AttnDecoderRNN with
BahdanauAttention (Va(tanh(Wa(query) + Ua(keys))), softmax over the encoder positions, context by
bmm) whose GRU reads [embedding; context]; decoding for MAX_LENGTH=10 steps from SOS with teacher
forcing (the target token is the next input) and log_softmax over the output vocabulary;
nn.NLLLoss over every position of the zero-padded targets (the tutorial does not mask padding;
SOS=0 doubles as the padding token, EOS=1); hidden_size 128, batch_size 32, Adam lr 0.001.

Deliberate differences:
- Data: the tutorial downloads English-French pairs; here a synthetic "translation": a source
  sentence of 3 to 8 words from a 40-word vocabulary followed by EOS; its target is the sentence
  reversed with every word mapped through a fixed random dictionary into a 40-word target
  vocabulary, then EOS. 4000 training pairs, 500 validation pairs.
- The tutorial has one Adam optimizer per network; here one Adam over both (the same update,
  Adam being per-parameter) so that the pair is one nn.Module.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/tutorials",
    "path": "intermediate_source/seq2seq_translation_tutorial.py",
    "commit": None,
    "family": "seq2seq",
    "task": "multiclass",
    "notes": "batched seq2seq tutorial (GRU encoder, Bahdanau attention decoder, teacher "
             "forcing, NLLLoss on log_softmax, unmasked zero padding); synthetic reverse-and-map "
             "translation; step() feeds the target to the decoder",
}

SOS_TOKEN, EOS_TOKEN, MAX_LENGTH, HIDDEN_SIZE, N_WORDS = 0, 1, 10, 128, 40


class EncoderRNN(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, dropout_p: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, tokens: torch.Tensor):
        return self.gru(self.dropout(self.embedding(tokens)))


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size: int):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query: torch.Tensor, keys: torch.Tensor):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys))).squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        return torch.bmm(weights, keys), weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size: int, output_size: int, dropout_p: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.full((batch_size, 1), SOS_TOKEN, dtype=torch.long,
                                   device=encoder_outputs.device)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden = self.forward_step(decoder_input, decoder_hidden,
                                                               encoder_outputs)
            decoder_outputs.append(decoder_output)
            if target_tensor is not None:
                decoder_input = target_tensor[:, i].unsqueeze(1)  # teacher forcing
            else:
                decoder_input = decoder_output.topk(1)[1].squeeze(-1).detach()
        return F.log_softmax(torch.cat(decoder_outputs, dim=1), dim=-1), decoder_hidden

    def forward_step(self, tokens, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(tokens))
        context, _ = self.attention(hidden.permute(1, 0, 2), encoder_outputs)
        output, hidden = self.gru(torch.cat((embedded, context), dim=2), hidden)
        return self.out(output), hidden


class Seq2Seq(nn.Module):
    def __init__(self, input_size: int, output_size: int):
        super().__init__()
        self.encoder = EncoderRNN(input_size, HIDDEN_SIZE)
        self.decoder = AttnDecoderRNN(HIDDEN_SIZE, output_size)

    def forward(self, source: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        encoder_outputs, encoder_hidden = self.encoder(source)
        return self.decoder(encoder_outputs, encoder_hidden, target)[0]


def synthetic_pairs(n: int, rng: np.random.Generator, dictionary: np.ndarray):
    """Zero-padded (source, target) index tensors: target = reversed, word-mapped source."""
    source = np.zeros((n, MAX_LENGTH), dtype=np.int64)
    target = np.zeros((n, MAX_LENGTH), dtype=np.int64)
    for i in range(n):
        words = rng.integers(2, N_WORDS + 2, size=int(rng.integers(3, 9)))
        source[i, :len(words) + 1] = np.append(words, EOS_TOKEN)
        target[i, :len(words) + 1] = np.append(dictionary[words[::-1]], EOS_TOKEN)
    return torch.tensor(source), torch.tensor(target)


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    source, target = batch
    log_probs = model(source, target)
    return log_probs.view(-1, log_probs.size(-1)), target.view(-1)


def setup():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    dictionary = np.zeros(N_WORDS + 2, dtype=np.int64)
    dictionary[2:] = rng.permutation(N_WORDS) + 2
    source, target = synthetic_pairs(4500, rng, dictionary)
    model = Seq2Seq(N_WORDS + 2, N_WORDS + 2)
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(source[:4000], target[:4000]), batch_size=32,
                                 shuffle=True, generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(TensorDataset(source[4000:], target[4000:]), batch_size=250),
        "loss_fn": nn.NLLLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=0.001),
        "step": step,
        "task": "multiclass",
    }
