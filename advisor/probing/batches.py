"""Batches as the user's training loop sees them: moving, splitting, slicing, and streaming them
over epochs, without assuming more about their structure than the setup contract says."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from advisor.probing.setup import ProbeSetupError


class BatchError(ProbeSetupError):
    """A batch that is not an (inputs, targets) pair and no `step` was given."""


def map_tensors(obj: Any, fn: Callable[[torch.Tensor], Any]) -> Any:
    """`obj` with fn applied to every tensor inside nested tuples (namedtuples too), lists and
    dicts, the containers rebuilt; anything else is returned as it is."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(map_tensors(x, fn) for x in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_tensors(x, fn) for x in obj)
    if isinstance(obj, dict):
        return {k: map_tensors(v, fn) for k, v in obj.items()}
    return obj


def to_device(obj: Any, device: torch.device) -> Any:
    """Move every tensor inside nested tuples, lists and dicts to `device`."""
    return map_tensors(obj, lambda t: t.to(device, non_blocking=True))


# the keys of a dict batch that holds one input and one target, in the order they are tried
INPUT_KEYS = ("inputs", "input", "x", "features")
TARGET_KEYS = ("targets", "target", "labels", "label", "y")


def split_pair(batch: Any) -> tuple[Any, Any]:
    """(inputs, targets) of a batch; anything else needs the setup's `step`."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    if isinstance(batch, dict):
        keys = [k for k in INPUT_KEYS if k in batch]
        tkeys = [k for k in TARGET_KEYS if k in batch]
        if keys and tkeys and len(batch) == 2:
            return batch[keys[0]], batch[tkeys[0]]
    kind = type(batch).__name__
    size = f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""
    raise BatchError(f"a training batch is a {kind}{size}, not an (inputs, targets) pair; give "
                     "the setup a 'step' callable (model, batch) -> (outputs, targets)")


def call_model(model: torch.nn.Module, inputs: Any) -> Any:
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)) and not hasattr(inputs, "_fields"):
        return model(*inputs)
    return model(inputs)


def forward(model: torch.nn.Module, batch: Any, step: Callable[..., Any] | None) -> tuple[Any, Any]:
    """(outputs, targets) for one batch, the way the user's loop computes them."""
    if step is not None:
        result = step(model, batch)
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise BatchError(f"step(model, batch) returned {type(result).__name__}; expected a "
                             "pair (outputs, targets)")
        return result[0], result[1]
    inputs, targets = split_pair(batch)
    return call_model(model, inputs), targets


def first_tensor(obj: Any) -> torch.Tensor | None:
    """The first tensor inside nested containers (a model's main output, the main input)."""
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        for x in obj:
            t = first_tensor(x)
            if t is not None:
                return t
    for attr in ("logits", "last_hidden_state"):  # model-output objects
        t = getattr(obj, attr, None)
        if isinstance(t, torch.Tensor):
            return t
    return None


def leading_size(batch: Any) -> int | None:
    t = first_tensor(batch)
    return int(t.shape[0]) if t is not None and t.dim() > 0 else None


def slice_batch(batch: Any, n: int, size: int | None = None) -> Any:
    """The first n samples: every tensor whose leading dimension is the batch size is cut."""
    size = leading_size(batch) if size is None else size
    if isinstance(batch, torch.Tensor):
        return batch[:n] if batch.dim() > 0 and batch.shape[0] == size else batch
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(slice_batch(x, n, size) for x in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(slice_batch(x, n, size) for x in batch)
    if isinstance(batch, dict):
        return {k: slice_batch(v, n, size) for k, v in batch.items()}
    return batch


def is_one_shot(data: Iterable[Any]) -> bool:
    """A generator or iterator: it can be read only once, so the probe caches what it reads."""
    try:
        return iter(data) is data
    except TypeError:
        return False


class BatchStream:
    """Batches over as many epochs as a phase needs, as the user's loop would see them.

    Re-iterable data (a DataLoader, a list) starts a new epoch when exhausted; a one-shot
    iterator is read once, its batches cached, and the cache replayed.
    """

    def __init__(self, data: Iterable[Any], cache_limit: int = 20000):
        self.data = data
        self.one_shot = is_one_shot(data)
        self.cache: list[Any] = []
        self.cache_limit = cache_limit
        self._exhausted = False

    def epoch(self) -> Iterator[Any]:
        """One pass over the data."""
        if not self.one_shot:
            yield from iter(self.data)
            return
        yield from list(self.cache)
        while not self._exhausted:
            try:
                batch = next(self.data)  # type: ignore[call-overload]
            except StopIteration:
                self._exhausted = True
                break
            if len(self.cache) < self.cache_limit:
                self.cache.append(batch)
            yield batch

    def forever(self) -> Iterator[Any]:
        """Epoch after epoch; stops only if the data is empty."""
        while True:
            empty = True
            for batch in self.epoch():
                empty = False
                yield batch
            if empty:
                return
