"""How much data there is: samples, batch size, and samples per trainable parameter.

Few samples per parameter is what lets a model memorise its training set (overfitting); the
rules compare the ratio against their own thresholds.
"""

from __future__ import annotations

from advisor.facts import Judgement
from advisor.facts.records import DataRecord


def judge_sample_counts(record: DataRecord, param_count: int | None) -> Judgement:
    """data.num_samples, data.batch_size and data.samples_per_param, plus what the scan read.

    The dataset's own length counts when it has one; else the samples of the epoch read (the
    samples read when the scan stopped early: a lower bound)."""
    n = record.num_samples()
    out = Judgement(facts={"data.num_samples": n, "data.batch_size": record.batch_size})
    if param_count:
        out.facts["data.samples_per_param"] = n / param_count
    out.details["data_scan"] = {"batches": record.batches, "samples": record.samples,
                                "complete_epoch": record.complete,
                                "seconds": round(record.seconds, 3)}
    return out
