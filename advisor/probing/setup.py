"""The setup contract: what a user hands to the probe, how it is loaded, and how it is checked.

A setup is named `path/to/file.py[:func]` or `package.module:func` (the function defaults to
`setup`). The function takes no arguments and returns a dict or a `ProbeSetup`. Anything that
cannot be loaded or used becomes one `ProbeSetupError` whose message names the setup, says what is
wrong and what was expected: the CLI prints it and exits 2, never a traceback.

torch is imported inside the functions only, so that importing this module stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError

TASKS = ("regression", "binary", "multiclass", "multilabel")
REQUIRED = ("model", "train_data", "loss_fn")
EXPECTED = ("a dict (or advisor.ProbeSetup) with model (torch.nn.Module), train_data (an "
            "iterable of (inputs, targets) batches, e.g. a DataLoader) and loss_fn; optionally "
            "optimizer, val_data, task, step, train_step, scheduler and scaler")


class ProbeSetupError(AdvisorError):
    """A setup that cannot be loaded or used. `str(exc)` is the whole message for the user."""


@dataclass
class ProbeSetup:
    """Everything the probe needs to train the user's model for a few steps.

    model: the torch.nn.Module to probe (it is never modified: the probe works on copies).
    train_data: any iterable of batches, typically a DataLoader.
    loss_fn: called as loss_fn(outputs, targets); the probe's own step trains with it, and it
        measures the loss at fixed weights (initial loss, validation) even with a train_step.
    optimizer: an optimizer built on model.parameters() (any class, subclasses with their own
        constructor included: it is deep-copied together with the model), or a callable taking
        the parameters and returning one; None means Adam at 3e-4 (the report says so).
    val_data: optional validation batches, same form as train_data.
    task: regression, binary, multiclass or multilabel; inferred when None.
    step: optional callable (model, batch) -> (outputs, targets) for batches that are not pairs.
    train_step: optional callable (model, batch, optimizer) -> loss that does a whole training
        step the way the user's loop does (forward, loss, backward, clipping, optimizer.step()
        with or without a closure); it receives the probe's copies, never the user's objects,
        plus `scheduler=` and `scaler=` keywords when it accepts them.
    scheduler: optional callable (optimizer) -> LR scheduler, built on each copy's optimizer and
        stepped once per training step (unless train_step takes `scheduler=` and steps it).
    scaler: optional callable () -> torch.amp.GradScaler, built fresh for each run.
    """

    model: Any
    train_data: Iterable[Any]
    loss_fn: Callable[..., Any]
    optimizer: Any = None
    val_data: Iterable[Any] | None = None
    task: str | None = None
    step: Callable[..., Any] | None = None
    train_step: Callable[..., Any] | None = None
    scheduler: Callable[..., Any] | None = None
    scaler: Callable[..., Any] | None = None
    name: str = "setup"


_FIELDS = tuple(f.name for f in fields(ProbeSetup) if f.name != "name")


def coerce_setup(obj: Any, name: str = "setup") -> ProbeSetup:
    """Check what a setup function returned (or what `advisor.probe(...)` received) and return
    a validated ProbeSetup. Every problem is reported at once, in one message."""
    if isinstance(obj, ProbeSetup):
        values = {f: getattr(obj, f) for f in _FIELDS}
    elif isinstance(obj, dict):
        values = dict(obj)
    elif all(hasattr(obj, f) for f in REQUIRED):  # a ProbeSetup from another import, a namespace
        values = {f: getattr(obj, f, None) for f in _FIELDS}
    else:
        raise ProbeSetupError(f"{name}: returned {_describe(obj)}; expected {EXPECTED}.")
    problems = _problems(values)
    if problems:
        raise ProbeSetupError(f"{name}: " + "; ".join(problems) + f". Expected {EXPECTED}.")
    values = {k: values.get(k) for k in _FIELDS}
    return ProbeSetup(**values, name=name)


def _problems(values: dict[str, Any]) -> list[str]:
    import torch

    problems = []
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        problems.append("unexpected key(s) " + ", ".join(repr(k) for k in unknown))
    missing = [k for k in REQUIRED if values.get(k) is None]
    if missing:
        problems.append("missing " + ", ".join(repr(k) for k in missing))
    model = values.get("model")
    if model is not None and not isinstance(model, torch.nn.Module):
        problems.append(f"'model' is {_describe(model)}, not a torch.nn.Module")
    for key in ("train_data", "val_data"):
        data = values.get(key)
        if data is None:
            continue
        if isinstance(data, torch.Tensor) or not isinstance(data, Iterable):
            problems.append(f"'{key}' is {_describe(data)}, not an iterable of batches")
        elif (isinstance(data, (tuple, list)) and len(data) == 2
              and all(isinstance(t, torch.Tensor) for t in data)
              and data[0].dim() > 0 and len(data[0]) != 2):
            problems.append(f"'{key}' is a pair of tensors (X, y), not an iterable of batches; "
                            "wrap it: DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)")
    loss_fn = values.get("loss_fn")
    if loss_fn is not None and not callable(loss_fn):
        problems.append(f"'loss_fn' is {_describe(loss_fn)}, not callable")
    optimizer = values.get("optimizer")
    if optimizer is not None and not (isinstance(optimizer, torch.optim.Optimizer)
                                      or callable(optimizer)):
        problems.append(f"'optimizer' is {_describe(optimizer)}: give a torch.optim.Optimizer "
                        "built on the model's parameters, or a callable taking the parameters")
    task = values.get("task")
    if task is not None and task not in TASKS:
        problems.append(f"'task' is {task!r}; use one of {', '.join(TASKS)}")
    step = values.get("step")
    if step is not None and not callable(step):
        problems.append(f"'step' is {_describe(step)}, not a callable (model, batch) -> "
                        "(outputs, targets)")
    problems += _factory_problems(values)
    return problems


def _factory_problems(values: dict[str, Any]) -> list[str]:
    """train_step, scheduler and scaler must be callables; a scheduler or scaler object built
    on the user's own optimizer would be driven by the probe's copies and changed."""
    import torch

    problems = []
    train_step = values.get("train_step")
    if train_step is not None and not callable(train_step):
        problems.append(f"'train_step' is {_describe(train_step)}, not a callable "
                        "(model, batch, optimizer) -> loss")
    scheduler = values.get("scheduler")
    if isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler) or (
            scheduler is not None and not callable(scheduler)):
        problems.append(f"'scheduler' is {_describe(scheduler)}; give a callable that builds "
                        "one on the optimizer it receives, e.g. lambda opt: "
                        "torch.optim.lr_scheduler.StepLR(opt, step_size=30), so that the probe's "
                        "copies never drive your own scheduler")
    scaler = values.get("scaler")
    if isinstance(scaler, torch.amp.GradScaler) or (scaler is not None
                                                   and not callable(scaler)):
        problems.append(f"'scaler' is {_describe(scaler)}; give a callable that builds one, "
                        "e.g. lambda: torch.amp.GradScaler('cuda'), so that the probe never "
                        "changes your own scaler's state")
    return problems


def _describe(obj: Any) -> str:
    if obj is None:
        return "None"
    kind = type(obj)
    return f"a {kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" \
        else f"a {kind.__qualname__}"


# ----------------------------------------------------------------------------------- loading
def parse_spec(spec: str) -> tuple[str, str, bool]:
    """Split `file.py[:func]` or `pkg.module[:func]` into (target, function, is_file)."""
    target, func = spec, "setup"
    head, sep, tail = spec.rpartition(":")
    if sep and tail.isidentifier() and not (len(head) == 1 and head.isalpha()):  # not C:\...
        target, func = head, tail
    # A folder that is no package (no __init__.py) cannot hold a setup: it goes down the file
    # path, where _load_file says it is a folder. A package folder stays an importable module.
    folder = Path(target).is_dir() and not (Path(target) / "__init__.py").is_file()
    is_file = target.endswith(".py") or os.sep in target or "/" in target \
        or Path(target).is_file() or folder
    return target, func, is_file


def load_setup(spec: str) -> ProbeSetup:
    """Load, call and validate the setup function named by `spec`."""
    target, func_name, is_file = parse_spec(spec)
    module = _load_file(spec, target) if is_file else _load_module(spec, target)
    func = getattr(module, func_name, None)
    if func is None:
        raise ProbeSetupError(
            f"{spec}: no function '{func_name}' in {target}; define `def {func_name}():` that "
            f"returns {EXPECTED}, or name another function as {target}:FUNC.")
    if not callable(func):
        raise ProbeSetupError(f"{spec}: '{func_name}' is {_describe(func)}, not a function.")
    try:
        result = func()
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:  # issue 8 #10: never end advisor with the user's exit code
        raise ProbeSetupError(f"{spec}: {func_name}() called {_exit_text(exc)}"
                              f"{_where(exc, target if is_file else None)}; a setup function "
                              f"must return the setup, not exit{_argparse_hint(exc)}.") from None
    except BaseException as exc:  # the user's code: one message, no traceback
        raise ProbeSetupError(f"{spec}: {func_name}() raised {_exc_text(exc)}"
                              f"{_where(exc, target if is_file else None)}.") from None
    return coerce_setup(result, spec)


def _load_file(spec: str, target: str) -> Any:
    path = Path(target).expanduser().resolve()
    if path.is_dir():
        raise ProbeSetupError(f"{spec}: {target} is a directory, not a Python file; expected a "
                              "file that defines setup() (e.g. "
                              f"{os.path.join(target, 'my_setup.py')}), file.py:func, or a "
                              "module path such as package.module:setup.")
    if not path.is_file():
        raise ProbeSetupError(f"{spec}: no such file {target}; expected a Python file that "
                              "defines setup(), or a module path such as package.module:setup.")
    folder = str(path.parent)
    if folder not in sys.path:  # as `python file.py` would: sibling imports work
        sys.path.insert(0, folder)
    mod_name = "advisor_setup_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ProbeSetupError(f"{spec}: cannot load {target} as Python source.")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    try:
        module_spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:  # a script run at import: its entry point is not guarded
        sys.modules.pop(mod_name, None)
        raise ProbeSetupError(_exit_at_import(spec, f"running {target}", exc, str(path))) from None
    except BaseException as exc:
        sys.modules.pop(mod_name, None)
        raise ProbeSetupError(f"{spec}: running {target} raised {_exc_text(exc)}"
                              f"{_where(exc, str(path))}.") from None
    return module


def _load_module(spec: str, target: str) -> Any:
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and not (target == missing or target.startswith(missing + ".")):
            # the module was found; something it imports is not installed
            raise ProbeSetupError(f"{spec}: importing '{target}' needs the module '{missing}', "
                                  "which is not installed in this environment; install it, or "
                                  "run advisor from the environment your training uses.") from None
        raise ProbeSetupError(f"{spec}: cannot import module '{target}' ({exc}); expected a "
                              "file path ending in .py or an importable module:function.") from None
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        raise ProbeSetupError(_exit_at_import(spec, f"importing '{target}'", exc, None)) from None
    except BaseException as exc:
        raise ProbeSetupError(f"{spec}: importing '{target}' raised {_exc_text(exc)}"
                              f"{_where(exc, None)}.") from None


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _where(exc: BaseException, path: str | None) -> str:
    """' at FILE:LINE' for the innermost frame in the user's file (or outside advisor)."""
    frames = traceback.extract_tb(exc.__traceback__)
    here = str(Path(__file__).parent.parent)
    chosen = None
    for frame in frames:
        name = str(Path(frame.filename).resolve()) if frame.filename else ""
        if (path and name == str(Path(path).resolve())) or (
                not path and not name.startswith(here) and "importlib" not in name):
            chosen = frame
    return f" at {chosen.filename}:{chosen.lineno}" if chosen else ""


# ------------------------------------------------ the user's code called sys.exit (issue 8 #10)
def _exit_at_import(spec: str, what: str, exc: SystemExit, path: str | None) -> str:
    return (f"{spec}: {what} called {_exit_text(exc)}{_where(exc, path)}; the module "
            "must only define the setup function when imported: put the script's own code "
            "under `if __name__ == \"__main__\":`" + _argparse_hint(exc) + ".")


def _exit_text(exc: SystemExit) -> str:
    """How the user's code ended: sys.exit(3), sys.exit('message'), sys.exit()."""
    return f"sys.exit({exc.code!r})" if exc.code is not None else "sys.exit()"


def _argparse_hint(exc: SystemExit) -> str:
    """argparse exits (code 2) when it rejects sys.argv, which holds advisor's arguments."""
    frames = traceback.extract_tb(exc.__traceback__)
    if any(Path(f.filename).name == "argparse.py" for f in frames):
        return (" (argparse rejected the command line: sys.argv holds advisor's arguments, "
                "not your script's; call parse_args([]) or pass the values in)")
    return ""
