"""Loading a corpus program afresh and rewriting the parts of its setup that fault operators touch.

Every operator works on a `Program`: the program's module, loaded anew each time (so that module
globals such as a shared loss object start clean), and the dict its `setup()` returned. Global
patches (a no-op `clip_grad_norm_`) go through `Program.patch` and are undone by
`Program.restore`, so that many mutants can run one after the other in one process.

Data rewriting keeps the user's pipeline recognisable to the probe: a DataLoader over a
TensorDataset is rebuilt as a DataLoader (same batch size, same kind of sampler), a list of
batches stays a list; anything else cannot be rewritten and the operator does not apply.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

SETUP_KEYS = ("model", "train_data", "loss_fn", "optimizer", "val_data", "task", "step",
              "train_step", "scheduler", "scaler")


class NotApplicable(Exception):
    """The operator does not fit this program (e.g. no clipping to remove); says why."""


@dataclass
class Program:
    """A corpus program loaded afresh: its module, its setup dict and undo records."""

    name: str
    path: Path
    module: ModuleType
    setup: dict[str, Any]
    source: str
    _undo: list[tuple[Any, str, Any]] = field(default_factory=list)

    def patch(self, owner: Any, attr: str, value: Any) -> None:
        """Set owner.attr = value, remembering the old value for `restore`."""
        self._undo.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, value)

    def restore(self) -> None:
        """Undo every patch, newest first."""
        while self._undo:
            owner, attr, old = self._undo.pop()
            setattr(owner, attr, old)

    def rebind_global(self, old: Any, new: Any) -> None:
        """Point every module global that is `old` at `new` (a loss object shared between the
        setup dict and the program's own train_step)."""
        for key, value in list(vars(self.module).items()):
            if value is old:
                self.patch(self.module, key, new)


_COUNTER = itertools.count()


def load_program(path: Path) -> Program:
    """Import the program file as a fresh module and call its setup()."""
    name = f"corpus_{path.stem}_{next(_COUNTER)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    raw = module.setup()
    setup = dict(raw) if isinstance(raw, dict) else {k: getattr(raw, k, None) for k in SETUP_KEYS}
    for key in SETUP_KEYS:
        setup.setdefault(key, None)
    return Program(path.stem, path, module, setup, path.read_text())


# ---------------------------------------------------------------- data


def first_batch(data: Any) -> Any:
    return next(iter(data))


def tensor_loader(data: Any) -> DataLoader | None:
    """The DataLoader if `data` is one over a TensorDataset (rewritable row by row), else None."""
    if isinstance(data, DataLoader) and isinstance(data.dataset, TensorDataset):
        return data
    return None


def rebuild_loader(loader: DataLoader, tensors: tuple[torch.Tensor, ...], *,
                   shuffle: bool | None = None, batch_size: int | None = None) -> DataLoader:
    """A DataLoader like `loader` over new tensors: same batch size and sampler kind unless
    told otherwise (a weighted sampler is kept when the row count is unchanged)."""
    dataset = TensorDataset(*tensors)
    sampler = loader.sampler
    same_rows = len(dataset) == len(loader.dataset)
    if shuffle is None and not isinstance(sampler, RandomSampler) and same_rows \
            and type(sampler).__name__ == "WeightedRandomSampler":
        return DataLoader(dataset, batch_size=batch_size or loader.batch_size, sampler=sampler,
                          drop_last=loader.drop_last)
    if shuffle is None:
        shuffle = isinstance(sampler, RandomSampler) or type(sampler).__name__ \
            == "WeightedRandomSampler"
    generator = getattr(sampler, "generator", None)
    return DataLoader(dataset, batch_size=batch_size or loader.batch_size, shuffle=shuffle,
                      drop_last=loader.drop_last and len(dataset) > (batch_size or
                                                                     loader.batch_size),
                      generator=generator if shuffle else None)


def map_pairs(data: Any, fn: Callable[[torch.Tensor, torch.Tensor],
                                      tuple[torch.Tensor, torch.Tensor]]) -> Any:
    """Apply fn(x, y) -> (x, y) to every (inputs, targets) pair of a loader or batch list.
    Raises NotApplicable when the data is not made of such pairs."""
    loader = tensor_loader(data)
    if loader is not None:
        if len(loader.dataset.tensors) != 2:
            raise NotApplicable("the dataset does not hold (inputs, targets) pairs")
        return rebuild_loader(loader, fn(*loader.dataset.tensors))
    if isinstance(data, list) and data and all(_is_pair(b) for b in data):
        return [fn(x, y) for x, y in data]
    raise NotApplicable("the data is neither a DataLoader over a TensorDataset nor a list "
                        "of (inputs, targets) tensor pairs")


def _is_pair(batch: Any) -> bool:
    return (isinstance(batch, (tuple, list)) and len(batch) == 2
            and all(isinstance(t, torch.Tensor) for t in batch))


def train_pairs(program: Program) -> tuple[DataLoader, torch.Tensor, torch.Tensor]:
    """The training loader and its (inputs, targets) tensors, for row-level rewrites."""
    loader = tensor_loader(program.setup["train_data"])
    if loader is None or len(loader.dataset.tensors) != 2:
        raise NotApplicable("training data is not a DataLoader over (inputs, targets)")
    x, y = loader.dataset.tensors
    return loader, x, y


def class_targets(program: Program, y: torch.Tensor) -> torch.Tensor:
    """Integer class labels, one per row; NotApplicable for anything else."""
    if program.setup.get("task") not in ("multiclass", "binary"):
        raise NotApplicable("not a classification program")
    if program.setup.get("step") is not None:
        raise NotApplicable("a custom step decides what the targets are")
    if y.dim() == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dim() != 1:
        raise NotApplicable("targets are not one label per row")
    if y.is_floating_point() and not torch.equal(y, y.round()):
        raise NotApplicable("targets are not class labels")
    return y.long()


# ---------------------------------------------------------------- model and optimizer


def layers(model: nn.Module, kinds: tuple[type, ...]) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, kinds)]


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, new)


