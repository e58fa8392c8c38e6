"""The streaming data scan: read the batches a training loop would receive, in loader order, and
record what they hold as plain numbers (`advisor.facts.records.DataRecord`).

Measuring only: the judgements of these numbers (input scale, labels, order, shift, sample
counts, shuffling) are pure functions in `advisor.facts`, so the same record can come from
another loop and every judgement is testable without torch. The scan keeps a few torch objects
the probe itself needs later (the first batch, a reservoir of batches, the targets as tensors).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader

from advisor.facts.records import DataRecord, FeatureStats
from advisor.probing.batches import BatchStream, first_tensor, forward, leading_size, split_pair

KNN_SAMPLES = 2000
"""Rows kept for the nearest-neighbour label test: its cost grows with the square."""
KNN_DIMS = 512
"""Inputs wider than this are randomly projected to it (distances are roughly kept)."""
MAX_TARGET_VALUES = 400_000
"""Target values kept for the label facts; beyond it the scan stops keeping targets."""

__all__ = ["DataScan", "FeatureStats", "dataset_targets", "feature_rows", "index_sampler",
           "scan", "to_numpy"]


def feature_rows(x: torch.Tensor, layout: str) -> np.ndarray:
    """Rows = observations, columns = features: columns of a table, channels of an image
    ('channel' layout: dim 1), or the last dim of a sequence ('last')."""
    x = x.detach().to("cpu", torch.float64)
    if x.dim() <= 1:
        return x.reshape(-1, 1).numpy()
    if x.dim() == 2:
        return x.numpy()
    dim = 1 if layout == "channel" else x.dim() - 1
    return x.movedim(dim, -1).reshape(-1, x.shape[dim]).numpy()


@dataclass
class DataScan:
    """What one pass over (part of) the data found."""

    batches: int = 0
    samples: int = 0
    batch_size: int | None = None
    complete: bool = False                 # the scan read a whole epoch
    dataset_len: int | None = None
    targets: list[torch.Tensor] = field(default_factory=list)   # per batch, on CPU
    stats: dict[str, FeatureStats] = field(default_factory=dict)  # layout -> stats
    input_ndim: int | None = None
    input_integer: bool = False
    next_token_matches: int = 0     # token positions whose target is the next input token
    next_token_positions: int = 0
    input_nonfinite: bool = False
    knn_x: list[np.ndarray] = field(default_factory=list)
    knn_y: list[np.ndarray] = field(default_factory=list)
    knn_seen: int = 0
    hashes: dict[int, set] = field(default_factory=dict)
    reservoir: list[Any] = field(default_factory=list)
    first_batch: Any = None
    global_targets: torch.Tensor | None = None
    seconds: float = 0.0
    sampler: str | None = None            # module.qualname of the loader's index sampler
    sampler_shuffle: bool | None = None   # its own `shuffle` flag (DistributedSampler)

    def all_targets(self) -> torch.Tensor | None:
        if not self.targets:
            return None
        try:
            return torch.cat([t.reshape(len(t), -1) if t.dim() > 1 else t.reshape(-1)
                              for t in self.targets])
        except RuntimeError:
            return self.targets[0]

    def record(self) -> DataRecord:
        """The scan as plain numbers, for the judgements in advisor.facts."""
        return DataRecord(
            batches=self.batches, samples=self.samples, batch_size=self.batch_size,
            complete=self.complete, dataset_len=self.dataset_len, seconds=self.seconds,
            targets=[to_numpy(t) for t in self.targets],
            global_targets=None if self.global_targets is None else to_numpy(self.global_targets),
            stats=self.stats, input_ndim=self.input_ndim, input_integer=self.input_integer,
            input_nonfinite=self.input_nonfinite, knn_x=self.knn_x, knn_y=self.knn_y,
            knn_seen=self.knn_seen, input_hashes=self.hashes, sampler=self.sampler,
            sampler_shuffle=self.sampler_shuffle, next_token_matches=self.next_token_matches,
            next_token_positions=self.next_token_positions)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor's values as a numpy array on the CPU (dtypes numpy lacks, e.g. bfloat16,
    become float32, the precision torch itself computes them in)."""
    t = t.detach().cpu().resolve_conj().resolve_neg()
    try:
        return t.numpy()
    except TypeError:
        return t.float().numpy()


