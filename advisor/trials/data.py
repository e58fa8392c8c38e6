"""What the data transforms need: rebuilt DataLoaders (reshuffled, another batch size) over the
user's dataset, training statistics read from the cached batches, and batches rebuilt with new
inputs or targets. Nothing here modifies the user's loader, dataset or batches."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.utils.data import (
    DataLoader,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

from advisor.probing.batches import INPUT_KEYS, TARGET_KEYS, BatchError, split_pair
from advisor.trials.arm import TrialNotApplicable

STD_FLOOR = 1e-6
"""A feature whose standard deviation is below this is only centred, not scaled (as
scikit-learn's StandardScaler does): dividing a constant by ~0 would blow up any value that
differs from it at evaluation."""


# --------------------------------------------------------------------------- data loaders
def training_loader(data: Iterable[Any], what: str) -> DataLoader:
    """The user's training DataLoader, when a rebuilt one can stand for it."""
    if not isinstance(data, DataLoader):
        raise TrialNotApplicable(f"the training data is a {type(data).__name__}, not a "
                                 f"DataLoader, so the trial cannot {what}")
    dataset = data.dataset
    if isinstance(dataset, IterableDataset):
        raise TrialNotApplicable(f"the training DataLoader reads an IterableDataset, whose order "
                                 f"and batches the dataset decides, so the trial cannot {what}")
    try:
        len(dataset)  # type: ignore[arg-type]
    except TypeError:
        raise TrialNotApplicable(f"the training dataset ({type(dataset).__name__}) has no "
                                 f"len(), so the trial cannot {what}") from None
    if data.batch_size is None:
        kind = ("its own batch_sampler" if data.batch_sampler is not None
                else "no automatic batching (batch_size=None)")
        raise TrialNotApplicable(f"the training DataLoader uses {kind}, so the trial cannot "
                                 f"{what}")
    return data


def rebuild(loader: DataLoader, seed: int, *, batch_size: int | None = None,
            shuffle: bool = False) -> DataLoader:
    """A new single-process DataLoader over the same dataset, collate_fn and drop_last, its
    order drawn from a generator seeded with `seed` (the same order for seed i in every arm).

    shuffle: a RandomSampler over the whole dataset; else the loader's own sampling (sequential,
    random with its replacement and sample count, or a copy of another sampler, reseeded)."""
    g = torch.Generator().manual_seed(int(seed))
    sampler = RandomSampler(loader.dataset, generator=g) if shuffle \
        else _same_sampling(loader, g)
    return DataLoader(loader.dataset, batch_size=batch_size or loader.batch_size,
                      sampler=sampler, num_workers=0, collate_fn=loader.collate_fn,
                      drop_last=loader.drop_last, generator=g)


def _same_sampling(loader: DataLoader, g: torch.Generator) -> Sampler[Any] | None:
    sampler = loader.sampler
    if isinstance(sampler, SequentialSampler):
        return None
    if isinstance(sampler, RandomSampler):
        return RandomSampler(loader.dataset, replacement=sampler.replacement,
                             num_samples=sampler._num_samples, generator=g)
    own = copy.deepcopy(sampler)  # the user's sampler keeps its state
    if hasattr(own, "generator"):
        own.generator = g
    return own


def sampler_name(loader: DataLoader) -> str:
    return type(loader.sampler).__name__


# --------------------------------------------------------------------------- statistics
def pair(batch: Any, why: str) -> tuple[Any, Any]:
    """(inputs, targets) of a cached batch, or TrialNotApplicable saying why it is needed."""
    try:
        return split_pair(batch)
    except BatchError:
        raise TrialNotApplicable(f"the batches are not (inputs, targets) pairs (the setup's step "
                                 f"reads them), so {why}") from None


def reduce_dims(x: torch.Tensor, layout: str) -> tuple[int, ...]:
    """The dimensions a statistic is taken over: all but the feature dimension.

    1-D: everything (one statistic). 'last': all but the last (features of a table, of each
    position of a sequence). 'channel': all but dimension 1 (channels of an image or signal)."""
    if x.dim() <= 1:
        return tuple(range(x.dim()))
    if layout == "channel":
        return (0, *range(2, x.dim()))
    return tuple(range(x.dim() - 1))


def layout_of(x: torch.Tensor, input_layout: str) -> str:
    """Per channel for images (4-D and more) and for 3-D signals the probe saw enter a Conv1d;
    per feature (the last dimension) otherwise."""
    if x.dim() >= 4 or (x.dim() == 3 and input_layout == "channel"):
        return "channel"
    return "last"


def moments(tensors: list[torch.Tensor], layout: str,
            what: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(mean, std, values per feature) over every cached batch, in float64 (Chan's parallel
    merge, so large means do not eat the variance), shaped to broadcast against a batch."""
    count, mean, m2 = 0, None, None
    first = tensors[0]
    for t in tensors:
        if t.dim() != first.dim():
            raise TrialNotApplicable(f"the {what} change rank between batches "
                                     f"({tuple(first.shape)} and {tuple(t.shape)})")
        x = t.detach().to("cpu", torch.float64)
        dims = reduce_dims(x, layout)
        n = int(x.numel() // max(1, _kept_numel(x, dims)))
        if n == 0:
            continue
        b_mean = x.mean(dim=dims) if dims else x
        b_m2 = ((x - _expand(b_mean, x, dims)) ** 2).sum(dim=dims) if dims else torch.zeros_like(x)
        if mean is None:
            count, mean, m2 = n, b_mean, b_m2
            continue
        if b_mean.shape != mean.shape:
            raise TrialNotApplicable(f"the {what} have a different number of features between "
                                     "batches, so one set of statistics cannot standardise them")
        delta = b_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + b_m2 + delta ** 2 * (count * n / total)
        count = total
    if mean is None or m2 is None or count < 2:
        raise TrialNotApplicable(f"too few training values were read to estimate the {what}' "
                                 "statistics")
    std = (m2 / (count - 1)).sqrt()
    if not (torch.isfinite(mean).all() and torch.isfinite(std).all()):
        raise TrialNotApplicable(f"the training {what} hold NaN or infinite values, so their "
                                 "mean and standard deviation are undefined")
    std = torch.where(std > STD_FLOOR, std, torch.ones_like(std))
    return _shaped(mean, first, layout), _shaped(std, first, layout), count


def _kept_numel(x: torch.Tensor, dims: tuple[int, ...]) -> int:
    kept = 1
    for d in range(x.dim()):
        if d not in dims:
            kept *= x.shape[d]
    return kept


def _expand(stat: torch.Tensor, x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    shape = [1 if d in dims else x.shape[d] for d in range(x.dim())]
    return stat.reshape(shape)


def _shaped(stat: torch.Tensor, like: torch.Tensor, layout: str) -> torch.Tensor:
    """The statistic without the batch dimension, ready to broadcast against a batch."""
    if like.dim() <= 1:
        return stat.reshape(())
    if layout == "channel":
        return stat.reshape(stat.shape[0], *([1] * (like.dim() - 2)))
    return stat.reshape(-1)


def standard_tolerance(count: int) -> tuple[float, float]:
    """How far from 0 and 1 the mean and std of `count` values of standardised data may fall
    by sampling alone (four standard errors, as the largest of many features is judged:
    1/sqrt(n) for the mean, 1/sqrt(2n) for the std), and never closer than 0.05."""
    n = max(count, 1)
    return max(0.05, 4 / n ** 0.5), max(0.05, 4 / (2 * n) ** 0.5)


def nearly_standard(mean: torch.Tensor, std: torch.Tensor, count: int) -> bool:
    """Every feature already has mean ~0 and std ~1 (within the sampling error of the cached
    batches): standardising again would change nothing worth a trial."""
    mean_tol, std_tol = standard_tolerance(count)
    return bool((mean.abs() <= mean_tol).all() and ((std - 1).abs() <= std_tol).all())


def standardiser(mean: torch.Tensor, std: torch.Tensor,
                 inverse: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """x -> (x - mean) / std, or its inverse, in x's dtype and on x's device."""
    mean32, std32 = mean.float(), std.float()

    def fn(x: torch.Tensor) -> torch.Tensor:
        m = mean32.to(x.device, x.dtype)
        s = std32.to(x.device, x.dtype)
        return x * s + m if inverse else (x - m) / s

    return fn


# --------------------------------------------------------------------------- batches
def with_pair(batch: Any, inputs: Any = None, targets: Any = None) -> Any:
    """A new batch like `batch` with its inputs and/or targets replaced (never in place)."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        x = batch[0] if inputs is None else inputs
        y = batch[1] if targets is None else targets
        if isinstance(batch, tuple) and hasattr(batch, "_fields"):
            return type(batch)(x, y)
        return type(batch)((x, y))
    if isinstance(batch, dict):
        out = dict(batch)
        ikey = next(k for k in INPUT_KEYS if k in batch)
        tkey = next(k for k in TARGET_KEYS if k in batch)
        if inputs is not None:
            out[ikey] = inputs
        if targets is not None:
            out[tkey] = targets
        return out
    split_pair(batch)  # raises the probe's own error for anything else
    return batch
