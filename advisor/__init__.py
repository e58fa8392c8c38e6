"""advisor: a troubleshooting expert system for deep-learning training.

The public API is small: `advisor.probe(...)` probes a training setup and returns its report;
`advisor.watch(model, optimizer)` watches the user's own loop and gives the same report;
`advisor.ProbeSetup` and `advisor.ProbeSetupError` describe a setup and what is wrong with one;
`advisor.AdvisorError` is the base of every error meant for the user. `probe` and the setup
types load torch, so they are imported on first use: the knowledge base, the engine and the
command line start without it.
"""

from __future__ import annotations

from typing import Any

from advisor.errors import AdvisorError

__version__ = "0.1.0"
__all__ = ["AdvisorError", "ProbeSetup", "ProbeSetupError", "__version__", "probe", "watch"]


def probe(*args: Any, **kwargs: Any) -> Any:
    """Probe a training setup and return its ProbeReport.

    The arguments are those of `advisor.probing.api.probe` (model, train_data, loss_fn,
    optimizer, val_data, task, step / train_step, steps, budget, device, amp, seed, kb_dirs,
    progress, diagnose). A plain function, so the name never clashes with a subpackage.
    """
    from advisor.probing.api import probe as _probe

    return _probe(*args, **kwargs)


def watch(*args: Any, **kwargs: Any) -> Any:
    """Watch your own training loop: `with advisor.watch(model, optimizer) as w: ...`, then
    `w.report()` (the same report type as `advisor.probe`). The arguments are those of
    `advisor.watching.session.watch` (model, optimizer, steps, every_step, kb_dirs, name)."""
    from advisor.watching.session import watch as _watch

    return _watch(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name in ("ProbeSetup", "ProbeSetupError"):
        from advisor.probing import setup

        return getattr(setup, name)
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
