"""What kind of sequence task the data is: a language model's targets are its own inputs
shifted by one step, and their class frequencies are the language's word or character
frequencies (Zipf's law), not an imbalance someone should correct."""

from __future__ import annotations

import numpy as np

from advisor.facts import Judgement
from advisor.facts.records import DataRecord

MIN_POSITIONS = 50     # token positions compared before anything is said
NEXT_TOKEN_SHARE = 0.9  # a language model's targets: the next input token nearly everywhere


def judge_next_token(record: DataRecord) -> Judgement:
    """data.next_token_targets: the targets are the next input tokens (next-token prediction).
    Only for integer token inputs; unknown below MIN_POSITIONS compared positions."""
    j = Judgement()
    if not record.input_integer or record.next_token_positions < MIN_POSITIONS:
        return j
    share = record.next_token_matches / record.next_token_positions
    j.facts["data.next_token_targets"] = share >= NEXT_TOKEN_SHARE
    j.details["next_token_share"] = round(share, 4)
    return j


PADDING_MIN_ROWS = 0.1
"""Share of the sequences a padding token must fill the end of: a token that ends a tenth of
the sequences in runs is padding, not a word that happens to come last."""


def structural_tokens(grid: np.ndarray) -> set[int]:
    """Token ids of a batch of target sequences (rows = sequences) that mark structure, not
    content: a padding id (wherever it occurs, only the same id follows it up to the row's
    end, and it fills the end of at least PADDING_MIN_ROWS of the rows, in runs of two or more
    somewhere) and the end marker just before it (exactly once in every row, as the last token
    before the padding or at the row's end).

    Their frequencies follow the sequence lengths, so they dominate any count of classes; a
    loss that masks padding (ignore_index) already leaves it out, one that does not still
    learns it as a structure, not as a rare-versus-frequent class."""
    g = np.asarray(grid)
    if g.ndim != 2 or g.shape[0] < 2 or g.shape[1] < 3 or g.dtype.kind not in "iu":
        return set()
    last = g[:, -1]
    found: set[int] = set()
    for pad in np.unique(last):
        is_pad = g == pad
        suffix = np.flip(np.cumprod(np.flip(is_pad, 1), 1), 1).astype(bool)  # trailing run
        if (is_pad & ~suffix).any():
            continue  # the id also occurs inside a sequence: a word
        rows = suffix.any(1)
        if rows.mean() < PADDING_MIN_ROWS or not (suffix.sum(1) >= 2).any():
            continue
        found.add(int(pad))
        ends = suffix.sum(1)
        before = np.where(ends < g.shape[1], g[np.arange(len(g)), g.shape[1] - 1 - ends], -1)
        marker = np.unique(before[ends < g.shape[1]])
        if marker.size == 1 and int(marker[0]) != int(pad) \
                and bool(((g == marker[0]).sum(1) == 1).all()):
            found.add(int(marker[0]))
    return found


def sequence_grid(targets: np.ndarray, inputs_shape: tuple[int, ...] | None) -> np.ndarray | None:
    """The targets as rows of sequences: (N, T) integer targets as they are, flattened ones in
    the (N, T) shape of integer token inputs of the same size. None for anything else."""
    t = np.asarray(targets)
    if t.dtype.kind not in "iu":
        return None
    if t.ndim == 2:
        return t
    if t.ndim == 1 and inputs_shape is not None and len(inputs_shape) == 2 \
            and int(np.prod(inputs_shape)) == t.size:
        return t.reshape(inputs_shape)
    return None
