"""The streaming data scan: read the batches a training loop would receive, in loader order, and
record what they hold as plain numbers (`advisor.facts.records.DataRecord`).

Measuring only: the judgements of these numbers (input scale, labels, order, shift, sample
counts, shuffling) are pure functions in `advisor.facts`, so the same record can come from
another loop and every judgement is testable without torch. The scan keeps a few torch objects
the probe itself needs later (the first batch, a reservoir of batches, the targets as tensors).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader

from advisor.facts.records import DataRecord, FeatureStats
from advisor.facts.sequence import sequence_grid, structural_tokens
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
    structural: set[int] | None = None    # padding / end-marker ids found in every batch so far
    step_targets: torch.Tensor | None = None  # the step's targets, while every batch's agree
    step_targets_fixed: bool = False      # the step built the same targets for every batch

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
            next_token_positions=self.next_token_positions,
            structural_tokens=sorted(self.structural or ()),
            targets_built_by_step=self.step_targets_fixed and self.batches >= 2)


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
        parts = input_tensors(inputs)
    else:
        with torch.no_grad():
            targets = forward(model, batch, step)[1] if model is not None else None
        parts = input_tensors(batch, exclude=targets)
        inputs = parts[0] if parts else first_tensor(batch)
    t = _as_tensor(targets)
    n = samples_in_batch(batch, t) if step is not None else leading_size(targets)
    n = n or 1
    out.batches += 1
    out.samples += n
    if out.batch_size is None:
        out.batch_size = n
    if step is not None and t is not None:
        _step_targets(out, batch, t)
    if t is not None and sum(x.numel() for x in out.targets) < MAX_TARGET_VALUES:
        out.targets.append(t.detach().cpu())
    x = first_tensor(inputs)
    if t is not None:
        _structural_tokens(out, t, x)
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
        _knn_sample(out, sample_rows(x, parts[1:]), t, rng)


def samples_in_batch(batch: Any, targets: torch.Tensor | None) -> int | None:
    """Samples of a batch handed to a `step`: its leading size, or the targets the loss sees
    when they are fewer (a whole graph with a mask of labelled nodes: the loss sees the
    labelled ones) or when the batch is an object with no visible leading size."""
    size = leading_size(batch)
    counted = int(targets.shape[0]) if targets is not None and targets.dim() > 0 else None
    if size is None or (counted is not None and counted < size):
        return counted
    return size


def _step_targets(out: DataScan, batch: Any, t: torch.Tensor) -> None:
    """Whether a step builds its targets itself, the same for every batch (the positions of
    the positives of a contrastive loss: all 0, or arange): such targets are no labels of the
    data. Targets that are a member of the batch are read from the data."""
    found: list[torch.Tensor] = []
    _collect(batch, found)
    if any(_same_values(member, t) for member in found):
        out.step_targets_fixed, out.step_targets = False, None
        return
    if out.batches == 1:
        out.step_targets, out.step_targets_fixed = t.detach().cpu().clone(), True
    elif out.step_targets_fixed:
        previous = out.step_targets
        out.step_targets_fixed = previous is not None and _same_tensor(t.detach().cpu(),
                                                                       previous)


def _structural_tokens(out: DataScan, t: torch.Tensor, x: torch.Tensor | None) -> None:
    """Padding and end-marker ids of sequence targets (advisor.facts.sequence), kept only
    while every batch shows them."""
    if t.is_floating_point() or t.layout != torch.strided:
        return
    shape = tuple(x.shape) if x is not None and x.dim() == 2 \
        and not x.is_floating_point() else None
    grid = sequence_grid(to_numpy(t), shape)
    if grid is None:
        return
    found = structural_tokens(grid) | structural_tokens(grid.T)
    out.structural = found if out.structural is None else out.structural & found


def input_tensors(inputs: Any, exclude: Any = None) -> list[torch.Tensor]:
    """Every input tensor of a batch that holds one row per sample: all members of a tuple,
    list or dict with the first tensor's leading size, the targets excluded.

    A sample of a two-input model (a siamese pair, an image and its question) is all of its
    inputs together: two pairs that share the first image are different samples, and reading
    the first input only would see "one input, two labels"."""
    found: list[torch.Tensor] = []
    _collect(inputs, found)
    if not found:
        return []
    size = found[0].shape[0] if found[0].dim() > 0 else None
    targets = exclude if isinstance(exclude, torch.Tensor) else None
    return [t for t in found if t.dim() > 0 and t.shape[0] == size
            and not _same_tensor(t, targets)]


def _collect(obj: Any, found: list[torch.Tensor]) -> None:
    if isinstance(obj, torch.Tensor):
        found.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, found)


def _same_tensor(t: torch.Tensor, targets: torch.Tensor | None) -> bool:
    """The batch member the step returned as its targets (the same object, or equal values)."""
    if targets is None:
        return False
    if t is targets:
        return True
    if t.shape != targets.shape or t.dtype != targets.dtype or t.layout != torch.strided \
            or targets.layout != torch.strided or t.device != targets.device:
        return False
    return bool(torch.equal(t, targets))


def _same_values(member: torch.Tensor, targets: torch.Tensor) -> bool:
    """A batch member holding the targets' values, whatever its dtype or device (a step that
    returns `y.float()` or `y.to(device)` still reads its targets from the data)."""
    if member is targets:
        return True
    if member.layout != torch.strided or targets.layout != torch.strided \
            or member.numel() != targets.numel() or member.is_complex() or targets.is_complex():
        return False
    return bool(torch.equal(member.detach().reshape(-1).to("cpu", torch.float64),
                            targets.detach().reshape(-1).to("cpu", torch.float64)))


def sample_rows(x: torch.Tensor, more: list[torch.Tensor]) -> torch.Tensor:
    """One flat row per sample holding every input of it: the main input `x` alone, or with
    the other dense inputs of a multi-input batch (`more`) side by side."""
    others = [p for p in more if p.layout == torch.strided and len(p) == len(x)]
    if not others:
        return x
    rows = [x.detach().reshape(len(x), -1).float()]
    rows += [p.detach().reshape(len(p), -1).to(rows[0].device, torch.float32) for p in others]
    return torch.cat(rows, 1)


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


@functools.lru_cache(maxsize=8)
def _projection(width: int) -> torch.Tensor:
    """The fixed random projection of `width` input features to KNN_DIMS, drawn once per width
    (drawing it for every batch took two thirds of the data scan on image data)."""
    g = torch.Generator().manual_seed(1234)
    return torch.randn(width, KNN_DIMS, generator=g) / math.sqrt(KNN_DIMS)


def _knn_sample(out: DataScan, x: torch.Tensor, t: torch.Tensor,
                rng: np.random.Generator) -> None:
    """A uniform sample of (input, target) rows over the whole scan (reservoir sampling), and
    a hash of every input to find identical inputs with different labels."""
    flat = x.detach().reshape(len(x), -1).to("cpu", torch.float32)
    # a fixed random projection of wide inputs keeps distances roughly
    flat_p = flat @ _projection(flat.shape[1]) if flat.shape[1] > KNN_DIMS else flat
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
