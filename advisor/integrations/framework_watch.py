"""What the Lightning and Hugging Face callbacks share: a `Watch` started and finished by a
framework's events instead of a `with` block, its report, and the files written at the end.

The framework calls the callback when training begins and ends (or fails); everything between
is seen by the watch's own hooks, exactly as in `advisor.watch(model, optimizer)`. Frameworks
hand out wrapped optimizers (Lightning's `LightningOptimizer`, accelerate's
`AcceleratedOptimizer`); the watch is given the `torch.optim` optimizer inside, the one whose
step hooks fire with the real parameters. The user's objects are never changed: the watch only
adds hooks and removes them all when it is closed.
"""

from __future__ import annotations

import importlib
import sys
import sysconfig
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import torch

from advisor.errors import AdvisorError, UsageError
from advisor.report.files import require_folder
from advisor.report.probe import ProbeReport
from advisor.watching.options import DEFAULT_STEPS, WatchOptions
from advisor.watching.report import Ending
from advisor.watching.session import Watch

# a framework's run ends when the framework says so: the watch never caps it (a finite number,
# as the report's options go into its JSON document)
UNLIMITED_BUDGET = 1e9
# attributes under which frameworks keep the optimizer they wrap (Lightning, accelerate)
WRAPPED_OPTIMIZER_ATTRS = ("_optimizer", "optimizer")


class MissingExtraError(AdvisorError, ImportError):
    """The framework of an integration is not installed (an ImportError too, so that code
    probing for optional integrations with `except ImportError` keeps working)."""


class CallbackError(UsageError):
    """A callback was asked for something it cannot give yet (a report before training)."""


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import a framework module, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{what} needs the package `{module.split('.')[0]}`, which is not installed "
            f"({exc}); install it with: pip install 'advisor[{extra}]'") from exc


def underlying_optimizer(obj: Any) -> torch.optim.Optimizer | None:
    """The innermost `torch.optim` optimizer reached through the attributes under which
    frameworks keep the optimizer they wrap (the object itself when it wraps none); None when
    there is no torch optimizer at all."""
    found = obj if isinstance(obj, torch.optim.Optimizer) else None
    seen: set[int] = set()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        obj = next((inner for attr in WRAPPED_OPTIMIZER_ATTRS
                    if (inner := getattr(obj, attr, None)) is not None and inner is not obj),
                   None)
        if isinstance(obj, torch.optim.Optimizer):
            found = obj
    return found


def ending_for(error: BaseException | None) -> Ending:
    """How the framework's run ended, in the terms of the watch's report: finished, or the
    error that ended it (its type, message and the line of the user's code it came from)."""
    if error is None:
        return Ending()
    where = user_frame(error.__traceback__)
    if isinstance(error, KeyboardInterrupt):
        return Ending(how="interrupted", where=where)
    return Ending(how="crashed", error_type=type(error).__name__,
                  error_message=f"{type(error).__name__}: {error}"[:1000], where=where)


def user_frame(tb: TracebackType | None) -> str | None:
    """FILE:LINE of the innermost frame in the user's code: not in an installed package, the
    standard library or advisor itself (the framework's own frames say nothing to the user)."""
    for frame in reversed(traceback.extract_tb(tb)):
        if not _library_file(frame.filename):
            return f"{frame.filename}:{frame.lineno}"
    return None


def _library_file(filename: str) -> bool:
    path = Path(filename).resolve()
    if {"site-packages", "dist-packages"} & set(path.parts) or filename.startswith("<"):
        return True
    roots = [Path(sysconfig.get_paths()["stdlib"]).resolve(), Path(__file__).resolve().parents[1]]
    return any(path.is_relative_to(root) for root in roots)


