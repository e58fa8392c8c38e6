"""One arm of a remedy trial: what a trial transform changes about how a copy of the setup is
trained and judged.

A transform (advisor/trials/transforms.py) never trains anything: it edits an `ArmSpec`, a plain
description of the changes, or raises `TrialNotApplicable` with a sentence saying why it cannot
apply to this setup. The trial runner (advisor/trials/runner.py) builds every seed's run from
the spec on fresh copies (advisor.experiments.recipe), so the control arm is simply the spec
left as it is, and the user's objects are never touched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from advisor.errors import AdvisorError

# (model, optimizer) -> optimizer: the optimizer to train with (the same one edited in place,
# or a new one built on the model's parameters)
OptimizerEdit = Callable[[torch.nn.Module, torch.optim.Optimizer], torch.optim.Optimizer]
ModelEdit = Callable[[torch.nn.Module], None]
LossFn = Callable[[Any, Any], Any]


class TrialNotApplicable(AdvisorError):
    """A transform that cannot apply to this setup; `str(exc)` says why, for the report
    (the trial's verdict is then "not_run" with that reason)."""


@dataclass
class TrialEnv:
    """What a transform may read about the setup (never modify).

    ctx: the probe's ProbeContext (setup, recipe, structure, task, device, cached batches).
    train_data: the user's training data as handed over (a DataLoader, a list...).
    stats_batches: training batches read once, in order, the same for every arm: the source of
        "training statistics" (input and target means and standard deviations).
    """

    ctx: Any
    train_data: Iterable[Any]
    stats_batches: list[Any] = field(default_factory=list)

    @property
    def custom_train_step(self) -> bool:
        """The setup trains with its own train_step: the loss, clipping and the step are the
        user's, so transforms of those cannot apply."""
        return self.ctx.setup.train_step is not None

    @property
    def task(self) -> str | None:
        return self.ctx.task.kind if self.ctx.task is not None else None


@dataclass
class ArmSpec:
    """How one arm trains and is judged. Every field's default means "as the setup does".

    model_edits: applied in order to each seed's fresh model copy before training (re-initialise,
        set dropout, unfreeze, swap a final activation module...). They must edit in place:
        the optimizer copy already holds the model's parameters.
    optimizer_edits: applied in order after the model edits; each returns the optimizer to use.
    loss_fn: the training loss, (outputs, targets) -> loss; None: the setup's loss_fn.
    batch_fn: applied to every batch (training and evaluation) before the forward pass, e.g.
        standardised inputs or reshaped targets. Must not modify the batch in place.
    data: seed -> an iterable of training batches for that seed's run (a rebuilt, shuffled
        DataLoader, another batch size); None: the setup's train_data (the same order per seed).
    output_fn: maps the model's outputs back to the space the setup's loss_fn expects at
        evaluation (scaled targets undone); None: identity.
    forward_mode: a context manager factory entered around every forward pass of the arm
        (training and evaluation), e.g. a TorchFunctionMode that skips the final activation.
    clip_grad_norm: clip the global gradient norm to this before each update (probe's own step).
    force_train_mode: call model.train() before every training step.
    outputs_are: "logits" | "probabilities" | None: what the arm's outputs are after the change,
        when the transform changed it (the error-rate metric thresholds binary outputs by it).
    changes_loss_meaning: the arm's training loss is not comparable with the control's (another
        loss, another output activation): the trial is judged by the task's error rate on
        classification tasks instead of the loss.
    """

    model_edits: list[ModelEdit] = field(default_factory=list)
    optimizer_edits: list[OptimizerEdit] = field(default_factory=list)
    loss_fn: LossFn | None = None
    batch_fn: Callable[[Any], Any] | None = None
    data: Callable[[int], Iterable[Any]] | None = None
    output_fn: Callable[[Any], Any] | None = None
    forward_mode: Callable[[], Any] | None = None
    clip_grad_norm: float | None = None
    force_train_mode: bool = False
    outputs_are: str | None = None
    changes_loss_meaning: bool = False

    def forward_context(self) -> Any:
        """A fresh `forward_mode` context for one forward pass (its call count restarts on
        entry), or one that does nothing."""
        return self.forward_mode() if self.forward_mode is not None else contextlib.nullcontext()


# A transform: (spec to edit, the trial's arguments, what it may read) -> None
Transform = Callable[[ArmSpec, dict[str, Any], TrialEnv], None]
