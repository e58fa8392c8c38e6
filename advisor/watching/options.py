"""How long a watch observes and how often it takes its costlier statistics."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_STEPS = 200
DEFAULT_BUDGET = 300.0
# every-step statistics cost up to 1.3x a plain step; sampled ones (one step in CADENCE) stay
# within 1.05x (benchmarks/watch_overhead.py)
SAMPLES_PER_RUN = 25


@dataclass(frozen=True)
class WatchOptions:
    """`steps` training steps are watched (optimizer steps, or backward passes where the script
    has no optimizer); then a script is stopped, unless `follow`, which lets it run to its end.
    `budget` (seconds) only caps the watch: a capped watch says so. `every_step` takes the
    gradient and update statistics at every step instead of one step in `cadence`."""

    steps: int = DEFAULT_STEPS
    budget: float = DEFAULT_BUDGET
    follow: bool = False
    every_step: bool = False
    kb_dirs: tuple[str, ...] = ()

    @property
    def cadence(self) -> int:
        """Steps between sampled statistics: about SAMPLES_PER_RUN over the watched steps, at
        most every 4th (the probe's StepClock rule), every step when asked."""
        if self.every_step:
            return 1
        return max(4, round(self.steps / SAMPLES_PER_RUN))
