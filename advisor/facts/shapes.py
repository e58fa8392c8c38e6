"""Output against target shapes: a mismatch that broadcasts instead of failing.

An elementwise loss of outputs (N, 1) against targets (N,) computes an (N, N) matrix of
differences without any error, and the model learns the mean target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from advisor.facts.task import CLASS_INDEX_LOSSES


def shapes_broadcast_silently(output_shape: Sequence[int], target_shape: Sequence[int],
                              loss: str, target_is_float: bool) -> bool:
    """Output and target shapes differ yet broadcast (e.g. (N, 1) against (N,) gives (N, N)).

    Class-index losses take targets without the class dimension by design; custom losses with
    integer targets are assumed to index classes too."""
    out, target = tuple(output_shape), tuple(target_shape)
    if loss in CLASS_INDEX_LOSSES or out == target:
        return False
    if loss == "other" and not target_is_float:
        return False
    try:
        np.broadcast_shapes(out, target)
    except ValueError:
        return False
    return True
