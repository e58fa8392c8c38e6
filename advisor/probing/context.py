"""What every phase of a probe run shares: the setup, the device, the pristine model copy from
which each experiment starts, the optimizer recipe, the options and the observations so far."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch

from advisor.probing.batches import BatchStream, forward, to_device
from advisor.probing.collectors.loss import TaskInfo
from advisor.probing.device import autocast
from advisor.probing.facts import Observations
from advisor.probing.setup import ProbeSetup
from advisor.probing.state import OptimizerRecipe


@dataclass
class ProbeOptions:
    """Knobs of a probe run (the CLI flags)."""

    steps: int = 200
    budget: float = 30.0          # seconds, whole run
    device: str | None = None
    amp: bool = False
    seed: int = 0
    kb_dirs: tuple[str, ...] = ()
    quiet: bool = False


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
    pristine: torch.nn.Module
    recipe: OptimizerRecipe
    obs: Observations
    train: BatchStream
    val: BatchStream | None = None
    structure: Structure = field(default_factory=Structure)
    task: TaskInfo | None = None
    val_batches: list[Any] = field(default_factory=list)
    train_eval_batches: list[Any] = field(default_factory=list)

    def fresh_model(self) -> torch.nn.Module:
        """A new copy of the user's model as handed over, in training mode."""
        model = copy.deepcopy(self.pristine)
        model.train()
        return model

    def loss(self, model: torch.nn.Module, batch: Any,
             amp: bool = False) -> tuple[torch.Tensor, Any, Any]:
        """(loss, outputs, targets) for one batch already on the device."""
        with autocast(self.device, amp):
            outputs, targets = forward(model, batch, self.setup.step)
            loss = self.setup.loss_fn(outputs, targets)
        if not isinstance(loss, torch.Tensor):
            loss = torch.as_tensor(loss, dtype=torch.float32)
        return loss, outputs, targets

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
