"""The knobs of a probe run, in a module that imports no torch: `advisor probe` builds them in
the parent process, which only supervises the worker that runs the probe."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ProbeOptions:
    """Knobs of a probe run (the CLI flags)."""

    steps: int = 200              # training steps; the other experiments have fixed step counts
    budget: float = 120.0         # seconds: a cap on the whole run, never a target
    device: str | None = None
    amp: bool = False
    seed: int = 0
    kb_dirs: tuple[str, ...] = ()
    quiet: bool = False