def index_sampler(data: Any) -> tuple[str | None, bool | None]:
    """The class (module.qualname) of the sampler that orders a DataLoader's samples, and its
    own `shuffle` flag if it has one; (None, None) for anything that is not a DataLoader.

    A DataLoader given `batch_sampler=` ignores its `sampler` attribute (a SequentialSampler by
    default): the batch sampler's own sampler decides the order, or the batch sampler itself
    when it is a custom class."""
    if not isinstance(data, DataLoader):
        return None, None
    sampler = data.sampler
    batch_sampler = getattr(data, "batch_sampler", None)
    if type(batch_sampler) is BatchSampler:  # it draws its indices from its own sampler
        sampler = batch_sampler.sampler
    elif batch_sampler is not None:
        sampler = batch_sampler
    cls = type(sampler)
    flag = getattr(sampler, "shuffle", None)
    return f"{cls.__module__}.{cls.__qualname__}", flag if isinstance(flag, bool) else None


def scan(data: Iterable[Any] | BatchStream, *, step: Callable[..., Any] | None = None,
         model: torch.nn.Module | None = None, max_samples: int = 20000,
         max_batches: int = 2000, seconds: float = 5.0, keep: int = 8,
         rng: np.random.Generator | None = None) -> DataScan:
    """Read batches in loader order until an epoch ends or a limit is reached."""
    rng = rng or np.random.default_rng(0)
    stream = data if isinstance(data, BatchStream) else BatchStream(data)
    out = DataScan(dataset_len=_dataset_len(stream.data))
    out.sampler, out.sampler_shuffle = index_sampler(stream.data)
    start = time.perf_counter()
    it = stream.epoch()
    exhausted = False
    while out.batches < max_batches and out.samples < max_samples \
            and time.perf_counter() - start < seconds:
        try:
            batch = next(it)
        except StopIteration:
            exhausted = True
            break
        if out.first_batch is None:
            out.first_batch = batch
        _read_batch(out, batch, step, model, rng)
        _reservoir(out, batch, keep, rng)
    out.complete = exhausted or bool(out.dataset_len and out.samples >= out.dataset_len)
    out.seconds = time.perf_counter() - start
    if not out.complete:
        out.global_targets = dataset_targets(stream.data)
    return out


def _read_batch(out: DataScan, batch: Any, step: Callable[..., Any] | None,
                model: torch.nn.Module | None, rng: np.random.Generator) -> None:
    if step is None:
        inputs, targets = split_pair(batch)
    else:
        inputs = first_tensor(batch)
        with torch.no_grad():
            targets = forward(model, batch, step)[1] if model is not None else None
    n = leading_size(batch) if step is not None else leading_size(targets)
    n = n or 1
    out.batches += 1
    out.samples += n
    if out.batch_size is None:
        out.batch_size = n
    t = _as_tensor(targets)
    if t is not None and sum(x.numel() for x in out.targets) < MAX_TARGET_VALUES:
        out.targets.append(t.detach().cpu())
    x = first_tensor(inputs)
    if x is None:
        return
    out.input_ndim = x.dim()
    if x.layout != torch.strided:  # sparse inputs (a graph's adjacency, bag-of-words counts)
        if x.numel() > MAX_DENSE_VALUES:
            return  # too big to densify for statistics: the input facts stay unknown
        x = x.to_dense()
    if not torch.is_floating_point(x):
        out.input_integer = True
        if t is not None:
            matches, positions = next_token_agreement(x, t)
            out.next_token_matches += matches
            out.next_token_positions += positions
        return
    if not bool(torch.isfinite(x).all()):
        out.input_nonfinite = True
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    layouts = ("channel", "last") if x.dim() == 3 else ("channel",)
    for layout in layouts:
        out.stats.setdefault(layout, FeatureStats()).add(feature_rows(x, layout))
    if t is not None and x.dim() >= 1 and len(x) == len(t):
        _knn_sample(out, x, t, rng)


