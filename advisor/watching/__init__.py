"""Watching the user's own training loop: `advisor watch train.py` and `advisor.watch(...)`.

The probe (`advisor.probing`) runs its own loop over a `setup()`, so it never sees the bugs that
live in the user's loop: a missing `zero_grad`, `backward()` twice, a model left in eval mode, a
scheduler stepped per batch. The watcher observes the user's loop as it runs, through public
hooks only (global optimizer step hooks, global module forward hooks) plus one thin wrapper of
`torch.autograd.backward` that sees each loss, and turns what it saw into the same facts,
diagnoses and report as the probe.

- `observer`: the hooks and the raw counts (`LoopObserver`).
- `statistics`: the sampled statistics taken at optimizer steps (gradient norms, update ratios).
- `session`: `Watch`, the context manager behind `advisor.watch(...)` and the script runner.
- `target`: what to run (script or module, its arguments), checked before torch loads.
- `script`: runs a script or module as `python` would, under a `Watch`, and stops it cleanly.
- `report`: what was seen -> facts -> diagnoses -> `ProbeReport`.
"""

from __future__ import annotations

from typing import Any

from advisor.watching.options import WatchOptions

__all__ = ["Watch", "WatchOptions", "watch"]


def __getattr__(name: str) -> Any:
    """`Watch` and `watch` load torch, so they are imported on first use: the command line
    parses `advisor watch ...` and refuses a wrong path (advisor.watching.target) without it."""
    if name in ("Watch", "watch"):
        from advisor.watching import session

        return getattr(session, name)
    raise AttributeError(f"module 'advisor.watching' has no attribute {name!r}")
