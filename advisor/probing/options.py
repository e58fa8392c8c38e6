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
    # remedy trials (advisor/trials): after the diagnosis, try the remedies of the top
    # `verify_top` diagnoses in matched runs of `seeds` seeds, `trial_steps` steps each
    # (default min(100, steps)); `verify_budget` seconds cap them
    verify: bool = False
    seeds: int = 5
    verify_top: int = 3
    verify_budget: float = 300.0
    trial_steps: int | None = None

    @property
    def total_budget(self) -> float:
        """Seconds the whole run may take: the probe's budget, plus the trials' when asked."""
        return self.budget + (self.verify_budget if self.verify else 0.0)