def next_token_agreement(x: torch.Tensor, t: torch.Tensor) -> tuple[int, int]:
    """(positions whose target equals the next input token, positions compared) for integer
    token inputs of shape (batch, seq) or (seq, batch): a language model's targets are its
    inputs shifted by one step, in either layout (targets may come flattened)."""
    if x.dim() != 2 or x.is_floating_point() or t.is_floating_point() \
            or t.numel() != x.numel() or x.shape[0] < 2 \
            or x.shape[1] < 2:
        return 0, 0
    y = t.reshape(x.shape)
    best = (0, 1)
    for dim in (0, 1):
        ahead = x.narrow(dim, 1, x.shape[dim] - 1)
        now = y.narrow(dim, 0, x.shape[dim] - 1)
        found = (int((ahead == now).sum()), ahead.numel())
        if found[0] * best[1] > best[0] * found[1]:  # the layout that agrees best
            best = found
    return best if best[0] else (0, best[1] if best[1] > 1 else x.numel())


MAX_DENSE_VALUES = 20_000_000  # a sparse batch densified for the input statistics (80 MB)


def _as_tensor(targets: Any) -> torch.Tensor | None:
    if isinstance(targets, torch.Tensor):
        return targets
    try:
        return torch.as_tensor(targets)
    except (TypeError, ValueError, RuntimeError):
        return None


def _knn_sample(out: DataScan, x: torch.Tensor, t: torch.Tensor,
                rng: np.random.Generator) -> None:
    """A uniform sample of (input, target) rows over the whole scan (reservoir sampling), and
    a hash of every input to find identical inputs with different labels."""
    flat = x.detach().reshape(len(x), -1).to("cpu", torch.float32)
    if flat.shape[1] > KNN_DIMS:  # a fixed random projection keeps distances roughly
        g = torch.Generator().manual_seed(1234)
        proj = torch.randn(flat.shape[1], KNN_DIMS, generator=g) / math.sqrt(KNN_DIMS)
        flat_p = flat @ proj
    else:
        flat_p = flat
    xs, ts = flat_p.numpy(), to_numpy(t.reshape(len(t), -1))  # bfloat16 targets too
    if t.dim() <= 1 or t[0].numel() == 1:
        keys = ts.reshape(-1)
        raw = flat.numpy()
        for i in range(len(raw)):
            h = hash(raw[i].tobytes())
            out.hashes.setdefault(h, set()).add(float(keys[i]))
    for i in range(len(xs)):
        out.knn_seen += 1
        if len(out.knn_x) < KNN_SAMPLES:
            out.knn_x.append(xs[i])
            out.knn_y.append(ts[i])
        else:
            j = int(rng.integers(0, out.knn_seen))
            if j < KNN_SAMPLES:
                out.knn_x[j], out.knn_y[j] = xs[i], ts[i]


def _reservoir(out: DataScan, batch: Any, keep: int, rng: np.random.Generator) -> None:
    """A uniform sample of whole batches, for end-of-run losses on the training data."""
    if len(out.reservoir) < keep:
        out.reservoir.append(batch)
        return
    j = int(rng.integers(0, out.batches))
    if j < keep:
        out.reservoir[j] = batch


def _dataset_len(data: Any) -> int | None:
    ds = getattr(data, "dataset", None)
    for obj in (ds, data):
        try:
            if obj is not None and not isinstance(obj, torch.Tensor):
                n = len(obj)  # type: ignore[arg-type]
                if obj is data and getattr(data, "batch_size", None) is None \
                        and not hasattr(data, "dataset"):
                    return None  # a list of batches: its length counts batches
                return int(n)
        except TypeError:
            continue
    return None


def dataset_targets(data: Any) -> torch.Tensor | None:
    """All labels of a DataLoader's dataset when they are stored as an attribute (cheap).

    A partial scan of data sorted by class sees one class only; the dataset's own label array
    gives the true class distribution to compare the batches with."""
    ds = getattr(data, "dataset", None)
    indices = None
    while ds is not None and hasattr(ds, "indices") and hasattr(ds, "dataset"):  # Subset
        idx = torch.as_tensor(list(ds.indices))
        indices = idx if indices is None else idx[indices]
        ds = ds.dataset
    if ds is None:
        return None
    t = None
    if hasattr(ds, "tensors") and len(ds.tensors) >= 2:
        t = ds.tensors[-1]
    else:
        for attr in ("targets", "labels", "y"):
            v = getattr(ds, attr, None)
            if v is not None:
                t = _as_tensor(v)
                break
    if t is None:
        return None
    return t[indices] if indices is not None else t