class FrameworkWatch:
    """One watch per training run, driven by the framework's begin and end events.

    `json_path`, `markdown_path`, `html_path`: report files written (atomically) when training
    ends; their folders are checked now, so a typo fails before training, not after it.
    `print_report`: print the text report when training ends. `every_step` and `kb_dirs` as in
    `advisor.watch`. Only the main process of a distributed run writes and prints."""

    def __init__(self, framework: str, *, every_step: bool = False,
                 kb_dirs: Sequence[str] = (), json_path: str | Path | None = None,
                 markdown_path: str | Path | None = None, html_path: str | Path | None = None,
                 print_report: bool = True) -> None:
        self.framework = framework
        self.every_step = every_step
        self.kb_dirs = tuple(str(d) for d in kb_dirs)
        self.outputs = {"json": json_path, "markdown": markdown_path, "html": html_path}
        for path in self.outputs.values():
            if path is not None:
                require_folder(path)
        self.print_report = print_report
        self.watch: Watch | None = None
        self._final: ProbeReport | None = None
        self._active = False

    @property
    def active(self) -> bool:
        """Whether a watch is running (between the start and the end of training)."""
        return self._active

    def start(self, models: Iterable[torch.nn.Module], optimizers: Iterable[Any],
              steps: int | None, name: str) -> None:
        """Begin watching `models` and the torch optimizers inside `optimizers`; `steps` (the
        run's planned optimizer steps, when known) spreads the sampled statistics over it."""
        self.end_stale()
        unique: dict[int, torch.optim.Optimizer] = {}
        for opt in optimizers:
            inner = underlying_optimizer(opt)
            if inner is not None:
                unique.setdefault(id(inner), inner)
        planned = steps if isinstance(steps, int) and 0 < steps < sys.maxsize else DEFAULT_STEPS
        options = WatchOptions(steps=planned, budget=UNLIMITED_BUDGET, follow=True,
                               every_step=self.every_step, kb_dirs=self.kb_dirs)
        self.watch = Watch(list(models), list(unique.values()), options, name=name)
        self._final = None
        self.watch.start()
        self._active = True

    def finish(self, error: BaseException | None = None,
               main_process: bool = True) -> ProbeReport | None:
        """Close the watch (every hook removed), diagnose, and write and print the report on
        the main process. Safe to call twice: the second call returns the same report."""
        if self.watch is None:
            return None
        if not self._active:
            return self._final
        self._active = False
        self.watch.close()
        self.watch.ending = ending_for(error)
        report = self.watch.report()
        self._final = report
        if main_process:
            self._write(report)
            if self.print_report:
                print(report.text())
        return report

    def end_stale(self) -> None:
        """End a watch whose run stopped without the framework's end event (the Hugging Face
        Trainer raised and nobody called close): remove its hooks. Its report is not printed
        or written: the new run's report takes its place."""
        if not self._active or self.watch is None:
            return
        self._active = False
        self.watch.close()
        self.watch.ending = Ending(how="crashed", notes=[
            "training ended without the framework's end event (it raised?); this report "
            "covers what was seen until the next run began"])
        self._final = self.watch.report()

    def report(self, diagnose: bool = True) -> ProbeReport:
        """The report: the final one once training ended, else what was seen so far."""
        if self.watch is None:
            raise CallbackError(f"the {self.framework} callback has not watched any training "
                                "yet: it starts when training begins; call report() after it")
        if self._final is not None and diagnose:
            return self._final
        return self.watch.report(diagnose=diagnose)

    def _write(self, report: ProbeReport) -> None:
        """Write the report files. A file that cannot be written at the end of a long run is
        said on stderr instead of raising: training is over and its report is still in
        `callback.report()`."""
        writers = {"json": report.write_json, "markdown": report.write_markdown,
                   "html": report.write_html}
        for kind, path in self.outputs.items():
            if path is None:
                continue
            try:
                writers[kind](path)
            except (OSError, AdvisorError) as exc:
                print(f"advisor: could not write the {kind} report {path}: {exc}; the report "
                      "is still available as callback.report()", file=sys.stderr)
