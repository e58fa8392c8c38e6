"""A Transformer-encoder text classifier: token + position embeddings, one post-norm Transformer
block, global average pooling over time, Dropout, Dense(20, relu), Dropout, two-way output;
re-implemented in PyTorch from the Keras example "Text classification with Transformer"
(keras-team/keras-io `examples/nlp/text_classification_with_transformer.py`, commit
8bda227c08adf855a8b9ec579840e2a7171fff60), which classifies IMDB reviews.

What is kept: embed_dim 32, 2 heads with key_dim = embed_dim (so each head is 32 wide and the
attention projects to 64 and back, as Keras' MultiHeadAttention does), ff_dim 32, LayerNorm
eps 1e-6, dropout 0.1 everywhere, front-padding with token 0 and truncation to maxlen without an
attention mask (pad_sequences' defaults; padded positions are averaged too), Keras initialisers
(Glorot-uniform dense kernels, zero biases, U(-0.05, 0.05) embeddings), Adam lr 1e-3 eps 1e-7
(Keras' defaults), batch size 32.

Deliberate differences:
- Data: IMDB is downloaded by the original; here synthetic "reviews" with learnable structure:
  a Zipf-distributed 1000-word vocabulary in which 40 words lean positive and 40 lean negative;
  a review of 20 to 100 words draws 12 % of its words from the sentiment words, 75 % of those
  from its label's side. The label is the review's sentiment, so the model has to weigh counts
  of the polar words against each other. vocab_size 20000 -> 1000, maxlen 200 -> 64, 25000
  reviews -> 4000 train + 1000 validation.
- The output is two logits with nn.CrossEntropyLoss instead of Dense(2, softmax) with
  sparse_categorical_crossentropy (the same loss, computed stably).
"""

import math

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/keras-team/keras-io",
    "path": "examples/nlp/text_classification_with_transformer.py",
    "commit": "8bda227c08adf855a8b9ec579840e2a7171fff60",
    "family": "transformer",
    "task": "multiclass",
    "notes": "Keras transformer text classifier ported to PyTorch; synthetic sentiment reviews "
             "(polar-word counts decide the label), front-padded to 64 tokens, 2 output logits",
}

VOCAB, MAXLEN, EMBED, HEADS, FF = 1000, 64, 32, 2, 32


def glorot_dense(n_in: int, n_out: int) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class MultiHeadSelfAttention(nn.Module):
    """Keras MultiHeadAttention(num_heads, key_dim) on (x, x): each head is key_dim wide."""

    def __init__(self, embed_dim: int, num_heads: int, key_dim: int):
        super().__init__()
        self.num_heads, self.key_dim = num_heads, key_dim
        self.query = glorot_dense(embed_dim, num_heads * key_dim)
        self.key = glorot_dense(embed_dim, num_heads * key_dim)
        self.value = glorot_dense(embed_dim, num_heads * key_dim)
        self.output = glorot_dense(num_heads * key_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape

        def heads(proj: nn.Linear) -> torch.Tensor:
            return proj(x).view(b, t, self.num_heads, self.key_dim).transpose(1, 2)

        q, k, v = heads(self.query), heads(self.key), heads(self.value)
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.key_dim), dim=-1)
        return self.output((weights @ v).transpose(1, 2).reshape(b, t, -1))


class TransformerBlock(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int, ff_dim: int, rate: float = 0.1):
        super().__init__()
        self.att = MultiHeadSelfAttention(embed_dim, num_heads, key_dim=embed_dim)
        self.ffn = nn.Sequential(glorot_dense(embed_dim, ff_dim), nn.ReLU(),
                                 glorot_dense(ff_dim, embed_dim))
        self.layernorm1 = nn.LayerNorm(embed_dim, eps=1e-6)
        self.layernorm2 = nn.LayerNorm(embed_dim, eps=1e-6)
        self.dropout1 = nn.Dropout(rate)
        self.dropout2 = nn.Dropout(rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.layernorm1(x + self.dropout1(self.att(x)))
        return self.layernorm2(out1 + self.dropout2(self.ffn(out1)))


class TransformerClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_emb = nn.Embedding(VOCAB, EMBED)
        self.pos_emb = nn.Embedding(MAXLEN, EMBED)
        for emb in (self.token_emb, self.pos_emb):
            nn.init.uniform_(emb.weight, -0.05, 0.05)
        self.block = TransformerBlock(EMBED, HEADS, FF)
        self.head = nn.Sequential(nn.Dropout(0.1), glorot_dense(EMBED, 20), nn.ReLU(),
                                  nn.Dropout(0.1), glorot_dense(20, 2))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.block(self.token_emb(tokens) + self.pos_emb(positions))
        return self.head(x.mean(dim=1))  # GlobalAveragePooling1D


def synthetic_reviews(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Front-padded token ids (n, MAXLEN) and sentiment labels (n,)."""
    words = np.arange(1, VOCAB)
    zipf = 1.0 / words
    zipf /= zipf.sum()
    polar = rng.choice(words, size=80, replace=False)
    positive, negative = polar[:40], polar[40:]
    labels = rng.integers(0, 2, size=n)
    tokens = np.zeros((n, MAXLEN), dtype=np.int64)
    for i, label in enumerate(labels):
        length = int(rng.integers(20, 101))
        review = rng.choice(words, size=length, p=zipf)
        polar_at = rng.random(length) < 0.12
        own, other = (positive, negative) if label == 1 else (negative, positive)
        side = rng.random(length) < 0.75
        review[polar_at & side] = rng.choice(own, size=int((polar_at & side).sum()))
        review[polar_at & ~side] = rng.choice(other, size=int((polar_at & ~side).sum()))
        review = review[-MAXLEN:]  # pad_sequences truncates 'pre'
        tokens[i, MAXLEN - len(review):] = review  # and pads 'pre'
    return torch.tensor(tokens), torch.tensor(labels)


def setup():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = synthetic_reviews(5000, rng)
    model = TransformerClassifier()
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(x[:4000], y[:4000]), batch_size=32, shuffle=True,
                                 generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(TensorDataset(x[4000:], y[4000:]), batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7),
        "task": "multiclass",
    }
