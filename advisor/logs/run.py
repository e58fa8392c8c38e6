"""The record every log reader produces: named series of (step, value) on numpy arrays.

A `LoggedRun` is what one training run left on disk, whatever wrote it (TensorBoard, the Hugging
Face Trainer, Lightning's CSVLogger, a CSV or JSON Lines file of the user's). The whole-run facts
(advisor.facts.logs) read runs through *roles* (loss, val_loss, lr, ...) rather than tag names,
because every framework names the same quantity differently; `assign_roles` maps one to the
other, and an explicit mapping from the user always wins.

Only numpy here: no torch, no textual, no reader's package, so the facts layer and its tests can
build runs by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from advisor.logs.errors import LogsError

# role -> tag names tried in order (compared by `normalise_tag`). A name ending in "*" is a
# prefix: Lightning's LearningRateMonitor logs "lr-Adam", "lr-AdamW/pg1", ...
ROLES: dict[str, tuple[str, ...]] = {
    "loss": ("loss", "train/loss", "training_loss", "train_loss_step", "loss/train",
             "train/loss_step", "train_loss_epoch", "train/loss_epoch", "train/total_loss",
             "loss/training"),
    "val_loss": ("val_loss", "eval/loss", "validation_loss", "valid_loss", "loss/val",
                 "loss/validation", "val/loss", "val_loss_epoch", "loss/valid",
                 # PyTorch's TensorBoard tutorial logs its held-out loss as "Loss/test"
                 "loss/test", "test/loss", "test_loss"),
    "lr": ("lr", "learning_rate", "train/learning_rate", "train/lr", "lr/group0", "lr-*",
           "learning_rate/*"),
    "grad_norm": ("grad_norm", "train/grad_norm", "gradient_norm", "grad_norm/total",
                  "grad_2.0_norm_total", "train/gradient_norm", "grad_norm/*"),
    "epoch": ("epoch", "train/epoch"),
    "val_metric": ("val_acc", "val_accuracy", "eval/accuracy", "eval_acc", "val/acc",
                   "accuracy/val", "acc/val", "val_acc_epoch", "valid_acc", "eval/f1", "val_f1",
                   "eval/matthews_correlation", "val/accuracy", "eval/exact_match", "eval/bleu",
                   "eval/rouge1", "eval/wer", "accuracy/test", "acc/test", "test/accuracy",
                   "test_acc", "test_accuracy"),
}

_SEPARATORS = re.compile(r"[/_\-.]+")

# What the facts layer can be told about by a mapping besides the roles: the step column of a
# table (CSV, JSON Lines).
STEP_KEY = "step"


def normalise_tag(tag: str) -> str:
    """A tag compared case-insensitively, with '/', '_', '-' and '.' all the same separator."""
    return _SEPARATORS.sub("_", tag.strip().lower())


@dataclass
class Series:
    """One logged quantity: steps ascending, values exactly as logged (NaN and inf kept)."""

    tag: str
    steps: np.ndarray
    values: np.ndarray
    wall: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Sort by step, stably, so that two points logged at one step keep their log order.
        steps = np.asarray(self.steps, dtype=np.int64).reshape(-1)
        values = np.asarray(self.values, dtype=np.float64).reshape(-1)
        if steps.shape != values.shape:
            raise ValueError(f"series {self.tag!r}: {steps.size} steps but {values.size} values")
        wall = None if self.wall is None else np.asarray(self.wall, np.float64).reshape(-1)
        if wall is not None and wall.shape != steps.shape:
            raise ValueError(f"series {self.tag!r}: {wall.size} wall times for {steps.size} steps")
        if steps.size > 1 and np.any(steps[1:] < steps[:-1]):
            order = np.argsort(steps, kind="stable")
            steps, values = steps[order], values[order]
            wall = None if wall is None else wall[order]
        self.steps, self.values, self.wall = steps, values, wall

    def __len__(self) -> int:
        return int(self.steps.size)


@dataclass
class LoggedRun:
    """One training run as read from disk, its series by tag and its roles."""

    name: str
    source: str
    path: str
    series: dict[str, Series]
    roles: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    hidden_nan_steps: list[int] = field(default_factory=list)

    def get(self, role: str) -> Series | None:
        """The series playing `role` (see ROLES), or None when the run has none."""
        tag = self.roles.get(role)
        return None if tag is None else self.series.get(tag)

    @property
    def tags(self) -> list[str]:
        return sorted(self.series)


def _match(candidates: Iterable[str], tags: Mapping[str, str]) -> str | None:
    """The first candidate present among `tags` (normalised -> tag as logged)."""
    for name in candidates:
        key = normalise_tag(name.rstrip("*"))
        if name.endswith("*"):
            hits = sorted(t for n, t in tags.items() if n.startswith(key))
            if hits:
                return hits[0]
        elif key in tags:
            return tags[key]
    return None


def _resolve(run: LoggedRun, role: str, tag: str) -> str:
    """The run's tag that a mapping names: exactly as logged, else by the normalised form."""
    if tag in run.series:
        return tag
    by_norm = {normalise_tag(t): t for t in run.series}
    found = by_norm.get(normalise_tag(tag))
    if found is None:
        listed = ", ".join(run.tags) or "(none)"
        raise LogsError(
            f"{run.path}: run '{run.name}' has no tag '{tag}' (mapped to {role}); "
            f"its tags are: {listed}. Fix the mapping, e.g. --map {role}=<one of those tags>"
        )
    return found


