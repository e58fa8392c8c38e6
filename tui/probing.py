"""The bridge between the probe screen and `advisor.probing`, free of Textual.

The probe trains the user's model for a few hundred steps, so it runs in a worker thread; this
module is what that thread calls. It imports `advisor.probing` (and so torch) only when a probe
actually starts, which keeps `advisor tui` starting in well under a second. Everything that can
go wrong is turned into `ProbeFailed` (a message for the person) or `ProbeCancelled`.
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ProbeFailed(Exception):
    """The setup could not be loaded or the probe stopped; `str(exc)` is for the person."""


class ProbeCancelled(Exception):
    """The person cancelled the probe."""


CANNOT_VERIFY = ("this version of advisor.probe cannot verify remedies (it takes no `verify` "
                 "option): nothing was run")


def can_verify(probe: Callable[..., Any]) -> bool:
    """Whether `probe` runs remedy trials (`advisor probe --verify`) when asked."""
    return "verify" in inspect.signature(probe).parameters


@dataclass(frozen=True)
class ProbeEvent:
    """Progress as the screen sees it; built from whatever object the probe reports."""

    phase: str
    step: int = 0
    total: int = 0
    loss: float | None = None

    @classmethod
    def from_any(cls, event: Any) -> ProbeEvent:
        def number(name: str) -> float | None:
            value = getattr(event, name, None)
            if value is None and isinstance(event, dict):
                value = event.get(name)
            try:
                return None if value is None else float(value)
            except (TypeError, ValueError):
                return None

        phase = getattr(event, "phase", None)
        if phase is None and isinstance(event, dict):
            phase = event.get("phase")
        loss = number("loss")
        return cls(str(phase or "probing"), int(number("step") or 0), int(number("total") or 0),
                   loss if loss is not None and math.isfinite(loss) else loss)


@dataclass
class ProbeOutcome:
    facts: dict[str, Any]
    series: dict[str, list[float]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    # every fact the probe measured, those it could not determine (no value in `facts`) too
    measured: list[str] = field(default_factory=list)


class _Interrupt(KeyboardInterrupt):
    """Raised from the progress callback to stop a probe that takes no `cancel` argument: the
    probe treats it like Ctrl+C (it stops and returns a partial report), never as a user error."""


def _call_probe(probe: Callable[..., Any], setup: Any, progress: Callable[[ProbeEvent], None],
                cancel: threading.Event, options: dict[str, Any]) -> Any:
    """Call `advisor.probing.api.probe` with whichever hooks it has.

    The contract is `progress=callable(event)` (an event with .phase, .step, .total, .loss) and
    `cancel=threading.Event()`; an older form calls `progress(phase, done, total)` and has no
    `cancel`, so the callback accepts both and raises `_Interrupt` once cancel is set.
    """
    params = inspect.signature(probe).parameters

    def on_progress(*args: Any, **kwargs: Any) -> None:
        if cancel.is_set() and "cancel" not in params:
            raise _Interrupt()
        if len(args) == 1 and not kwargs:
            progress(ProbeEvent.from_any(args[0]))
        else:
            names = ("phase", "step", "total", "loss")
            progress(ProbeEvent.from_any({**dict(zip(names, args, strict=False)), **kwargs}))

    kwargs: dict[str, Any] = {k: v for k, v in options.items() if k in params}
    kwargs["progress"] = on_progress
    if "cancel" in params:
        kwargs["cancel"] = cancel
    if "setup" in params:
        return probe(setup=setup, **kwargs)
    return probe(setup, **kwargs)


def run_probe(spec: str, progress: Callable[[ProbeEvent], None], cancel: threading.Event,
              options: dict[str, Any] | None = None) -> ProbeOutcome:
    """Load the setup named by `spec` and probe it, reporting progress; blocks until done.

    `options` go to the probe when it takes them (steps, budget, device...); `verify=True`
    (with seeds, verify_top, verify_budget) runs the remedy trials too, and fails with
    CANNOT_VERIFY when this probe cannot."""
    if cancel.is_set():
        raise ProbeCancelled()
    progress(ProbeEvent("loading the setup (and torch)"))
    try:
        from advisor.probing.setup import ProbeSetupError, load_setup
    except ImportError as exc:  # a partial install
        raise ProbeFailed(f"the probe is not available: {exc}") from None
    try:
        setup = load_setup(spec)  # before advisor.probing.api: a broken setup fails fast
    except ProbeSetupError as exc:
        raise ProbeFailed(str(exc)) from None
    try:
        from advisor.probing.api import probe
    except ImportError as exc:
        raise ProbeFailed(f"the probe is not available: {exc}") from None
    if (options or {}).get("verify") and not can_verify(probe):
        raise ProbeFailed(CANNOT_VERIFY)  # a plain probe would pass for a verified one
    if cancel.is_set():
        raise ProbeCancelled()
    try:
        report = _call_probe(probe, setup, progress, cancel, options or {})
    except ProbeSetupError as exc:
        raise ProbeFailed(str(exc)) from None
    except (Exception, _Interrupt) as exc:
        if cancel.is_set() or type(exc).__name__ in ("ProbeCancelled", "Cancelled"):
            raise ProbeCancelled() from None
        raise ProbeFailed(f"the probe stopped: {type(exc).__name__}: {exc}") from None
    data = report.to_dict() if hasattr(report, "to_dict") else {}
    # a stopped verification still returns the trials it finished (a partial report)
    if cancel.is_set() and not isinstance(data.get("verification"), dict):
        raise ProbeCancelled()
    from advisor.tui.reports import parse_series

    measured = dict(report.facts)
    facts = {k: v for k, v in measured.items() if v is not None}
    return ProbeOutcome(facts, parse_series(data.get("series")), data, sorted(measured))
