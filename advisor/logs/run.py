"""The record every log reader produces: one run's logged scalar series (numpy only).

Minimal copy for the facts branch: the dataclasses and `get` exactly as LOGS_SPEC.md defines
them; the readers' branch owns ROLES and `assign_roles`, reconciled at merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Series:
    """One logged tag: steps sorted ascending (stable), values with NaN/inf kept as logged."""

    tag: str                 # as logged: "train/loss", "eval_loss", "lr-Adam"
    steps: np.ndarray        # int64, sorted ascending (stable: equal steps keep log order)
    values: np.ndarray       # float64; NaN and +/-inf KEPT as they were logged
    wall: np.ndarray | None = None   # float64 seconds since the epoch, same length, or None


@dataclass
class LoggedRun:
    """One run read from PATH: its series by tag, and which tag plays which role."""

    name: str                # run name: folder relative to PATH, or the file's stem
    source: str              # "tensorboard" | "huggingface" | "lightning" | "csv" | "jsonl"
    path: str                # the file or folder read
    series: dict[str, Series]
    roles: dict[str, str]    # role -> tag (loss, val_loss, lr, grad_norm, epoch, val_metric)
    notes: list[str] = field(default_factory=list)   # what the reader noticed, for the report
    hidden_nan_steps: list[int] = field(default_factory=list)  # HF: loss 0.0 + grad_norm NaN

    def get(self, role: str) -> Series | None:
        """The series playing `role`, or None when no tag was assigned to it."""
        tag = self.roles.get(role)
        return self.series.get(tag) if tag is not None else None
