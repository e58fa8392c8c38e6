"""A TrialEnv built from a real setup without running a probe (the recipe of pristine copies,
the traced structure and the task, a few cached training batches), a small arm runner that
does what advisor/trials/runner.py does with an ArmSpec, and a snapshot of the user's objects
to prove they are never touched."""

from __future__ import annotations

import contextlib
import copy
import itertools
import warnings
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from advisor.experiments.recipe import Recipe
from advisor.probing.batches import BatchStream, forward
from advisor.probing.collectors import structure
from advisor.probing.context import ProbeContext
from advisor.probing.facts import Observations
from advisor.probing.options import ProbeOptions
from advisor.probing.setup import ProbeSetup, coerce_setup, load_setup
from advisor.trials.arm import ArmSpec, TrialEnv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> ProbeSetup:
    return load_setup(str(EXAMPLES / f"{name}.py"))


def make_env(setup: ProbeSetup | dict[str, Any], batches: int = 4) -> TrialEnv:
    """What the runner hands a transform: the probe's context (recipe, structure, task) and
    the training batches read once."""
    if isinstance(setup, dict):
        setup = coerce_setup(setup, "test setup")
    device = torch.device("cpu")
    recipe = Recipe.from_user(setup.model, setup.optimizer, device, setup.scheduler,
                              setup.scaler)
    ctx = ProbeContext(setup, ProbeOptions(steps=10, quiet=True), device, recipe,
                       Observations(), BatchStream(setup.train_data))
    cached = list(itertools.islice(iter(setup.train_data), batches))
    ctx.train_eval_batches = cached
    with warnings.catch_warnings():  # a broken setup's loss warns (broadcast shapes)
        warnings.simplefilter("ignore")
        outputs, targets, _ = structure.trace_forward(ctx, cached[0])
        ctx.task = structure.observe_loss(ctx, outputs, targets, None)
    return TrialEnv(ctx, setup.train_data, cached)


@contextlib.contextmanager
def entered(spec: ArmSpec):
    with spec.forward_mode() if spec.forward_mode is not None else contextlib.nullcontext():
        yield


def build_arm(env: TrialEnv, spec: ArmSpec, seed: int = 0):
    """Seed i's copy with the spec's model and optimizer edits applied."""
    torch.manual_seed(seed)
    trainee = env.ctx.build(scheduler=False)
    for edit in spec.model_edits:
        edit(trainee.model)
    opt = trainee.optimizer
    for oedit in spec.optimizer_edits:
        opt = oedit(trainee.model, opt)
    trainee.optimizer = opt
    return trainee


def outputs_of(env: TrialEnv, spec: ArmSpec, model: torch.nn.Module, batch: Any):
    if spec.batch_fn is not None:
        batch = spec.batch_fn(batch)
    with entered(spec):
        return forward(model, batch, env.ctx.setup.step)


def train_arm(env: TrialEnv, spec: ArmSpec, seed: int = 0, steps: int = 10):
    """A few training steps of one arm, as the runner trains them; returns the trainee and
    the losses."""
    trainee = build_arm(env, spec, seed)
    model, opt = trainee.model, trainee.optimizer
    data = spec.data(seed) if spec.data is not None else env.train_data
    loss_fn = spec.loss_fn or env.ctx.setup.loss_fn
    losses = []
    for batch in itertools.islice(itertools.cycle(data), steps):
        if spec.force_train_mode:
            model.train()
        opt.zero_grad()
        outputs, targets = outputs_of(env, spec, model, batch)
        loss = loss_fn(outputs, targets)
        loss.backward()
        if spec.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec.clip_grad_norm)
        opt.step()
        losses.append(float(loss.detach()))
    return trainee, losses


def snapshot(setup: ProbeSetup) -> dict[str, Any]:
    """Everything a transform or an arm could change about the user's objects."""
    model = setup.model
    snap: dict[str, Any] = {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "modules": [(n, type(m).__name__, m.training) for n, m in model.named_modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "dropout": [getattr(m, "p", None) for m in model.modules()],
    }
    opt = setup.optimizer
    if isinstance(opt, torch.optim.Optimizer):
        snap["opt_class"] = type(opt)
        snap["opt_groups"] = [{k: (v if k != "params" else [id(p) for p in v])
                               for k, v in g.items()} for g in opt.param_groups]
        snap["opt_state"] = copy.deepcopy(opt.state_dict()["state"])
    data = setup.train_data
    if isinstance(data, DataLoader):
        snap["loader"] = (type(data.sampler), data.batch_size, data.drop_last,
                          data.num_workers, data.collate_fn)
        tensors = getattr(data.dataset, "tensors", ())
        snap["dataset"] = [t.clone() for t in tensors]
    return snap


def assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before.keys() == after.keys()
    for key in before:
        a, b = before[key], after[key]
        if key == "state":
            assert a.keys() == b.keys()
            for name in a:
                assert torch.equal(a[name], b[name]), f"the user's {name} changed"
        elif key == "dataset":
            same = all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
            assert same, "the user's dataset changed"
        elif key == "opt_state":
            assert a.keys() == b.keys()
            for pid in a:
                for k in a[pid]:
                    assert torch.equal(torch.as_tensor(a[pid][k]), torch.as_tensor(b[pid][k]))
        else:
            assert a == b, f"the user's {key} changed: {a} -> {b}"