def assign_roles(run: LoggedRun, mapping: Mapping[str, str] | None = None) -> LoggedRun:
    """Fill `run.roles`: the mapping's tags first (each must exist), then ROLES' defaults.

    A mapping key that is neither a role nor "step" is an error, so a typo never silently
    falls back to a default tag.
    """
    mapping = dict(mapping or {})
    unknown = sorted(k for k in mapping if k not in ROLES and k != STEP_KEY)
    if unknown:
        raise LogsError(
            f"{run.path}: unknown role(s) in the mapping: {', '.join(unknown)}; "
            f"the roles are: {', '.join(ROLES)} (and 'step' for a table's step column)"
        )
    roles: dict[str, str] = {}
    for role, tag in mapping.items():
        if role in ROLES:
            roles[role] = _resolve(run, role, tag)
    taken = set(roles.values())
    free = {normalise_tag(t): t for t in run.series if t not in taken}
    for role, candidates in ROLES.items():
        if role in roles:
            continue
        tag = _match(candidates, free)
        if tag is not None:
            roles[role] = tag
            free = {n: t for n, t in free.items() if t != tag}
    run.roles = roles
    return run


def hidden_nan_steps(loss: Series | None, grad: Series | None) -> list[int]:
    """Steps where the logged loss is exactly 0.0 and the gradient norm at that step is not
    finite: the Hugging Face Trainer's stand-in for a NaN loss (`logging_nan_inf_filter`)."""
    if loss is None or grad is None:
        return []
    bad_grad = grad.steps[~np.isfinite(grad.values)]
    zero = loss.steps[loss.values == 0.0]
    return zero[np.isin(zero, bad_grad)].tolist()


def hidden_nan_note(where: str, steps: list[int]) -> str:
    """What the report says of `hidden_nan_steps`."""
    return (f"{where}: {len(steps)} logged loss(es) read 0.0 while grad_norm was NaN "
            f"(steps {steps[0]}..{steps[-1]}): the Trainer's logging_nan_inf_filter hides NaN "
            f"losses, so the loss was most likely NaN from step {steps[0]} (or earlier in that "
            "logging window). Rerun with logging_nan_inf_filter=False to log them as NaN")


def mark_hidden_nans(run: LoggedRun) -> LoggedRun:
    """Fill `run.hidden_nan_steps` from its loss and grad_norm roles when its reader did not:
    the Trainer sends the same filtered loss to every logger (`report_to` TensorBoard, a
    CSV), so the pattern is not only in trainer_state.json."""
    if not run.hidden_nan_steps:
        hidden = hidden_nan_steps(run.get("loss"), run.get("grad_norm"))
        if hidden:
            run.hidden_nan_steps = hidden
            run.notes.append(hidden_nan_note(run.name, hidden))
    return run


def parse_mapping(text: str | None) -> dict[str, str]:
    """`"loss=train/loss,lr=lr-Adam"` -> {"loss": "train/loss", "lr": "lr-Adam"}."""
    mapping: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        role, sep, tag = part.partition("=")
        if not sep or not role.strip() or not tag.strip():
            raise LogsError(
                f"bad mapping entry '{part.strip()}': write ROLE=TAG pairs separated by commas, "
                f"e.g. --map loss=train/loss,lr=lr-Adam (roles: {', '.join(ROLES)}, step)"
            )
        mapping[role.strip()] = tag.strip()
    return mapping
