"""The catalogue of fault operators: one real fault each, with the diagnoses an expert accepts.

Operators are drawn from the taxonomies of real deep-learning faults: DeepCrime's mutation
operators (Humbatova, Jahangirova, Tonella, ISSTA 2021: change learning rate, remove/alter
weight initialisation, change activation, change loss, add weight regularisation, change dropout
rate, change batch size, unnormalised data, label noise/imbalance, reduce training data, freeze
layers...), the taxonomy of real faults (Humbatova et al., ICSE 2020: wrong output
activation, wrong loss for the task, missing normalisation, wrong tensor shape, model left in
evaluation mode, parameters not given to the optimizer) — plus the faults of reported bugs the
advisor's rules cite (softmax before CrossEntropyLoss, sigmoid before BCEWithLogitsLoss,
hand-written log(softmax), target (N,) vs output (N,1) broadcasting, a summed loss).

Each operator rewrites a freshly loaded `Program` in place and raises `NotApplicable` when the
program has nothing to mutate. `expect` lists the diagnosis ids an expert would accept as naming
the fault (the cause, or the measured symptom that points straight at it).
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from programs import (
    NotApplicable,
    Program,
    class_targets,
    layers,
    map_pairs,
    model_output,
    optimizer_of,
    output_layer,
    rebuild_loader,
    replace_module,
    set_hyperparameter,
    tensor_loader,
    train_pairs,
)
from torch import nn

LR_KEYS_SET_BY_SCHEDULER = ("max_lr", "min_lr", "initial_lr")


@dataclass(frozen=True)
class Operator:
    name: str
    expect: tuple[str, ...]
    apply: Callable[[Program], None]
    why: str  # the fault in one line, with its source in the taxonomies


# ---------------------------------------------------------------- optimizer


def _scale_lr(factor: float) -> Callable[[Program], None]:
    def apply(program: Program) -> None:
        opt = optimizer_of(program)
        for group in opt.param_groups:
            group["lr"] = group["lr"] * factor
            for key in LR_KEYS_SET_BY_SCHEDULER:
                if key in group:
                    group[key] = group[key] * factor
        opt.defaults["lr"] = opt.defaults["lr"] * factor
        factory = program.setup["scheduler"]
        if factory is not None:
            program.setup["scheduler"] = _scaled_scheduler(factory, factor)
    return apply


def _scaled_scheduler(factory: Callable, factor: float) -> Callable:
    """Schedulers that set the rate from their own arguments (OneCycleLR's max_lr) are scaled
    after construction, so the mutant's rate is `factor` times the healthy one at every step."""
    def build(opt: torch.optim.Optimizer):
        sched = factory(opt)
        for group in opt.param_groups:
            if "max_lr" in group:
                for key in ("max_lr", "min_lr", "initial_lr", "lr"):
                    group[key] = group[key] * factor
        if any("max_lr" in g for g in opt.param_groups):
            sched.base_lrs = [b * factor for b in sched.base_lrs]
        return sched
    return build


def _extreme_momentum(program: Program) -> None:
    opt = optimizer_of(program)
    if isinstance(opt, torch.optim.SGD):
        set_hyperparameter(opt, "momentum", 0.999)
        set_hyperparameter(opt, "dampening", 0.0)
        set_hyperparameter(opt, "nesterov", False)
    elif isinstance(opt, (torch.optim.Adam, torch.optim.AdamW)):
        for group in opt.param_groups:
            group["betas"] = (0.999, max(group["betas"][1], 0.999))
        opt.defaults["betas"] = opt.param_groups[0]["betas"]
    elif isinstance(opt, torch.optim.RMSprop):
        set_hyperparameter(opt, "momentum", 0.999)
    else:
        raise NotApplicable(f"{type(opt).__name__} has no momentum to raise")


def _weight_decay_one(program: Program) -> None:
    opt = optimizer_of(program)
    if "weight_decay" not in opt.defaults:
        raise NotApplicable(f"{type(opt).__name__} has no weight decay")
    set_hyperparameter(opt, "weight_decay", 1.0)


def _params_missing(program: Program) -> None:
    """The optimizer is built before some layers exist or from a sub-module only: the first half
    of the parametrised layers get gradients but are never updated."""
    opt = optimizer_of(program)
    mods = [m for _, m in program.setup["model"].named_modules()
            if any(True for _ in m.parameters(recurse=False))]
    if len(mods) < 2:
        raise NotApplicable("fewer than two parametrised layers")
    left_out = {id(p) for m in mods[:len(mods) // 2] for p in m.parameters(recurse=False)}
    for group in opt.param_groups:
        group["params"][:] = [p for p in group["params"] if id(p) not in left_out]
    if not any(group["params"] for group in opt.param_groups):
        raise NotApplicable("nothing would be left in the optimizer")


def _remove_clipping(program: Program) -> None:
    if not re.search(r"clip_grad_(norm|value)_", program.source):
        raise NotApplicable("the program does not clip gradients")
    utils = torch.nn.utils
    original = utils.clip_grad_norm_

    def clip_grad_norm_(parameters, max_norm, *args, **kwargs):  # noqa: ARG001
        return original(parameters, float("inf"), *args, **kwargs)

    def clip_grad_value_(parameters, clip_value, *args, **kwargs):  # noqa: ARG001
        return None

    for owner in (utils, utils.clip_grad, program.module):
        if hasattr(owner, "clip_grad_norm_"):
            program.patch(owner, "clip_grad_norm_", clip_grad_norm_)
        if hasattr(owner, "clip_grad_value_"):
            program.patch(owner, "clip_grad_value_", clip_grad_value_)


# ---------------------------------------------------------------- model


def _weights(program: Program) -> list[torch.Tensor]:
    kinds = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    found = [m.weight for _, m in layers(program.setup["model"], kinds)]
    if len(found) < 2:
        raise NotApplicable("fewer than two Linear/Conv layers")
    return found


def _zero_init(program: Program) -> None:
    with torch.no_grad():
        for w in _weights(program):
            w.zero_()


def _constant_init(program: Program) -> None:
    with torch.no_grad():
        for w in _weights(program):
            w.fill_(0.05)


def _huge_init(program: Program) -> None:
    with torch.no_grad():
        for w in _weights(program):
            w.mul_(20.0)


def _dropout_09(program: Program) -> None:
    drops = layers(program.setup["model"], (nn.Dropout, nn.Dropout1d, nn.Dropout2d))
    if not drops:
        raise NotApplicable("no dropout layer")
    for _, m in drops:
        m.p = 0.9


def _eval_mode(program: Program) -> None:
    """model.eval() before the loop and never model.train(): dropout and BatchNorm statistics
    are off while training."""
    model = program.setup["model"]
    norm_or_drop = (nn.Dropout, nn.Dropout2d, nn.BatchNorm1d, nn.BatchNorm2d)
    if not layers(model, norm_or_drop):
        raise NotApplicable("no dropout or BatchNorm layer: eval mode changes nothing")
    model.eval()
    model.train = types.MethodType(_stay_in_eval, model)


def _stay_in_eval(self: nn.Module, mode: bool = True) -> nn.Module:  # noqa: ARG001
    return self


def _sigmoid_activations(program: Program) -> None:
    relus = layers(program.setup["model"], (nn.ReLU,))
    if len(relus) < 2:
        raise NotApplicable("fewer than two nn.ReLU modules")
    for name, _ in relus:
        replace_module(program.setup["model"], name, nn.Sigmoid())


def _wrong_output_size(program: Program) -> None:
    """The output layer is one unit short (classes) or one too many (a single output)."""
    _, layer = output_layer(program)
    n = layer.out_features
    with torch.no_grad():
        if n >= 3:
            layer.weight.data = layer.weight.data[:n - 1].clone()
            if layer.bias is not None:
                layer.bias.data = layer.bias.data[:n - 1].clone()
            layer.out_features = n - 1
        else:
            layer.weight.data = torch.cat([layer.weight.data, layer.weight.data[-1:]])
            if layer.bias is not None:
                layer.bias.data = torch.cat([layer.bias.data, layer.bias.data[-1:]])
            layer.out_features = n + 1


def _frozen_layers(program: Program) -> None:
    """Every layer but the output layer frozen by mistake (still in the optimizer)."""
    _, head = output_layer(program)
    head_params = {id(p) for p in head.parameters()}
    frozen = [p for p in program.setup["model"].parameters() if id(p) not in head_params]
    if not frozen:
        raise NotApplicable("only the output layer has parameters")
    for p in frozen:
        p.requires_grad_(False)


def _output_hook(activation: Callable[[torch.Tensor], torch.Tensor], loss_kind: type,
                 ) -> Callable[[Program], None]:
    def apply(program: Program) -> None:
        if not isinstance(program.setup["loss_fn"], loss_kind):
            raise NotApplicable(f"the loss is not {loss_kind.__name__}")
        if not isinstance(model_output(program), torch.Tensor):
            raise NotApplicable("the model does not return one tensor")
        program.setup["model"].register_forward_hook(activation)
    return apply


def _softmax_output(module, inputs, output):  # noqa: ARG001
    return _on_logits(output, lambda t: torch.softmax(t, dim=1))


def _sigmoid_output(module, inputs, output):  # noqa: ARG001
    return _on_logits(output, torch.sigmoid)


def _on_logits(output, activation):
    """The activation on the model's logits: the output itself, or the first element of a
    tuple (a model returning (logits, probabilities), as LeNet-5 ports do)."""
    if isinstance(output, tuple):
        return (activation(output[0]), *output[1:])
    return activation(output)


# ---------------------------------------------------------------- loss


class MSEOnClassIndices(nn.Module):
    """MSELoss against the integer labels, as when a regression loss is kept for a classifier."""

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(outputs, targets.float())


class HandWrittenCrossEntropy(nn.Module):
    """-log(softmax(x))[y]: underflows to log(0) once the softmax saturates."""

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.nll_loss(torch.log(torch.softmax(outputs, dim=1)), targets)


def _replace_loss(new: Callable[[], nn.Module], kinds: tuple[type, ...]
                  ) -> Callable[[Program], None]:
    def apply(program: Program) -> None:
        old = program.setup["loss_fn"]
        if not isinstance(old, kinds):
            raise NotApplicable("the loss is not " + " or ".join(k.__name__ for k in kinds))
        if getattr(old, "weight", None) is not None:
            raise NotApplicable("a class-weighted loss")
        replacement = new()
        program.setup["loss_fn"] = replacement
        program.rebind_global(old, replacement)
    return apply


def _sum_reduction(program: Program) -> None:
    loss = program.setup["loss_fn"]
    if getattr(loss, "reduction", None) != "mean":
        raise NotApplicable("the loss is not a torch loss with reduction='mean'")
    loss.reduction = "sum"


# ---------------------------------------------------------------- data


def _unnormalised_inputs(program: Program) -> None:
    def scale(x: torch.Tensor, y: torch.Tensor):
        if not x.is_floating_point():
            raise NotApplicable("inputs are not real-valued")
        return x * 100.0 + 100.0, y
    for key in ("train_data", "val_data"):
        if program.setup[key] is not None:
            program.setup[key] = map_pairs(program.setup[key], scale)


def _unscaled_targets(program: Program) -> None:
    if program.setup.get("task") != "regression":
        raise NotApplicable("not a regression program")

    def scale(x: torch.Tensor, y: torch.Tensor):
        if not y.is_floating_point():
            raise NotApplicable("targets are not real-valued")
        return x, y * 2000.0 + 10000.0
    for key in ("train_data", "val_data"):
        if program.setup[key] is not None:
            program.setup[key] = map_pairs(program.setup[key], scale)


def _target_broadcast(program: Program) -> None:
    """Targets (N,) against outputs (N, 1), or the other way round: MSE broadcasts to (N, N)."""
    if program.setup.get("task") not in ("regression", "binary"):
        raise NotApplicable("not a single-output program")
    out = model_output(program)
    if not isinstance(out, torch.Tensor) or out.dim() not in (1, 2) or out.shape[-1] != 1 \
            and out.dim() == 2:
        raise NotApplicable("the output is not (N,) or (N, 1)")

    def reshape(x: torch.Tensor, y: torch.Tensor):
        if y.dim() == 2 and y.shape[1] == 1:
            return x, y[:, 0]
        if y.dim() == 1:
            return x, y[:, None]
        raise NotApplicable("targets are not (N,) or (N, 1)")
    for key in ("train_data", "val_data"):
        if program.setup[key] is not None:
            program.setup[key] = map_pairs(program.setup[key], reshape)


def _label_noise(program: Program) -> None:
    loader, x, y = train_pairs(program)
    labels = class_targets(program, y)
    gen = torch.Generator().manual_seed(7)
    flip = torch.rand(len(labels), generator=gen) < 0.4
    n_classes = int(labels.max()) + 1
    noisy = torch.where(flip, torch.randint(0, n_classes, labels.shape, generator=gen), labels)
    program.setup["train_data"] = rebuild_loader(loader, (x, noisy.to(y.dtype).view_as(y)))


def _class_imbalance(program: Program) -> None:
    """One class keeps all its rows, the others 5 % of theirs."""
    loader, x, y = train_pairs(program)
    labels = class_targets(program, y)
    major = int(torch.bincount(labels).argmax())
    gen = torch.Generator().manual_seed(7)
    keep = (labels == major) | (torch.rand(len(labels), generator=gen) < 0.05)
    program.setup["train_data"] = rebuild_loader(loader, (x[keep], y[keep]))


def _tiny_training_set(program: Program) -> None:
    if program.setup["val_data"] is None:
        raise NotApplicable("no validation data to show the overfitting")
    loader, x, y = train_pairs(program)
    n = max(2 * (loader.batch_size or 1), 16)
    if n * 4 > len(x):
        raise NotApplicable("the training set is already small")
    program.setup["train_data"] = rebuild_loader(loader, (x[:n], y[:n]))


def _sorted_unshuffled(program: Program) -> None:
    loader, x, y = train_pairs(program)
    labels = class_targets(program, y)
    order = torch.argsort(labels, stable=True)
    program.setup["train_data"] = rebuild_loader(loader, (x[order], y[order]), shuffle=False)


def _batchnorm_batch_one(program: Program) -> None:
    if not layers(program.setup["model"], (nn.BatchNorm1d, nn.BatchNorm2d)):
        raise NotApplicable("no BatchNorm layer")
    loader = tensor_loader(program.setup["train_data"])
    if loader is None:
        raise NotApplicable("training data is not a DataLoader over a TensorDataset")
    program.setup["train_data"] = rebuild_loader(loader, loader.dataset.tensors, batch_size=1)


# ---------------------------------------------------------------- catalogue

DIVERGENCE = ("lr_too_high", "loss_diverging", "exploding_gradients", "nonfinite_values",
              "loss_oscillating", "exploding_gradients_ahead")

OPERATORS: tuple[Operator, ...] = (
    Operator("lr_x100", DIVERGENCE + ("hyperparameter_out_of_range", "finetune_lr_too_high"),
             _scale_lr(100.0), "learning rate 100x (DeepCrime: change learning rate)"),
    Operator("lr_div1000", ("lr_too_low", "loss_not_decreasing", "underfitting",
                            "hyperparameter_out_of_range"),
             _scale_lr(1e-3), "learning rate /1000 (DeepCrime: change learning rate)"),
    Operator("remove_clipping", DIVERGENCE + ("use_gradient_clipping",),
             _remove_clipping, "gradient clipping removed (DeepCrime: remove gradient clipping)"),
    Operator("extreme_momentum", ("momentum_too_high", "hyperparameter_out_of_range",
                                  "loss_oscillating", "loss_diverging", "lr_too_high"),
             _extreme_momentum, "momentum 0.999 (DeepCrime: change optimisation function)"),
    Operator("weight_decay_1", ("weight_decay_too_high", "hyperparameter_out_of_range",
                                "underfitting"),
             _weight_decay_one, "weight decay 1 (DeepCrime: add weights regularisation)"),
    Operator("params_missing_from_optimizer", ("untrained_parameters",), _params_missing,
             "optimizer built on part of the parameters (Humbatova 2020: missing parameters)"),
    Operator("zero_init", ("symmetric_init", "bad_weight_init", "vanishing_gradients",
                                  "tiny_gradients", "untrained_parameters"),
             _zero_init, "weights initialised to zero (DeepCrime: change weights initialisation)"),
    Operator("constant_init", ("symmetric_init", "bad_weight_init"), _constant_init,
             "weights initialised to one constant (DeepCrime: change weights initialisation)"),
    Operator("huge_init", ("bad_weight_init", "exploding_gradients", "saturated_activations",
                           "initial_loss_abnormal", "nonfinite_values", "dead_relu"),
             _huge_init, "weights initialised 20x too large (DeepCrime: change initialisation)"),
    Operator("dropout_09", ("excessive_dropout", "underfitting"), _dropout_09,
             "dropout rate 0.9 (DeepCrime: change dropout rate)"),
    Operator("eval_mode", ("model_in_eval_mode",), _eval_mode,
             "model left in eval mode while training (Humbatova 2020: wrong mode)"),
    Operator("sigmoid_activations", ("vanishing_gradients", "saturated_activations",
                                     "tiny_gradients"),
             _sigmoid_activations, "ReLU replaced by sigmoid in a deep net (DeepCrime: change "
             "activation function)"),
    Operator("wrong_output_size", ("output_size_mismatch", "target_shape_mismatch",
                                   "runtime_shape_mismatch"),
             _wrong_output_size, "output layer one unit off (Humbatova 2020: wrong layer size)"),
    Operator("frozen_layers", ("untrained_parameters",), _frozen_layers,
             "all but the last layer frozen by mistake (DeepCrime: freeze layers)"),
    Operator("softmax_before_ce", ("output_activation_mismatch", "loss_task_mismatch"),
             _output_hook(_softmax_output, nn.CrossEntropyLoss),
             "softmax output fed to CrossEntropyLoss (Humbatova 2020: wrong activation)"),
    Operator("sigmoid_before_bce_logits", ("output_activation_mismatch", "loss_task_mismatch"),
             _output_hook(_sigmoid_output, nn.BCEWithLogitsLoss),
             "sigmoid output fed to BCEWithLogitsLoss (Humbatova 2020: wrong activation)"),
    Operator("mse_on_class_indices", ("loss_task_mismatch", "target_shape_mismatch",
                                      "runtime_shape_mismatch", "output_size_mismatch"),
             _replace_loss(MSEOnClassIndices, (nn.CrossEntropyLoss, nn.NLLLoss)),
             "MSE against class indices (DeepCrime: change loss function)"),
    Operator("hand_written_log_softmax", ("numerically_unsafe_op", "nonfinite_values"),
             _replace_loss(HandWrittenCrossEntropy, (nn.CrossEntropyLoss,)),
             "log(softmax(x)) written by hand (reported bugs: NaN after saturation)"),
    Operator("sum_reduced_loss", ("loss_reduction_sum", "lr_too_high", "exploding_gradients",
                                  "loss_oscillating", "loss_diverging"),
             _sum_reduction, "loss summed over the batch (reported bugs: reduction='sum')"),
    Operator("unnormalised_inputs", ("unnormalized_inputs", "saturated_activations",
                                     "exploding_gradients"),
             _unnormalised_inputs, "inputs not normalised (DeepCrime: unnormalised data)"),
    Operator("unscaled_targets", ("unscaled_targets", "outlier_targets",
                                  "initial_loss_abnormal"),
             _unscaled_targets, "regression targets left in raw units (std in the thousands)"),
    Operator("target_broadcast", ("target_shape_mismatch", "output_size_mismatch",
                                  "runtime_shape_mismatch"),
             _target_broadcast, "targets (N,) against outputs (N, 1) (reported bugs: MSE "
             "broadcasting)"),
    Operator("label_noise", ("suspicious_labels", "overfitting"), _label_noise,
             "40 % of training labels random (DeepCrime: change labels)"),
    Operator("class_imbalance", ("class_imbalance",), _class_imbalance,
             "one class kept whole, the others at 5 % (DeepCrime: unbalanced data)"),
    Operator("tiny_training_set", ("overfitting",), _tiny_training_set,
             "two batches of training data (DeepCrime: reduce training data)"),
    Operator("unshuffled_sorted_data", ("unshuffled_data",), _sorted_unshuffled,
             "training data sorted by label and not shuffled (reported bugs)"),
    Operator("batchnorm_batch_1", ("batchnorm_single_sample", "batchnorm_small_batch",
                                   "batch_too_small"),
             _batchnorm_batch_one, "batch size 1 with BatchNorm (DeepCrime: change batch size)"),
)

BY_NAME = {op.name: op for op in OPERATORS}
