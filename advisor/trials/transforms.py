"""The trial transforms: each one the change a remedy makes, written down as edits of an ArmSpec
(advisor/trials/arm.py) for the trial runner to apply to fresh copies.

A transform reads the setup (env) and edits the spec, or raises TrialNotApplicable with a
sentence for the report; it never trains, and never touches the user's objects (model,
optimizer, DataLoader, dataset) or the probe's pristine copies: model and optimizer edits run on
each seed's fresh copy, data transforms build new DataLoaders over the same dataset.

The names and arguments are those of the knowledge base's closed vocabulary
(advisor.kb.trials.TRANSFORMS); arguments arrive validated by the loader, optional ones missing
or None.

Conventions the runner relies on:
- `batch_fn` is applied to every batch, training and evaluation, and evaluation compares the
  outputs with the targets of the transformed batch (fix_target_shape needs that);
- scale_targets therefore scales the targets inside the training loss (a `loss_fn` wrapping the
  setup's), and `output_fn` maps the outputs back for the setup's loss at evaluation;
- a model or optimizer edit may itself raise TrialNotApplicable when a copy turns out not to
  fit (a reset_parameters that replaces its Parameters, an LBFGS that takes no second group).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from advisor.experiments.recipe import DEFAULT_LR
from advisor.probing.batches import first_tensor, forward
from advisor.trials import activation
from advisor.trials.arm import ArmSpec, Transform, TrialEnv, TrialNotApplicable
from advisor.trials.data import (
    layout_of,
    moments,
    nearly_standard,
    pair,
    rebuild,
    sampler_name,
    standardiser,
    training_loader,
    with_pair,
)

OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
WITH_MOMENTUM = ("SGD", "RMSprop")       # a `momentum` argument
WITH_BETAS = ("Adam", "AdamW")            # momentum is betas[0]
INIT_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


# =============================================================================== entry point
def apply(spec: ArmSpec, name: str, args: dict[str, Any], env: TrialEnv) -> None:
    """Apply the transform `name` to `spec`. All or nothing: when it raises
    TrialNotApplicable the spec is left exactly as it was."""
    transform = TRANSFORMS.get(name)
    if transform is None:
        raise TrialNotApplicable(f"unknown trial transform {name!r}; known: "
                                 + ", ".join(sorted(TRANSFORMS)))
    draft = dataclasses.replace(spec, model_edits=list(spec.model_edits),
                                optimizer_edits=list(spec.optimizer_edits))
    transform(draft, dict(args), env)
    for f in dataclasses.fields(spec):
        setattr(spec, f.name, getattr(draft, f.name))


# =============================================================================== optimizer
def scale_lr(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Every param group's learning rate times `factor` (and the `initial_lr` a scheduler
    built on the user's optimizer left in the group, which a new scheduler would start from)."""
    factor = float(args["factor"])
    _require_group_key(env, "lr", "learning rate")

    def edit(model: nn.Module, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
        for group in opt.param_groups:
            _need(group, "lr", opt, "learning rate")
            for key in ("lr", "initial_lr"):
                if key in group:
                    group[key] = _scaled(group[key], factor)
        return opt

    spec.optimizer_edits.append(edit)


def use_suggested_lr(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """The learning rate the probe's LR range test suggested: every group's rate scaled by
    suggestion / configured rate, so groups with their own rates keep their ratios. Not
    applicable when the test suggested nothing (its loss never fell clearly)."""
    suggested = env.ctx.obs.get("lr_range.suggested_lr")
    configured = env.ctx.obs.get("optim.lr")
    if not isinstance(suggested, (int, float)) or suggested <= 0:
        raise TrialNotApplicable("the LR range test suggested no learning rate (its loss "
                                 "never fell clearly), so there is no rate to try")
    if not isinstance(configured, (int, float)) or configured <= 0:
        raise TrialNotApplicable("the configured learning rate is unknown, so the suggestion "
                                 "cannot be applied to each param group")
    if abs(suggested / configured - 1) < 0.05:
        raise TrialNotApplicable(f"the configured learning rate ({configured:g}) is already "
                                 f"the LR range test's suggestion ({suggested:g})")
    scale_lr(spec, {"factor": suggested / configured}, env)


def set_optimizer(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """A new optimizer of that class over the same parameters and param groups, without the
    old one's state. lr and weight_decay: the argument, else each group's current value;
    momentum: SGD/RMSprop `momentum`, Adam/AdamW `betas[0]`; anything else: torch's defaults
    for that class. The runner builds any scheduler on the optimizer this edit returns."""
    name = str(args["name"])
    if name not in OPTIMIZERS:
        raise TrialNotApplicable(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    momentum = args.get("momentum")
    if momentum is not None and name not in WITH_MOMENTUM + WITH_BETAS:
        raise TrialNotApplicable(f"{name} has no momentum setting (SGD and RMSprop have "
                                 "momentum, Adam and AdamW betas[0])")
    cls = getattr(torch.optim, name)
    lr, decay = args.get("lr"), args.get("weight_decay")

    def edit(model: nn.Module, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
        groups = []
        for group in opt.param_groups:
            new: dict[str, Any] = {"params": list(group["params"])}
            rate = lr if lr is not None else group.get("lr")
            if rate is not None:
                new["lr"] = float(rate)
            wd = decay if decay is not None else group.get("weight_decay")
            if wd is not None:
                new["weight_decay"] = float(wd)
            if momentum is not None:
                if name in WITH_MOMENTUM:
                    new["momentum"] = float(momentum)
                else:  # beta2 kept from an Adam-family group, else torch's default
                    beta2 = group["betas"][1] if "betas" in group else 0.999
                    new["betas"] = (float(momentum), float(beta2))
            groups.append(new)
        try:
            return cls(groups)
        except (ValueError, TypeError) as exc:
            raise TrialNotApplicable(f"{name} cannot be built on these parameter groups: "
                                     f"{exc}") from None

    spec.optimizer_edits.append(edit)


def set_momentum(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """SGD/RMSprop `momentum`, Adam-family `betas[0]`, in every group."""
    value = float(args["value"])
    sample = _sample_optimizer(env)
    if sample is not None and sample.param_groups:
        current = [_momentum_of(sample, g) for g in sample.param_groups]
        if all(c == value for c in current):
            raise TrialNotApplicable(f"the optimizer ({type(sample).__name__}) already has "
                                     f"momentum {value:g} in every param group")

    def edit(model: nn.Module, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
        for group in opt.param_groups:
            if _momentum_key(opt, group) == "momentum":
                group["momentum"] = value
            else:
                betas = tuple(group["betas"])
                group["betas"] = (value, *betas[1:])
        return opt

    spec.optimizer_edits.append(edit)


def set_weight_decay(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Every group's `weight_decay` (an optimizer without that setting: not applicable)."""
    value = float(args["value"])
    sample = _require_group_key(env, "weight_decay", "weight_decay setting")
    if sample is not None and sample.param_groups \
            and all(float(g["weight_decay"]) == value for g in sample.param_groups):
        raise TrialNotApplicable(f"the optimizer ({type(sample).__name__}) already has "
                                 f"weight_decay {value:g} in every param group")

    def edit(model: nn.Module, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
        for group in opt.param_groups:
            _need(group, "weight_decay", opt, "weight_decay setting")
            group["weight_decay"] = value
        return opt

    spec.optimizer_edits.append(edit)


def clip_grad_norm(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Clip the global gradient norm before each update (the probe's own step does it)."""
    _own_step(env, "clip the gradients")
    spec.clip_grad_norm = float(args["max_norm"])


def add_missing_params(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """The trainable parameters the optimizer does not hold, added as one more param group
    with the first group's settings."""
    sample = _sample_optimizer(env)
    if sample is not None:
        missing = _missing(env.ctx.pristine, sample, trainable_only=True)
        if not missing:
            raise TrialNotApplicable("the optimizer already holds every trainable parameter")
    spec.optimizer_edits.append(_add_missing)


def unfreeze(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Every parameter trainable: requires_grad, in the optimizer, and in no param group whose
    learning rate is 0 (such a group gets the largest rate of the others)."""
    model = env.ctx.pristine
    frozen = sum(1 for p in model.parameters() if not p.requires_grad)
    sample = _sample_optimizer(env)
    missing = _missing(model, sample, trainable_only=False) if sample is not None else []
    stalled = bool(sample is not None and _zero_rate_groups(sample))
    if not frozen and not missing and not stalled:
        raise TrialNotApplicable("every parameter is already trainable and in the optimizer "
                                 "(and no param group has a learning rate of 0)")

    def thaw(m: nn.Module) -> None:
        for p in m.parameters():
            p.requires_grad_(True)

    spec.model_edits.append(thaw)
    spec.optimizer_edits.append(_add_missing)
    spec.optimizer_edits.append(_restart_zero_rates)


def _zero_rate_groups(opt: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """The param groups at learning rate 0 while another group trains."""
    rates = [float(g["lr"]) for g in opt.param_groups if "lr" in g]
    if not any(r > 0 for r in rates):
        return []
    return [g for g in opt.param_groups if "lr" in g and float(g["lr"]) == 0.0]


def _restart_zero_rates(model: nn.Module, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
    stalled = _zero_rate_groups(opt)
    if stalled:
        top = max(float(g["lr"]) for g in opt.param_groups if "lr" in g)
        for group in stalled:
            old = group["lr"]
            group["lr"] = torch.full_like(old, top) if isinstance(old, torch.Tensor) else top
            if "initial_lr" in group:
                group["initial_lr"] = top
    return opt


def _add_missing(model: nn.Module, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
    missing = _missing(model, opt, trainable_only=True)
    if not missing:
        return opt
    settings = {k: (v.clone() if isinstance(v, torch.Tensor) else v)
                for k, v in (opt.param_groups[0].items() if opt.param_groups else ())
                if k != "params"}
    try:
        opt.add_param_group({"params": missing, **settings})
    except (ValueError, TypeError) as exc:
        raise TrialNotApplicable(f"{type(opt).__name__} cannot take another parameter group "
                                 f"({exc})") from None
    return opt


def _missing(model: nn.Module, opt: torch.optim.Optimizer,
             trainable_only: bool) -> list[nn.Parameter]:
    held = {id(p) for g in opt.param_groups for p in g["params"]}
    return [p for p in model.parameters()
            if id(p) not in held and (p.requires_grad or not trainable_only)]


def _sample_optimizer(env: TrialEnv) -> torch.optim.Optimizer | None:
    """An optimizer like the one each arm starts from, for looking at its groups (never
    stepped): the recipe's copy, the factory's on the pristine parameters, or the default Adam.
    None when the factory cannot be called here (the edits then check each copy)."""
    recipe = env.ctx.recipe
    if recipe.kind == "instance":
        return recipe.optimizer
    if recipe.kind == "default":
        return torch.optim.Adam(recipe.model.parameters(), lr=DEFAULT_LR)
    try:
        opt = recipe.factory(recipe.model.parameters())
    except Exception:  # the runner's build reports a broken factory
        return None
    return opt if isinstance(opt, torch.optim.Optimizer) else None


def _require_group_key(env: TrialEnv, key: str,
                       what: str) -> torch.optim.Optimizer | None:
    sample = _sample_optimizer(env)
    if sample is not None:
        for group in sample.param_groups:
            _need(group, key, sample, what)
    return sample


def _need(group: dict[str, Any], key: str, opt: torch.optim.Optimizer, what: str) -> None:
    if key not in group:
        raise TrialNotApplicable(f"the optimizer ({type(opt).__name__}) has no {what} in its "
                                 "param groups")


def _momentum_of(opt: torch.optim.Optimizer, group: dict[str, Any]) -> float:
    if _momentum_key(opt, group) == "momentum":
        return float(group["momentum"])
    return float(group["betas"][0])


def _momentum_key(opt: torch.optim.Optimizer, group: dict[str, Any]) -> str:
    if "momentum" in group:
        return "momentum"
    if "betas" in group:
        return "betas"
    raise TrialNotApplicable(f"the optimizer ({type(opt).__name__}) has no momentum (neither a "
                             "momentum nor betas setting)")


def _scaled(value: Any, factor: float) -> Any:
    if isinstance(value, torch.Tensor):
        return value * factor
    return float(value) * factor


# =============================================================================== model
def reinitialize(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """default: every module's reset_parameters() (torch's defaults); he: kaiming_normal_
    (fan_in, relu) on the Linear and Conv weights, zero biases; xavier: xavier_uniform_ on
    them, zero biases. The weights are drawn from the global RNG the runner seeds."""
    scheme = str(args["scheme"])
    model = env.ctx.pristine
    if scheme == "default":
        if not any(_reset_of(m) is not None for m in model.modules()):
            raise TrialNotApplicable("no module of the model has a reset_parameters() to restore "
                                     "its default initialisation")
    elif scheme in ("he", "xavier"):
        if not any(isinstance(m, INIT_LAYERS) for m in model.modules()):
            raise TrialNotApplicable(f"the model has no Linear or Conv layer for the {scheme} "
                                     "initialisation")
    else:
        raise TrialNotApplicable(f"unknown initialisation scheme {scheme!r}")

    def edit(m: nn.Module) -> None:
        before = [id(p) for p in m.parameters()]
        _reinit(m, scheme)
        if [id(p) for p in m.parameters()] != before:
            raise TrialNotApplicable("a module's reset_parameters() replaced its parameters "
                                     "instead of re-drawing them, so the optimizer would not "
                                     "train the new ones")

    spec.model_edits.append(edit)


@torch.no_grad()
def _reinit(model: nn.Module, scheme: str) -> None:
    for m in model.modules():
        if scheme == "default":
            reset = _reset_of(m)
            if reset is not None:
                reset()
            continue
        if not isinstance(m, INIT_LAYERS):
            continue
        if scheme == "he":
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        else:
            nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _reset_of(module: nn.Module) -> Callable[[], Any] | None:
    """The module's reset_parameters(); torch's own modules that keep it private
    (MultiheadAttention's in_proj_weight) use their _reset_parameters()."""
    reset = getattr(module, "reset_parameters", None)
    if callable(reset):
        return reset
    private = getattr(module, "_reset_parameters", None)
    if callable(private) and type(module).__module__.startswith("torch.nn"):
        return private
    return None


def set_dropout(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Every Dropout module's p (Dropout, Dropout1d/2d/3d, AlphaDropout...). Dropout called as
    a function in forward (F.dropout(x, 0.5)) cannot be changed: not applicable without a
    Dropout module."""
    p = float(args["p"])
    found = [m for m in env.ctx.pristine.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    if not found:
        raise TrialNotApplicable("the model has no Dropout module whose p a trial could set "
                                 "(dropout called as a function in forward cannot be changed)")
    if all(m.p == p for m in found):
        raise TrialNotApplicable(f"every Dropout module already has p={p:g}")

    def edit(model: nn.Module) -> None:
        for m in model.modules():
            if isinstance(m, nn.modules.dropout._DropoutNd):
                m.p = p

    spec.model_edits.append(edit)


def train_mode(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """model.train() before every training step. Not applicable when the model as handed over
    and all its modules are in training mode (the arms start from its modes)."""
    if all(m.training for m in env.ctx.pristine.modules()):
        raise TrialNotApplicable("the model and all its modules are already in training mode")
    spec.force_train_mode = True


# =============================================================================== outputs
def remove_final_activation(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Skip the activation that produces the model's output (a module swapped for
    nn.Identity, or the functional call skipped by a mode around each forward pass)."""
    final = activation.locate(env.ctx, _batches(env))
    loss = _loss_kind(env)
    if loss == "bce" and final.kind in ("sigmoid", "softmax"):
        raise TrialNotApplicable(f"without {final.described} BCELoss would receive logits "
                                 "outside [0, 1]; swapping the loss to bce_with_logits is the "
                                 "matching change")
    _change_final(spec, env, final, "identity")


def replace_final_activation(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Put sigmoid / softmax / log_softmax / identity in place of the output's activation."""
    kind = str(args["with"])
    if kind not in activation.REPLACEMENTS:
        raise TrialNotApplicable(f"unknown activation {kind!r}; known: "
                                 + ", ".join(activation.REPLACEMENTS))
    final = activation.locate(env.ctx, _batches(env))
    if final.kind == kind:
        raise TrialNotApplicable(f"the final activation is already a {kind}")
    if kind in ("softmax", "log_softmax") and (final.out_dim < 2 or final.out_width == 1):
        raise TrialNotApplicable(f"a {kind} over the model's single output is constant; it "
                                 "needs one output per class")
    if _loss_kind(env) == "bce" and kind in ("identity", "log_softmax"):
        raise TrialNotApplicable(f"BCELoss needs probabilities in [0, 1], which a {kind} output "
                                 "does not give")
    _change_final(spec, env, final, kind)


def _change_final(spec: ArmSpec, env: TrialEnv, final: activation.FinalActivation,
                  kind: str) -> None:
    dim = final.dim if final.dim is not None else (1 if final.out_dim >= 2 else -1)
    if final.modules:
        spec.model_edits.append(activation.module_edit(final, kind, dim))
    else:
        spec.forward_mode = _nested(spec.forward_mode, activation.call_mode(final, kind, dim))
    spec.outputs_are = ("probabilities" if kind in ("sigmoid", "softmax")
                        else "logits" if env.task not in (None, "regression") else None)
    spec.changes_loss_meaning = spec.changes_loss_meaning or _loss_meaning_changes(env)


def _loss_meaning_changes(env: TrialEnv) -> bool:
    """Whether the setup's loss at evaluation stops being a fair judge of the arm: a
    classification loss of logits and of probabilities (or of another loss's outputs) are
    different quantities, so the error rate decides; a regression loss measures the outputs
    the same way whatever the arm trained with (MSE after training with Huber, with or without
    a final ReLU)."""
    return env.task != "regression"


def _nested(outer: Callable[[], Any] | None, inner: Callable[[], Any]) -> Callable[[], Any]:
    if outer is None:
        return inner

    @contextlib.contextmanager
    def both() -> Iterator[None]:
        with outer(), inner():
            yield

    return both


# =============================================================================== loss
LOSSES: dict[str, Callable[[], nn.Module]] = {
    "cross_entropy": nn.CrossEntropyLoss, "nll": nn.NLLLoss, "bce": nn.BCELoss,
    "bce_with_logits": nn.BCEWithLogitsLoss, "mse": nn.MSELoss, "l1": nn.L1Loss,
    "huber": nn.HuberLoss,
}
CLASS_INDEX = ("cross_entropy", "nll")
OUTPUTS_ARE = {"cross_entropy": "logits", "nll": "logits", "bce_with_logits": "logits",
               "bce": "probabilities"}


def swap_loss(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Train with that torch.nn loss, the targets converted as it needs: class indices (long,
    a trailing 1-dim squeezed, one-hot rows turned into their index) for cross_entropy and nll;
    float targets shaped like the outputs (class indices one-hot encoded) for the others."""
    to = str(args["to"])
    if to not in LOSSES:
        raise TrialNotApplicable(f"unknown loss {to!r}; known: {', '.join(LOSSES)}")
    _own_step(env, "swap the loss")
    if _loss_kind(env) == to:
        raise TrialNotApplicable(f"the setup's loss_fn already computes {to}")
    final = env.ctx.structure.final_activation
    if to == "nll" and final != "log_softmax":
        raise TrialNotApplicable("NLLLoss expects log-probabilities and the model's output does "
                                 "not end in a log_softmax")
    if to == "bce" and final not in ("sigmoid", "softmax"):
        raise TrialNotApplicable("BCELoss expects probabilities in [0, 1] and the model's output "
                                 "does not end in a sigmoid or softmax")
    task = env.ctx.task
    if to in CLASS_INDEX and task is not None and task.output_size == 1:
        raise TrialNotApplicable(f"{to} needs one output per class and the model has a single "
                                 "output")
    loss_fn = _converted_loss(LOSSES[to](), to)
    _dry_run(env, loss_fn, f"{to}")
    spec.loss_fn = loss_fn
    spec.outputs_are = OUTPUTS_ARE.get(to, spec.outputs_are)
    spec.changes_loss_meaning = spec.changes_loss_meaning or _loss_meaning_changes(env)


def _converted_loss(loss: nn.Module, to: str) -> Callable[[Any, Any], Any]:
    def fn(outputs: Any, targets: Any) -> Any:
        out = first_tensor(outputs) if not isinstance(outputs, torch.Tensor) else outputs
        if out is None or not isinstance(targets, torch.Tensor):
            raise TrialNotApplicable(f"the {to} loss needs tensor outputs and targets, and the "
                                     f"model returns {type(outputs).__name__} with "
                                     f"{type(targets).__name__} targets")
        if to in CLASS_INDEX:
            return loss(out, class_indices(out, targets))
        return loss(out, like_outputs(out, targets))
    return fn


def class_indices(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Targets as the class indices cross_entropy and nll take."""
    t = targets
    if t.is_floating_point() and t.shape == outputs.shape and t.dim() >= 2:
        t = t.argmax(1)  # one-hot (or probability) rows
    elif t.dim() == outputs.dim() and t.dim() >= 2 and t.shape[-1] == 1:
        t = t.squeeze(-1)
    if t.is_floating_point():
        t = t.round()
    return t.long()


def like_outputs(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Float targets shaped like the outputs; class indices against one output per class are
    one-hot encoded along dimension 1."""
    t = targets
    if t.dim() == outputs.dim() and t.dim() >= 2 and t.shape[-1] == 1 \
            and t.shape != outputs.shape and outputs.shape[-1] != 1:
        t = t.squeeze(-1)
    classes = outputs.shape[1] if outputs.dim() >= 2 else 1
    indices = not t.is_floating_point() and not t.is_complex()
    if indices and classes > 1 and tuple(t.shape) == (outputs.shape[0], *outputs.shape[2:]):
        t = nn.functional.one_hot(t.long(), classes).movedim(-1, 1)
    t = t.to(outputs.dtype)
    if t.shape != outputs.shape and t.numel() == outputs.numel():
        t = t.reshape(outputs.shape)
    return t


def _dry_run(env: TrialEnv, loss_fn: Callable[[Any, Any], Any], what: str) -> None:
    """The new loss on one cached batch of a scratch copy: a loss that cannot take these
    outputs and targets is not applicable, rather than a crash in every seed."""
    outputs, targets = _sample_forward(env)
    try:
        with torch.no_grad():
            loss_fn(outputs, targets)
    except TrialNotApplicable:
        raise
    except Exception as exc:
        raise TrialNotApplicable(f"the {what} loss cannot take the model's outputs and these "
                                 f"targets ({type(exc).__name__}: {str(exc).strip()[:200]})") \
            from None


# =============================================================================== data
def standardize_inputs(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Inputs (x - mean) / std with the training statistics: per feature for tables (and each
    position of a sequence), per channel for images."""
    if env.ctx.setup.step is not None:
        raise TrialNotApplicable("the setup's step reads the batches, so the trial cannot tell "
                                 "which tensor is the input")
    inputs = []
    for b in _batches(env):
        x, _ = pair(b, "the inputs cannot be told apart")
        if not isinstance(x, torch.Tensor):
            raise TrialNotApplicable(f"the inputs are a {type(x).__name__}, not one tensor, so "
                                     "they cannot be standardised as a whole")
        if not x.is_floating_point():
            raise TrialNotApplicable(f"the inputs are {x.dtype} (token ids or codes), which "
                                     "standardising would turn into other values")
        inputs.append(x)
    layout = layout_of(inputs[0], env.ctx.structure.input_layout)
    mean, std, count = moments(inputs, layout, "inputs")
    if nearly_standard(mean, std, count):
        raise TrialNotApplicable("the inputs are already standardised (every feature's mean "
                                 "near 0 and standard deviation near 1, within the sampling "
                                 f"error of {count} training values)")
    fn = standardiser(mean, std)
    spec.batch_fn = _then(spec.batch_fn, lambda b: with_pair(b, inputs=fn(pair(b, "")[0])))


def scale_targets(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Regression targets standardised with the training statistics inside the training loss;
    the outputs mapped back (output_fn) for the setup's loss at evaluation."""
    if env.task != "regression":
        raise TrialNotApplicable(f"scaling the targets applies to regression, and this task is "
                                 f"{env.task or 'unknown'}")
    _own_step(env, "scale the targets inside the loss")
    targets = []
    for b in _batches(env):
        _, y = _targets_of(env, b)
        if not isinstance(y, torch.Tensor) or not y.is_floating_point():
            raise TrialNotApplicable("the regression targets are not one floating-point tensor")
        targets.append(y)
    layout = "channel" if targets[0].dim() >= 3 else "last"
    mean, std, count = moments(targets, layout, "targets")
    if nearly_standard(mean, std, count):
        raise TrialNotApplicable("the targets are already standardised (mean near 0 and "
                                 "standard deviation near 1, within the sampling error of "
                                 f"{count} training values)")
    scale, unscale = standardiser(mean, std), standardiser(mean, std, inverse=True)
    base = spec.loss_fn or env.ctx.setup.loss_fn
    spec.loss_fn = lambda outputs, y: base(outputs, scale(y))
    previous = spec.output_fn
    spec.output_fn = (unscale if previous is None
                      else (lambda out: unscale(previous(out))))


def fix_target_shape(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Targets reshaped to the outputs' shape (per sample) when they hold as many elements."""
    if env.ctx.setup.step is not None:
        raise TrialNotApplicable("the setup's step builds the targets, so the trial cannot "
                                 "reshape them")
    outputs, targets = _sample_forward(env)
    out = outputs if isinstance(outputs, torch.Tensor) else None
    if out is None or not isinstance(targets, torch.Tensor):
        raise TrialNotApplicable("the outputs and targets are not single tensors")
    if tuple(targets.shape) == tuple(out.shape):
        raise TrialNotApplicable(f"the targets already have the outputs' shape "
                                 f"{tuple(out.shape)}")
    if targets.numel() != out.numel() or out.dim() == 0:
        raise TrialNotApplicable(f"the targets {tuple(targets.shape)} and outputs "
                                 f"{tuple(out.shape)} hold different numbers of values, so "
                                 "reshaping cannot align them")
    tail = tuple(out.shape[1:])
    per_sample = 1
    for n in tail:
        per_sample *= n

    def reshape(batch: Any) -> Any:
        _, y = pair(batch, "")
        if isinstance(y, torch.Tensor) and y.dim() > 0 and y.numel() == y.shape[0] * per_sample:
            return with_pair(batch, targets=y.reshape(y.shape[0], *tail))
        return batch

    spec.batch_fn = _then(spec.batch_fn, reshape)


def shuffle_data(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """The training data reshuffled every epoch: a new DataLoader over the same dataset with a
    RandomSampler drawn from the seed."""
    loader = training_loader(env.train_data, "reshuffle it")
    name = sampler_name(loader)
    if name == "RandomSampler":
        raise TrialNotApplicable("the training DataLoader already shuffles (RandomSampler)")
    if name != "SequentialSampler":
        raise TrialNotApplicable(f"the training DataLoader draws samples with its own {name}; "
                                 "shuffling would replace that sampler")
    spec.data = lambda seed: rebuild(loader, seed, shuffle=True)


def set_batch_size(spec: ArmSpec, args: dict[str, Any], env: TrialEnv) -> None:
    """Training batches of `size` (or the current size times `factor`), sampled as before."""
    loader = training_loader(env.train_data, "change the batch size")
    current = int(loader.batch_size or 1)
    if args.get("size") is not None:
        size = int(args["size"])
    elif args.get("factor") is not None:
        size = max(1, round(current * float(args["factor"])))
    else:
        raise TrialNotApplicable("set_batch_size needs a size or a factor")
    if size == current:
        raise TrialNotApplicable(f"the training batches already have size {current}")
    n = len(loader.dataset)  # type: ignore[arg-type]
    if loader.drop_last and size > n:
        raise TrialNotApplicable(f"with drop_last the dataset's {n} samples make no batch of "
                                 f"{size}")
    spec.data = lambda seed: rebuild(loader, seed, batch_size=size)


# =============================================================================== shared
def _own_step(env: TrialEnv, what: str) -> None:
    if env.custom_train_step:
        raise TrialNotApplicable(f"the setup trains with its own train_step, which computes the "
                                 f"loss and updates itself, so the trial cannot {what}")


def _batches(env: TrialEnv) -> list[Any]:
    """The cached training batches statistics are read from (the runner's, else the probe's)."""
    batches = list(env.stats_batches) or list(env.ctx.train_eval_batches)
    if not batches:
        raise TrialNotApplicable("no training batch was read, so the trial has nothing to "
                                 "measure the data with")
    return batches


def _targets_of(env: TrialEnv, batch: Any) -> tuple[Any, Any]:
    """(outputs or None, targets) of a batch: a pair's second half, or what the setup's step
    returns (which needs a forward pass of a scratch copy)."""
    if env.ctx.setup.step is None:
        return None, pair(batch, "")[1]
    return _forward_once(env, batch)


def _sample_forward(env: TrialEnv) -> tuple[Any, Any]:
    return _forward_once(env, _batches(env)[0])


@torch.no_grad()
def _forward_once(env: TrialEnv, batch: Any) -> tuple[Any, Any]:
    """(outputs, targets) of one batch through a scratch copy in eval mode."""
    ctx = env.ctx
    model = ctx.fresh_model()
    model.eval()
    try:
        return forward(model, ctx.on_device(batch), ctx.setup.step)
    except Exception as exc:
        raise TrialNotApplicable(f"a forward pass of a copy raised {type(exc).__name__}: "
                                 f"{str(exc).strip()[:200]}") from None


def _loss_kind(env: TrialEnv) -> str | None:
    task = env.ctx.task
    return task.loss if task is not None else None


def _then(first: Callable[[Any], Any] | None,
          then: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if first is None:
        return then
    return lambda batch: then(first(batch))


TRANSFORMS: dict[str, Transform] = {
    "scale_lr": scale_lr,
    "use_suggested_lr": use_suggested_lr,
    "set_optimizer": set_optimizer,
    "set_momentum": set_momentum,
    "set_weight_decay": set_weight_decay,
    "clip_grad_norm": clip_grad_norm,
    "remove_final_activation": remove_final_activation,
    "replace_final_activation": replace_final_activation,
    "swap_loss": swap_loss,
    "standardize_inputs": standardize_inputs,
    "scale_targets": scale_targets,
    "shuffle_data": shuffle_data,
    "reinitialize": reinitialize,
    "set_dropout": set_dropout,
    "set_batch_size": set_batch_size,
    "unfreeze": unfreeze,
    "add_missing_params": add_missing_params,
    "train_mode": train_mode,
    "fix_target_shape": fix_target_shape,
}
