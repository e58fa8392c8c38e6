"""What every phase of a probe run shares: the setup, the device, the recipe of pristine copies
from which each experiment starts, the options and the observations so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from advisor.experiments.recipe import Recipe, Trainee
from advisor.probing.batches import BatchStream, forward, to_device
from advisor.probing.collectors.loss import TaskInfo
from advisor.probing.device import autocast
from advisor.probing.errors import classify_error
from advisor.probing.facts import Observations
from advisor.probing.options import ProbeOptions
from advisor.probing.setup import ProbeSetup, ProbeSetupError

__all__ = ["ProbeContext", "ProbeOptions", "Structure"]


@dataclass
class Structure:
    """What one traced forward pass revealed about the model."""

    exec_order: list[str] = field(default_factory=list)   # weight modules, first call order
    activation_sites: list[tuple[int, str, str]] = field(default_factory=list)
    final_activation: str = "none"
    final_site: int | None = None       # ordinal among watched activation calls, if any
    output_module: str | None = None    # the weight module that produced the output
    input_layout: str = "last"


@dataclass
class ProbeContext:
    setup: ProbeSetup
    options: ProbeOptions
    device: torch.device
    recipe: Recipe
    obs: Observations
    train: BatchStream
    val: BatchStream | None = None
    structure: Structure = field(default_factory=Structure)
    task: TaskInfo | None = None
    val_batches: list[Any] = field(default_factory=list)
    train_eval_batches: list[Any] = field(default_factory=list)

    @property
    def pristine(self) -> torch.nn.Module:
        """The copy of the user's model every experiment starts from (never trained)."""
        return self.recipe.model

    def fresh_model(self) -> torch.nn.Module:
        """A new copy of the user's model as handed over, in training mode."""
        return self.recipe.fresh_model()

    def build(self, lr: float | None = None, with_state: bool = True,
              adam: bool = False, scheduler: bool = True) -> Trainee:
        """Fresh model, optimizer, scheduler and scaler for one experiment."""
        return self.recipe.build(lr=lr, with_state=with_state, amp=self.options.amp,
                                 device=self.device, adam=adam, scheduler=scheduler)

    def loss(self, model: torch.nn.Module, batch: Any,
             amp: bool = False) -> tuple[torch.Tensor, Any, Any]:
        """(loss, outputs, targets) for one batch already on the device."""
        with autocast(self.device, amp):
            outputs, targets = forward(model, batch, self.setup.step)
            loss = self._loss_fn(outputs, targets)
        if not isinstance(loss, torch.Tensor):
            loss = torch.as_tensor(loss, dtype=torch.float32)
        return loss, outputs, targets

    def check_loss(self, outputs: Any, targets: Any) -> None:
        """Raise the setup error with its remedy when loss_fn cannot take the outputs."""
        with torch.no_grad():
            self._loss_fn(outputs, targets)

    def _loss_fn(self, outputs: Any, targets: Any) -> Any:
        """loss_fn(outputs, targets); a model whose output is a tuple or a dict that the loss
        cannot take is a setup problem with a clear remedy, not a crash of the run."""
        try:
            return self.setup.loss_fn(outputs, targets)
        except (TypeError, AttributeError, IndexError, KeyError) as exc:
            # A loss that got tensors and failed on their values (RuntimeError: NaN reaching
            # BCELoss, a shape mismatch; IndexError: a target out of range) is the user's
            # fault to diagnose, and a `step` means the user chose what the loss receives.
            if isinstance(outputs, torch.Tensor) or not isinstance(outputs, (tuple, list, dict)) \
                    or self.setup.step is not None or classify_error(exc) != "other":
                raise
            kind = "dict" if isinstance(outputs, dict) else type(outputs).__name__
            raise ProbeSetupError(
                f"{self.setup.name}: the model returns a {kind}, and loss_fn(outputs, targets) "
                f"raised {type(exc).__name__}: {str(exc).strip()[:200]}. Hand over a "
                "'train_step(model, batch, optimizer) -> loss' or a 'step(model, batch) -> "
                "(outputs, targets)' that picks the tensor the loss needs, or index the output "
                "in loss_fn (e.g. lambda out, y: F.cross_entropy(out[0], y) or "
                "out['logits'])") from None

    def on_device(self, batch: Any) -> Any:
        return to_device(batch, self.device)

    @torch.no_grad()
    def mean_loss(self, model: torch.nn.Module, batches: list[Any]) -> float | None:
        """Average loss over batches in eval mode (no dropout, BatchNorm running stats)."""
        if not batches:
            return None
        was = model.training
        model.eval()
        try:
            values = []
            for b in batches:
                loss, _, _ = self.loss(model, self.on_device(b))
                values.append(float(loss.detach().float().mean()))
            return sum(values) / len(values)
        finally:
            model.train(was)
