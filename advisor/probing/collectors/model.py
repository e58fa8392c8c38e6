"""The model and optimizer before any training: structure, initialisation, hyperparameters.

Measured here on the modules (torch); the initialisation and dropout judgements are the pure
functions of advisor.facts.initialisation and advisor.facts.dropout."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advisor.facts.dropout import judge_module_dropout
from advisor.facts.initialisation import IDENTICAL_RTOL, LayerScale, judge_initialisation
from advisor.facts.initialisation import identical_rows as rows_identical
from advisor.facts.initialisation import init_scale_ratio as scale_ratio
from advisor.probing.data_scan import to_numpy
from advisor.probing.facts import Observations

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d,
                 nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Bilinear)
INIT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
            nn.FeatureAlphaDropout)
# optimizer class -> optim.kind; the Adam variants with Adam's step size (Adamax, NAdam, RAdam)
# count as adam, since the learning-rate ranges the rules use are those of the step's scale
OPTIMIZER_KINDS = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw", "RMSprop": "rmsprop",
                   "Adamax": "adam", "NAdam": "adam", "RAdam": "adam", "Adagrad": "adagrad",
                   "Adadelta": "adadelta", "LBFGS": "lbfgs"}


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Named modules whose weight is a matrix or a filter bank, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)
            and isinstance(getattr(m, "weight", None), torch.Tensor)]


def observe_model(model: nn.Module, obs: Observations) -> None:
    """Facts readable from the module tree alone."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    obs.set("model.param_count", int(sum(p.numel() for p in trainable)))
    obs.set("model.has_batchnorm",
            any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()))
    obs.apply(judge_module_dropout(dropout_rates(model)))
    obs.set("model.in_eval_mode", not model.training)
    obs.set("model.depth", _depth(model))
    obs.details["layers"] = layer_sequence(model)
    layers = weight_layers(model)
    obs.apply(judge_initialisation(
        layer_scales(model), [n for n, m in layers if identical_rows(m)],
        [n for n, m in layers if identical_weight_rows(m)]))


def dropout_rates(model: nn.Module) -> list[float]:
    """The rate of every dropout module, in module order."""
    return [float(m.p) for m in model.modules() if isinstance(m, DROPOUTS)]


def layer_sequence(model: nn.Module) -> list[str]:
    """Leaf modules in registration order, e.g. 'fc1: Linear(64->32)'."""
    out = []
    for name, m in model.named_modules():
        if list(m.children()):
            continue
        desc = type(m).__name__
        if isinstance(m, nn.Linear):
            desc += f"({m.in_features}->{m.out_features})"
        elif isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            desc += f"({m.in_channels}->{m.out_channels}, k={tuple(m.kernel_size)})"
        elif isinstance(m, DROPOUTS):
            desc += f"(p={m.p})"
        out.append(f"{name or '<model>'}: {desc}")
    return out[:200]


def _depth(model: nn.Module) -> int:
    depth = 0
    for m in model.modules():
        if isinstance(m, WEIGHT_LAYERS):
            depth += 1
        elif isinstance(m, nn.RNNBase):
            depth += int(m.num_layers)
    return depth


def architecture(model: nn.Module, uses_attention: bool) -> str:
    mods = list(model.modules())
    if uses_attention or any(isinstance(m, (nn.MultiheadAttention, nn.TransformerEncoderLayer,
                                            nn.TransformerDecoderLayer)) for m in mods):
        return "transformer"
    if any(isinstance(m, nn.RNNBase) for m in mods):
        return "rnn"
    if any(isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) for m in mods):
        return "cnn"
    if any(isinstance(m, nn.Linear) for m in mods):
        return "mlp"
    return "other"


def module_dropout_after_relu(model: nn.Module) -> bool:
    """A Dropout module directly after a ReLU module in the module order."""
    leaves = [m for m in model.modules() if not list(m.children())]
    return any(isinstance(a, (nn.ReLU, nn.ReLU6)) and isinstance(b, DROPOUTS)
               for a, b in zip(leaves, leaves[1:], strict=False))


# ------------------------------------------------------------------------- initialisation
def identical_rows(module: nn.Module, rtol: float = IDENTICAL_RTOL) -> bool:
    """Every output unit of the layer starts with the same incoming weights (and bias); judged
    by advisor.facts.initialisation.identical_rows on the layer's weights."""
    w = module.weight.detach()
    bias = getattr(module, "bias", None)
    b = to_numpy(bias.detach().double()) if isinstance(bias, torch.Tensor) else None
    return rows_identical(to_numpy(w.double()), b, rtol)


def identical_weight_rows(module: nn.Module, rtol: float = IDENTICAL_RTOL) -> bool:
    """Every output unit starts with the same incoming weights, whatever its bias (all-zero
    weights under PyTorch's random default biases included)."""
    return rows_identical(to_numpy(module.weight.detach().double()), None, rtol)


def layer_scales(model: nn.Module) -> list[LayerScale]:
    """Std of the weights and fans of every Linear/Conv layer with at least two weights."""
    out = []
    for name, m in model.named_modules():
        if not isinstance(m, INIT_LAYERS):
            continue
        w = m.weight.detach().double()
        if w.numel() < 2:
            continue
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
        out.append(LayerScale(name, float(w.std()), fan_in, fan_out))
    return out


def init_scale_ratio(model: nn.Module) -> tuple[float | None, str | None]:
    """Worst layer's distance from the nearest standard initialisation scale (see
    advisor.facts.initialisation.init_scale_ratio), and that layer's name."""
    return scale_ratio(layer_scales(model))


# ------------------------------------------------------------------------------- optimizer
def observe_optimizer(opt: torch.optim.Optimizer, defaulted: bool, obs: Observations) -> None:
    """Class and hyperparameters of the optimizer (the first group that holds parameters)."""
    kind = OPTIMIZER_KINDS.get(type(opt).__name__)
    if kind is None:
        kind = next((OPTIMIZER_KINDS[c.__name__] for c in type(opt).__mro__
                     if c.__name__ in OPTIMIZER_KINDS), "other")
    obs.set("optim.kind", kind)
    obs.set("optim.defaulted", defaulted)
    groups = [g for g in opt.param_groups if g.get("params")] or opt.param_groups
    if not groups:
        return
    g = groups[0]
    obs.set("optim.lr", _num(g.get("lr")))
    momentum = g.get("momentum")
    if momentum is None and isinstance(g.get("betas"), (tuple, list)):
        momentum = g["betas"][0]
    obs.set("optim.momentum", _num(momentum))
    obs.set("optim.weight_decay", _num(g.get("weight_decay", 0.0)))
    obs.details["optimizer"] = {
        "class": f"{type(opt).__module__}.{type(opt).__qualname__}",
        "groups": [{k: _plain(v) for k, v in grp.items() if k != "params"}
                   | {"params": len(grp["params"])} for grp in opt.param_groups],
    }


def params_not_in_optimizer(model: nn.Module, optimizer: Any) -> int:
    """Trainable parameter tensors of the model that the user's optimizer does not hold."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return 0
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    return sum(1 for p in model.parameters() if p.requires_grad and id(p) not in held)


def _num(v: Any) -> float | None:
    if isinstance(v, torch.Tensor):
        v = v.item()
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _plain(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.item() if v.numel() == 1 else v.tolist()
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return str(v)
