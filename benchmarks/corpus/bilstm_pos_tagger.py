"""A two-layer bidirectional LSTM part-of-speech tagger on padded, sequence-major batches with
CrossEntropyLoss(ignore_index=<pad>), re-implemented from bentrevett/pytorch-pos-tagging,
`1 - BiLSTM for PoS Tagging.ipynb` (commit b535d4545204218bc7b50e34844e79c25a7ed652).

What is kept: BiLSTMPOSTagger = Embedding(vocab, 100, padding_idx=<pad>) -> dropout 0.25 ->
LSTM(100, hidden, num_layers=2, bidirectional=True, dropout=0.25) -> dropout 0.25 ->
Linear(2 * hidden, n_tags), one tag per token; every parameter initialised from normal(0, 0.1), then
the <pad> row of the embedding set to zeros; text and tags as (sentence length, batch)
tensors (torchtext's default, sequence-major), padded with <pad> (text index 1 after <unk> 0;
tag index 0); predictions flattened to (length * batch, n_tags) and tags to (length * batch)
before nn.CrossEntropyLoss(ignore_index=TAG_PAD_IDX); Adam with its default rate (1e-3);
batch 128 from a BucketIterator (sentences of similar length batched together, batches in
random order); words lower-cased, vocabulary min_freq 2 (rarer words become <unk>); 18 UD
tags including <pad>; seed 1234.

Deliberate differences:
- Data: UDPOS (a download) is replaced by synthetic tagged sentences: a small phrase grammar
  (noun phrases with determiners, adjectives and numbers, pronouns and proper nouns, verb
  phrases with auxiliaries, objects, prepositional phrases and adverbs, coordination,
  punctuation) over 17 UD tags, words drawn from per-tag word lists with a Zipf-like
  frequency, and a quarter of the noun, verb and adjective words shared between two of these
  tags, so that a word's tag depends on its context, as in English ("run", "fast"). 2000
  training and 300 validation sentences of 3 to about 30 tokens instead of 12543 and 2002.
- Width: hidden 64 instead of 128 per direction, so that a step takes a few tens of
  milliseconds on one CPU thread (at 128 the probe's 30 s budget ran out after 36 steps on a
  loaded 2-core box); embedding 100, two layers, dropout, batch 128 and the rate are the
  notebook's.
- The GloVe vectors copied into the embedding (a download) are left out: the embedding keeps
  its normal(0, 0.1) initialisation (the notebook also initialises words GloVe lacks randomly).
- The BucketIterator is replaced by a fixed seeded list of batches built the same way (sort by
  length, cut into batches of 128, shuffle the batch order).
- A `step` flattens predictions and tags as the notebook's train loop does.
"""

import numpy as np
import torch
from torch import nn

CORPUS = {
    "source": "https://github.com/bentrevett/pytorch-pos-tagging",
    "path": "1 - BiLSTM for PoS Tagging.ipynb",
    "commit": "b535d4545204218bc7b50e34844e79c25a7ed652",
    "family": "lstm",
    "task": "multiclass",
    "notes": "2-layer BiLSTM tagger (emb 100, hidden 64 not 128, dropout 0.25, N(0, 0.1) init), "
             "sequence-major padded bucketed batches of 128, CrossEntropyLoss(ignore_index="
             "pad) on flattened tokens via step(); Adam default; synthetic grammar sentences "
             "with context-dependent ambiguous words instead of UDPOS; no GloVe",
}

TAGS = ["<pad>", "NOUN", "PUNCT", "VERB", "PRON", "ADP", "DET", "PROPN", "ADJ", "AUX", "ADV",
        "CCONJ", "PART", "NUM", "SCONJ", "X", "INTJ", "SYM"]
TAG_PAD_IDX = 0
TEXT_UNK_IDX, TEXT_PAD_IDX = 0, 1
EMBEDDING_DIM, HIDDEN_DIM, N_LAYERS, DROPOUT, BATCH_SIZE = 100, 64, 2, 0.25, 128
WORDS_PER_TAG = {"NOUN": 120, "VERB": 90, "ADJ": 60, "ADV": 30, "PROPN": 40, "PRON": 8,
                 "DET": 6, "ADP": 12, "AUX": 8, "CCONJ": 3, "PART": 3, "NUM": 15, "SCONJ": 5,
                 "PUNCT": 4, "X": 10, "INTJ": 5, "SYM": 4}
AMBIGUOUS = (("NOUN", "VERB"), ("ADJ", "NOUN"), ("VERB", "ADJ"))


class Lexicon:
    """Per-tag word lists with Zipf-like frequencies; some words belong to two tags."""

    def __init__(self, rng: np.random.Generator):
        self.words = {tag: [f"{tag.lower()}{i}" for i in range(n)]
                      for tag, n in WORDS_PER_TAG.items()}
        for first, second in AMBIGUOUS:  # a quarter of `second`'s words are `first` words
            n = WORDS_PER_TAG[second] // 4
            shared = rng.choice(len(self.words[first]), size=n, replace=False)
            self.words[second][:n] = [self.words[first][i] for i in shared]
        self.rng = rng

    def word(self, tag: str) -> str:
        words = self.words[tag]
        weights = 1.0 / np.arange(1, len(words) + 1)
        return words[self.rng.choice(len(words), p=weights / weights.sum())]


