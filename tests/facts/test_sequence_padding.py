"""Padding and end-marker ids of sequence targets are structure, not classes (issue 9: seq2seq
targets dominated by an unmasked padding token read as class imbalance)."""

from __future__ import annotations

import numpy as np

from advisor.facts.labels import judge_classes
from advisor.facts.records import DataRecord
from advisor.facts.sequence import sequence_grid, structural_tokens
from advisor.facts.task import infer_task

PAD, EOS = 0, 1


def _padded(n: int = 64, length: int = 10, vocab: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = np.full((n, length), PAD, dtype=np.int64)
    for i in range(n):
        words = rng.integers(2, vocab, size=int(rng.integers(2, length - 2)))
        grid[i, :len(words) + 1] = np.append(words, EOS)
    return grid


def test_padding_and_end_marker_are_found_in_either_layout():
    grid = _padded()
    assert structural_tokens(grid) == {PAD, EOS}
    assert structural_tokens(grid.T) == set()  # time-major: the scan tries the transpose too
    assert structural_tokens(sequence_grid(grid.reshape(-1), grid.shape)) == {PAD, EOS}


def test_ordinary_tokens_are_not_padding():
    rng = np.random.default_rng(3)
    text = rng.integers(0, 30, size=(64, 12))
    assert structural_tokens(text) == set()


def test_class_counts_leave_the_padding_out():
    grid = _padded()
    flat = grid.reshape(-1)
    task = infer_task("multiclass", "nll", (len(flat), 30), flat)
    before = judge_classes(DataRecord(targets=[flat], complete=True, samples=64), flat, task)
    after = judge_classes(DataRecord(targets=[flat], complete=True, samples=64,
                                     structural_tokens=[PAD, EOS]), flat, task)
    assert before.facts["data.class_imbalance_ratio"] >= 10
    assert after.facts["data.class_imbalance_ratio"] < 10
