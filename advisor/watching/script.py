"""Run a user's script or module as `python SCRIPT args` / `python -m MODULE args` would, under a
`Watch`, and stop it cleanly once the watch has seen enough.

The script keeps its own `sys.argv`, runs as `__main__` with its folder first on `sys.path` (or
the current folder for `-m`), in the current working directory, and prints as it always does.
The watch ends it by raising `WatchStopped` (a BaseException) from one of its hooks, at the next
forward, backward or optimizer step after the last watched one, so the script's last step
completes; the stop is caught here and never shows as a traceback. Whatever else ends the
script (an error, `sys.exit`, Ctrl-C, the budget) is recorded as how it ended, with FILE:LINE
in the user's code, and the report of what was seen is still written.
"""

from __future__ import annotations

import contextlib
import gc
import os
import runpy
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from advisor.probing.errors import user_frame
from advisor.report.probe import ProbeReport
from advisor.watching.observer import WatchStopped
from advisor.watching.options import WatchOptions
from advisor.watching.report import Ending
from advisor.watching.session import Watch
from advisor.watching.target import Target, check_target, split_argv

__all__ = ["ScriptRun", "Target", "check_target", "split_argv", "watch_script"]

NO_GRADIENT = "does not require grad and does not have a grad_fn"
# a budget above this is no cap at all (`advisor.watch()`, `--follow` without --budget)
UNCAPPED = 1e8


@dataclass
class ScriptRun:
    """A finished watch of a script: its report and how the script ended."""

    report: ProbeReport
    ending: Ending
    notes: list[str] = field(default_factory=list)


def watch_script(target: Target, options: WatchOptions,
                 on_start: Callable[[Watch], None] | None = None) -> ScriptRun:
    """Run the script under a watch and build the report of what was seen; `on_start(watch)`
    is called before the script runs (the progress writer follows the watch through it)."""
    target = check_target(target)
    watch = Watch(options=options, name=target.name, stop=True)
    if on_start is not None:
        on_start(watch)
    ending, keep = _run(target, watch)
    watch.ending = ending
    ending.notes.extend(_environment_notes(watch, ending))
    try:
        # torchrun: hand this rank's record over; rank 0 merges every rank's into one report
        from advisor.watching.distributed import report_for_rank

        report = report_for_rank(watch)
    finally:
        del keep  # the stopped script's frames (and its DataLoader workers) go now
        gc.collect()
    return ScriptRun(report=report, ending=ending)


