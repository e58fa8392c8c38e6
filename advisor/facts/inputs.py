"""The scale of the inputs: per-feature means and standard deviations, constant features.

Rules compare these against the scale a network expects (roughly zero mean, unit variance):
raw pixel values or prices show up as a large |mean| or std, a dead feature as zero variance.
"""

from __future__ import annotations

import numpy as np

from advisor.facts import Judgement
from advisor.facts.records import DataRecord

MIN_SAMPLES = 2
"""A spread needs two samples: one sample has zero variance in every feature, which would read
as "the inputs are constant" (issue 8 #12). Below this the scale facts stay unknown."""


def too_few_samples_note(samples: int) -> str:
    """The note for a dataset too small to judge, in the words the report uses."""
    return (f"only {samples} training sample{'s' if samples != 1 else ''}: the data checks need "
            f"at least {MIN_SAMPLES}")


def judge_inputs(record: DataRecord, layout: str) -> Judgement:
    """Largest |mean|, largest std and smallest non-zero std over the input features.

    `layout` says which axis holds the features ('channel': dim 1, 'last': the last dim); the
    statistics of the other layout serve when this one was not recorded."""
    out = Judgement()
    if record.input_nonfinite:
        out.notes.append("The training inputs contain NaN or Inf values.")
        out.details["input_nonfinite"] = True
    if 0 < record.samples < MIN_SAMPLES:
        out.notes.append(too_few_samples_note(record.samples))
        return out
    stats = record.stats.get(layout) or record.stats.get("channel")
    if stats is None or stats.n == 0:
        return out
    mean, std = stats.mean, stats.std
    varying = ~stats.constant
    out.facts["data.input_max_abs_mean"] = float(np.abs(mean).max())
    out.facts["data.input_max_std"] = float(std.max())
    if varying.any():
        out.facts["data.input_min_std"] = float(std[varying].min())
    out.details["input_features"] = {"count": int(len(mean)),
                                     "constant": int((~varying).sum()),
                                     "min": float(stats.lo.min()), "max": float(stats.hi.max())}
    return out