def model_output(program: Program) -> Any:
    """The model's output on the first training batch (eval mode, no grad, state restored)."""
    model = program.setup["model"]
    batch = first_batch(program.setup["train_data"])
    state = {k: v.clone() for k, v in model.state_dict().items()}
    was_training = model.training
    hidden = getattr(model, "hidden", None)
    model.eval()
    try:
        with torch.no_grad():
            if program.setup["step"] is None and not (isinstance(batch, (tuple, list))
                                                      and len(batch) == 2):
                raise NotApplicable("cannot call the model on this batch without a step")
            out = forward(program.setup, model, batch)[0]
    finally:
        model.train(was_training)
        model.load_state_dict(state)
        if hasattr(model, "hidden"):
            model.hidden = hidden
    return out


def forward(setup: dict[str, Any], model: Any, batch: Any) -> tuple[Any, Any]:
    """(outputs, targets) as the program's loop computes them: its `step`, or the model on the
    batch's inputs (several inputs unpacked, as the probe calls them)."""
    if setup["step"] is not None:
        return setup["step"](model, batch)
    inputs, targets = batch
    if isinstance(inputs, dict):
        return model(**inputs), targets
    if isinstance(inputs, (tuple, list)):
        return model(*inputs), targets
    return model(inputs), targets


def output_layer(program: Program) -> tuple[str, nn.Linear]:
    """The last nn.Linear whose width is the output's last (or class) dimension."""
    out = model_output(program)
    if not isinstance(out, torch.Tensor):
        raise NotApplicable("the model does not return one tensor")
    widths = {out.shape[-1]} | ({out.shape[1]} if out.dim() > 1 else set())
    candidates = [(n, m) for n, m in layers(program.setup["model"], (nn.Linear,))
                  if m.out_features in widths]
    if not candidates:
        raise NotApplicable("no nn.Linear produces the output")
    return candidates[-1]


def optimizer_of(program: Program) -> torch.optim.Optimizer:
    opt = program.setup["optimizer"]
    if not isinstance(opt, torch.optim.Optimizer):
        raise NotApplicable("the optimizer is not a torch.optim.Optimizer object")
    return opt


def set_hyperparameter(opt: torch.optim.Optimizer, key: str, value: Any) -> None:
    for group in opt.param_groups:
        group[key] = value
    opt.defaults[key] = value
