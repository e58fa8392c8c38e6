"""What the probe's data scan records: plain numbers and numpy arrays, no torch.

The scan (`advisor.probing.data_scan`) reads the batches a training loop would receive and
fills a `DataRecord`; the judgements in `advisor.facts.inputs`, `labels`, `order`, `shift` and
`capacity` read only this record. So a record made by hand (a test) or by another loop (the
user's script, later) is judged exactly like the probe's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FeatureStats:
    """Per-feature mean, std, min and max, accumulated batch by batch (shifted sums in float64).

    The shift (the first batch's mean) keeps the sums small, so the variance of features with a
    large offset (raw prices, pixel values 0..255) is not lost to cancellation."""

    shift: np.ndarray | None = None
    n: int = 0
    s1: np.ndarray | None = None
    s2: np.ndarray | None = None
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    def add(self, rows: np.ndarray) -> None:
        """Add observations: rows are observations, columns features."""
        rows = rows.astype(np.float64, copy=False)
        if rows.size == 0:
            return
        if self.shift is None:
            self.shift = rows.mean(0)
            self.s1 = np.zeros(rows.shape[1])
            self.s2 = np.zeros(rows.shape[1])
            self.lo, self.hi = rows.min(0), rows.max(0)
        if rows.shape[1] != len(self.shift):
            return
        d = rows - self.shift
        self.n += len(rows)
        self.s1 += d.sum(0)
        self.s2 += (d * d).sum(0)
        self.lo = np.minimum(self.lo, rows.min(0))
        self.hi = np.maximum(self.hi, rows.max(0))

    @property
    def mean(self) -> np.ndarray:
        return self.shift + self.s1 / max(self.n, 1)

    @property
    def std(self) -> np.ndarray:
        m = self.s1 / max(self.n, 1)
        return np.sqrt(np.maximum(self.s2 / max(self.n, 1) - m * m, 0.0))

    @property
    def constant(self) -> np.ndarray:
        return self.hi == self.lo


@dataclass
class DataRecord:
    """One pass over (part of) a dataset, as numbers.

    `targets` holds each batch's targets in loader order (their order is what the label-order
    statistic reads); `knn_x`/`knn_y` a uniform sample of (projected input, target) rows;
    `input_hashes` maps a hash of each single-label input to the labels seen with it."""

    batches: int = 0
    samples: int = 0
    batch_size: int | None = None
    complete: bool = False                  # the scan read a whole epoch
    dataset_len: int | None = None
    seconds: float = 0.0
    targets: list[np.ndarray] = field(default_factory=list)
    global_targets: np.ndarray | None = None  # the dataset's own label array (partial scans)
    stats: dict[str, FeatureStats] = field(default_factory=dict)  # layout -> stats
    input_ndim: int | None = None
    input_integer: bool = False
    input_nonfinite: bool = False
    knn_x: list[np.ndarray] = field(default_factory=list)
    knn_y: list[np.ndarray] = field(default_factory=list)
    knn_seen: int = 0
    input_hashes: dict[int, set] = field(default_factory=dict)
    sampler: str | None = None              # module.qualname of the loader's index sampler
    sampler_shuffle: bool | None = None     # the sampler's own `shuffle` flag, if it has one
    next_token_matches: int = 0             # token positions whose target is the next input
    next_token_positions: int = 0
    structural_tokens: list[int] = field(default_factory=list)  # padding / end-marker ids
    targets_built_by_step: bool = False     # a step made the same targets for every batch

    def all_targets(self) -> np.ndarray | None:
        """Every target seen, concatenated (per-sample rows flattened); the first batch's when
        the batches do not concatenate."""
        if not self.targets:
            return None
        try:
            return np.concatenate([t.reshape(len(t), -1) if t.ndim > 1 else t.reshape(-1)
                                   for t in self.targets])
        except ValueError:
            return self.targets[0]

    def num_samples(self) -> int:
        """The dataset's length when known, else the samples read (a whole epoch or not)."""
        n = self.dataset_len or (self.samples if self.complete else None) or self.samples
        return int(n)