class Grammar:
    """Sentences as lists of (word, tag) from a small phrase grammar."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.lex = Lexicon(rng)

    def w(self, tag: str) -> list[tuple[str, str]]:
        return [(self.lex.word(tag), tag)]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def noun_phrase(self) -> list[tuple[str, str]]:
        kind = self.rng.random()
        if kind < 0.2:
            return self.w("PRON")
        if kind < 0.35:
            return self.w("PROPN") + (self.w("PROPN") if self.chance(0.3) else [])
        out = self.w("NUM") if kind < 0.42 else self.w("DET")
        while self.chance(0.35):
            out += (self.w("ADV") if self.chance(0.15) else []) + self.w("ADJ")
        out += self.w("NOUN")
        if self.chance(0.2):
            out += self.w("ADP") + self.noun_phrase()
        return out

    def verb_phrase(self) -> list[tuple[str, str]]:
        out = self.w("AUX") + (self.w("PART") if self.chance(0.2) else []) \
            if self.chance(0.4) else []
        out += self.w("VERB")
        if self.chance(0.6):
            out += self.noun_phrase()
        if self.chance(0.3):
            out += self.w("ADP") + self.noun_phrase()
        if self.chance(0.25):
            out += self.w("ADV")
        return out

    def clause(self, depth: int = 0) -> list[tuple[str, str]]:
        out = self.noun_phrase() + self.verb_phrase()
        if depth < 1 and self.chance(0.2):
            out += self.w("SCONJ") + self.clause(depth + 1)
        if depth < 1 and self.chance(0.2):
            out += self.w("CCONJ") + self.clause(depth + 1)
        return out

    def sentence(self) -> list[tuple[str, str]]:
        out = self.w("INTJ") + self.w("PUNCT") if self.chance(0.05) else []
        out += self.clause()
        if self.chance(0.05):
            out += self.w("SYM") + self.w("NUM")
        if self.chance(0.03):
            out += self.w("X")
        return out + self.w("PUNCT")


def bucket_batches(sentences, vocab, tag_idx, rng) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """BucketIterator-like: sort by length, batches of 128, shuffled; (len, batch) tensors."""
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    batches = []
    for start in range(0, len(order), BATCH_SIZE):
        chunk = [sentences[i] for i in order[start:start + BATCH_SIZE]]
        length = max(len(s) for s in chunk)
        text = torch.full((length, len(chunk)), TEXT_PAD_IDX, dtype=torch.long)
        tags = torch.full((length, len(chunk)), TAG_PAD_IDX, dtype=torch.long)
        for j, sentence in enumerate(chunk):
            ids = [vocab.get(word, TEXT_UNK_IDX) for word, _ in sentence]
            text[:len(sentence), j] = torch.tensor(ids)
            tags[:len(sentence), j] = torch.tensor([tag_idx[t] for _, t in sentence])
        batches.append((text, tags))
    return [batches[i] for i in rng.permutation(len(batches))]


class BiLSTMPOSTagger(nn.Module):
    def __init__(self, input_dim: int, embedding_dim: int, hidden_dim: int, output_dim: int,
                 n_layers: int, bidirectional: bool, dropout: float, pad_idx: int):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, embedding_dim, padding_idx=pad_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers,
                            bidirectional=bidirectional, dropout=dropout if n_layers > 1 else 0)
        self.fc = nn.Linear(hidden_dim * 2 if bidirectional else hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        embedded = self.dropout(self.embedding(text))  # (len, batch, emb)
        outputs, _ = self.lstm(embedded)  # (len, batch, 2 * hidden)
        return self.fc(self.dropout(outputs))  # (len, batch, n_tags)


def step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """As the notebook's train loop: flatten predictions and tags over length and batch."""
    text, tags = batch
    predictions = model(text)
    return predictions.view(-1, predictions.shape[-1]), tags.view(-1)


def setup():
    torch.manual_seed(1234)
    rng = np.random.default_rng(1234)
    grammar = Grammar(rng)
    train = [grammar.sentence() for _ in range(2000)]
    valid = [grammar.sentence() for _ in range(300)]
    counts: dict[str, int] = {}
    for sentence in train:
        for word, _ in sentence:
            counts[word] = counts.get(word, 0) + 1
    vocab = {"<unk>": TEXT_UNK_IDX, "<pad>": TEXT_PAD_IDX}
    for word, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        if count >= 2:
            vocab[word] = len(vocab)
    tag_idx = {tag: i for i, tag in enumerate(TAGS)}
    model = BiLSTMPOSTagger(len(vocab), EMBEDDING_DIM, HIDDEN_DIM, len(TAGS), N_LAYERS, True,
                            DROPOUT, TEXT_PAD_IDX)
    for param in model.parameters():
        nn.init.normal_(param.data, mean=0, std=0.1)
    model.embedding.weight.data[TEXT_PAD_IDX] = torch.zeros(EMBEDDING_DIM)
    return {
        "model": model,
        "train_data": bucket_batches(train, vocab, tag_idx, rng),
        "val_data": bucket_batches(valid, vocab, tag_idx, rng),
        "loss_fn": nn.CrossEntropyLoss(ignore_index=TAG_PAD_IDX),
        "optimizer": torch.optim.Adam(model.parameters()),
        "step": step,
        "task": "multiclass",
    }
