"""The weights before training: how far each layer's scale is from a standard initialisation,
and layers whose units all start equal (symmetric initialisation).

The probe measures per layer the std of the weights and the fans (torch); the judging below
works on those numbers and on weight matrices as numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from advisor.facts import Judgement

IDENTICAL_RTOL = 1e-6
"""Rows equal to this relative tolerance are identical: float32 rounding of one constant stays
far below it, while any random initialisation differs by many orders of magnitude more."""


@dataclass
class LayerScale:
    """One weight layer's measured initialisation: std of its weights and its fans."""

    name: str
    std: float
    fan_in: int
    fan_out: int


def init_distance(std: float, fan_in: int, fan_out: int) -> float:
    """Distance of a weight std from the nearest of He (sqrt(2/fan_in)), Xavier
    (sqrt(2/(fan_in+fan_out))) and LeCun (sqrt(1/fan_in)): max(r, 1/r) for r = std / reference.

    PyTorch's default init (std = 1/sqrt(3 fan_in)) gives 1.73 for every layer."""
    refs = (math.sqrt(2.0 / fan_in), math.sqrt(2.0 / (fan_in + fan_out)),
            math.sqrt(1.0 / fan_in))
    return min(max(std / r, r / std) for r in refs)


def init_scale_ratio(layers: Iterable[LayerScale]) -> tuple[float | None, str | None]:
    """The worst layer's distance from the nearest standard initialisation scale, and its name.

    Layers with constant weights (zero init, std 0) or a non-finite std are left to the
    symmetric-initialisation check."""
    worst, worst_name = None, None
    for layer in layers:
        if not math.isfinite(layer.std) or layer.std == 0.0:
            continue
        dist = init_distance(layer.std, layer.fan_in, layer.fan_out)
        if worst is None or dist > worst:
            worst, worst_name = dist, layer.name
    return worst, worst_name


def identical_rows(weight: np.ndarray, bias: np.ndarray | None,
                   rtol: float = IDENTICAL_RTOL) -> bool:
    """Every output unit of the layer has the same incoming weights (and bias): the units
    compute the same thing and, unless something downstream tells them apart, stay equal."""
    w = np.asarray(weight)
    if w.ndim < 2 or w.shape[0] < 2:
        return False
    rows = w.reshape(w.shape[0], -1).astype(np.float64)
    scale = float(np.abs(rows).max()) + 1e-30
    if float(np.abs(rows - rows[:1]).max()) > rtol * scale:
        return False
    if bias is not None and bias.size == w.shape[0]:
        b = np.asarray(bias).astype(np.float64)
        return float(np.abs(b - b[0]).max()) <= rtol * (float(np.abs(b).max()) + 1e-30) + 1e-30
    return True


def judge_initialisation(layers: Iterable[LayerScale], identical_row_layers: list[str],
                         identical_weight_layers: Iterable[str] = ()) -> Judgement:
    """model.init_scale_ratio (worst layer) and the layers whose units start identical: with
    their biases (`identical_row_layers`), or in their weights only (`identical_weight_layers`:
    zero or constant weights under random biases, whose units differ by a constant only and
    see nothing of their input that the others do not)."""
    out = Judgement()
    ratio, worst = init_scale_ratio(layers)
    if ratio is not None:
        out.facts["model.init_scale_ratio"] = ratio
        out.details["init_scale_worst_layer"] = worst
    out.details["identical_row_layers"] = list(identical_row_layers)
    weight_only = [n for n in identical_weight_layers if n not in identical_row_layers]
    if weight_only:
        out.details["identical_weight_layers"] = weight_only
    return out


def outputs_ignore_inputs(outputs: np.ndarray, inputs: np.ndarray,
                          rtol: float = IDENTICAL_RTOL) -> bool | None:
    """The model gives every sample of a batch the same output although their inputs differ:
    what constant (e.g. zero) weights under random biases do, since no information about the
    input passes the constant layer. None when fewer than two samples or identical inputs
    leave nothing to compare."""
    out = np.asarray(outputs, dtype=np.float64)
    x = np.asarray(inputs, dtype=np.float64)
    if out.ndim == 0 or len(out) < 2 or len(x) < 2:
        return None
    x = x.reshape(len(x), -1)
    if not bool((np.abs(x - x[:1]) > 0).any()):
        return None
    rows = out.reshape(len(out), -1)
    if not np.isfinite(rows).all():
        return None
    scale = float(np.abs(rows).max()) + 1e-30
    return bool(float(np.abs(rows - rows[:1]).max()) <= max(rtol, 1e-5) * scale)