def _run(target: Target, watch: Watch) -> tuple[Ending, object]:
    """Run it; return how it ended, and the traceback to keep alive until the report is built
    (the live DataLoaders and optimizers are read from it)."""
    ending = Ending()
    keep: object = None
    with _as_main(target), _budget_timer(watch) as timer, watch:
        try:
            if target.module:
                runpy.run_module(target.module, run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(target.path or "", run_name="__main__")
        except WatchStopped as stop:
            ending.how = "capped" if stop.reason == "budget" else "stopped"
            keep = stop.__traceback__
        except SystemExit as exc:
            code = exc.code
            if code not in (None, 0):
                ending.how, ending.exit_code = "exited", code if isinstance(code, int) else 1
                ending.error_type = "SystemExit"
                ending.error_message = f"the script exited with {code!r}"
                ending.where = user_frame(exc)
        except KeyboardInterrupt as exc:
            ending.how = "interrupted"
            ending.where = user_frame(exc)
            keep = exc.__traceback__
        except BaseException as exc:  # the user's error: reported, never a traceback of ours
            ending.how = "crashed"
            ending.error_type = type(exc).__name__
            ending.error_message = f"{type(exc).__name__}: {exc}"[:1000]
            ending.where = user_frame(exc) or _syntax_where(exc)
            keep = exc.__traceback__
        finally:
            timer.disarm()
            sys.stdout.flush()
    return ending, keep


@contextlib.contextmanager
def _as_main(target: Target) -> Iterator[None]:
    """sys.argv and sys.path as `python SCRIPT args` sets them; both restored after, and so
    are the working directory and the standard streams the script may have changed (the
    report is printed and written where the user asked for it)."""
    argv, path = sys.argv, list(sys.path)   # sys.argv is replaced below, never changed
    cwd, stdout, stderr = os.getcwd(), sys.stdout, sys.stderr
    if target.module:
        sys.argv = [target.module, *target.args]   # runpy puts the module's file in argv[0]
        sys.path.insert(0, os.getcwd())
    else:
        script = target.path or ""
        sys.argv = [script, *target.args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    shadowed = {} if target.module else _shadow_local_modules(sys.path[0])
    try:
        yield
    finally:
        _forget_local_modules(sys.path[0], shadowed)
        sys.argv = argv
        sys.path[:] = path
        sys.stdout, sys.stderr = stdout, stderr
        with contextlib.suppress(OSError):
            os.chdir(cwd)


def _local_names(folder: str) -> set[str]:
    """Top-level module names the script's folder provides (helper.py, utils/__init__.py)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return set()
    names = {e[:-3] for e in entries if e.endswith(".py")}
    names |= {e for e in entries if os.path.isfile(os.path.join(folder, e, "__init__.py"))}
    return {n for n in names if n.isidentifier() and n != "advisor" and n != "__main__"}


def _inside(module: Any, folder: str) -> bool:
    where = getattr(module, "__file__", None)
    return bool(where) and os.path.abspath(where).startswith(os.path.abspath(folder) + os.sep)


def _shadow_local_modules(folder: str) -> dict[str, Any]:
    """A fresh `python SCRIPT` imports the script's own helper.py, not a module of the same name
    this process loaded from elsewhere (another script watched in the same process, a probed
    setup's folder): those are set aside while the script runs, and put back after."""
    shadowed = {}
    for name in _local_names(folder):
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            if not _inside(sys.modules[key], folder):
                shadowed[key] = sys.modules.pop(key)
    return shadowed


def _forget_local_modules(folder: str, shadowed: dict[str, Any]) -> None:
    """The script's own modules leave with it (the next watch in this process imports its own),
    and the ones set aside come back."""
    for name in _local_names(folder):
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            if _inside(sys.modules[key], folder):
                del sys.modules[key]
    sys.modules.update(shadowed)


class _Timer:
    """The budget's alarm, armed while the script runs: once the script has returned, a late
    alarm must not raise into the runner's own code."""

    def __init__(self) -> None:
        self.armed = True

    def disarm(self) -> None:
        self.armed = False
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextlib.contextmanager
def _budget_timer(watch: Watch) -> Iterator[_Timer]:
    """The budget as an alarm: code that never reaches a hook (stuck before training, or never
    creating an optimizer) is stopped too. Only on the main thread of a POSIX system; elsewhere
    the hooks alone enforce it."""
    timer = _Timer()
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or watch.options.budget > UNCAPPED:
        timer.armed = False
        yield timer
        return

    def alarm(signum: int, frame: object) -> None:
        if timer.armed:
            timer.armed = False
            watch.observer.budget_spent()
            raise WatchStopped("budget")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, watch.options.budget)
    try:
        yield timer
    finally:
        timer.disarm()
        signal.signal(signal.SIGALRM, previous)


def _syntax_where(exc: BaseException) -> str | None:
    """A script that does not compile has no frame of its own: the error names the place."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    return None


def _environment_notes(watch: Watch, ending: Ending) -> list[str]:
    """What the user should know about how the watch could see the run. (A budget that ran out
    is noted by the training judgement, which knows how many steps were planned.)"""
    obs = watch.observer
    notes = []
    if not _training_seen(watch) and ending.how in ("capped", "finished", "exited", "crashed"):
        notes.append("No training step was seen: the script created no optimizer that "
                     "stepped and called no backward()"
                     + (f" within the budget ({watch.options.budget:g} s)."
                        if ending.how == "capped" else "."))
    workers = _loader_workers()
    if workers:
        notes.append(f"The DataLoader uses {workers} worker processes: they only load data "
                     "and are not watched; the watch observes the main process, where the "
                     "model trains, and ended the workers with the script.")
    compiled = _compiled_models(obs)
    if compiled or _dynamo_compiled():
        which = f" ({', '.join(compiled)})" if compiled else ""
        notes.append(f"torch.compile is in use{which}: module forward hooks cannot see inside "
                     "a compiled model, so its layers' outputs are not observed and a NaN's "
                     "origin is named as the whole compiled model; the optimizer step hooks "
                     "and the backward wrapper still see every step, backward pass, loss, "
                     "gradient norm and learning rate.")
    if ending.error_message and NO_GRADIENT in ending.error_message:
        notes.append("backward() was called on a loss with no path to any parameter: the "
                     "model's output was detached or computed under torch.no_grad().")
    return notes


def _training_seen(watch: Watch) -> bool:
    obs = watch.observer
    return bool(obs.step or obs.optimizers or obs.counts.backward_passes)


def _live_objects(kind: type) -> list[object]:
    """Live objects of a kind, found once at the end. `type(o)`, not isinstance: isinstance on
    a dead weakref.proxy (torch.compile keeps some) raises ReferenceError."""
    return [o for o in gc.get_objects() if issubclass(type(o), kind)]


def _loader_workers() -> int:
    import torch

    return max((int(getattr(o, "num_workers", 0) or 0)
                for o in _live_objects(torch.utils.data.DataLoader)), default=0)


def _compiled_models(obs: object) -> list[str]:
    """Names of the watched root models that are torch.compile wrappers."""
    roots = getattr(obs, "roots", {})
    return [r.name for r in roots.values()
            if type(r.module).__name__ == "OptimizedModule" and hasattr(r.module, "_orig_mod")]


def _dynamo_compiled() -> bool:
    """torch.compile of a function (not a module) shows only in dynamo's counters."""
    dynamo = sys.modules.get("torch._dynamo.utils")
    if dynamo is None:
        return False
    counters = getattr(dynamo, "counters", {})
    return bool(counters.get("stats", {}).get("unique_graphs", 0))
