"""The data facts of a probe run: the streaming scan (advisor.probing.data_scan) measured, the
pure judgements (advisor.facts) decide, and these wrappers write the facts into Observations.

The scan is judged against the task (class balance means nothing for regression), so the
task comes from the first batch's loss call before `observe_data` runs.
"""

from __future__ import annotations

from advisor.facts import Judgement
from advisor.facts.capacity import judge_sample_counts
from advisor.facts.inputs import judge_inputs
from advisor.facts.labels import judge_classes, judge_regression_targets, labels_constant
from advisor.facts.order import judge_order
from advisor.facts.records import FeatureStats
from advisor.facts.sampling import judge_shuffling
from advisor.facts.sequence import judge_next_token
from advisor.facts.shift import judge_val_shift
from advisor.facts.task import TaskInfo
from advisor.probing.data_scan import DataScan, dataset_targets, feature_rows, scan
from advisor.probing.facts import Observations

__all__ = ["DataScan", "FeatureStats", "dataset_targets", "feature_rows", "input_facts",
           "observe_data", "observe_val_shift", "scan"]


def observe_data(scan_: DataScan, task: TaskInfo, param_count: int | None,
                 obs: Observations, input_layout: str = "last") -> None:
    """Facts about the training data, judged against the task."""
    record = scan_.record()
    obs.apply(judge_sample_counts(record, param_count)
                    .merge(judge_shuffling(record.sampler, record.sampler_shuffle,
                                           record.complete and record.batches < 2))
                    .merge(judge_inputs(record, input_layout))
                    .merge(judge_next_token(record)))
    targets = record.all_targets()
    if targets is None:
        return
    if task.classification:
        labels = judge_classes(record, targets, task)
    else:
        labels = judge_regression_targets(targets)
    labels.merge(judge_order(record, task))
    labels.merge(Judgement(facts={"data.labels_constant": labels_constant(targets)}))
    obs.apply(labels)


def input_facts(scan_: DataScan, obs: Observations, layout: str) -> None:
    """Per-feature input statistics: largest |mean|, largest std, smallest non-zero std."""
    obs.apply(judge_inputs(scan_.record(), layout))


def observe_val_shift(train: DataScan, val: DataScan, task: TaskInfo, obs: Observations,
                      layout: str) -> None:
    """Label and input distribution of the validation data against the training data."""
    obs.apply(judge_val_shift(train.record(), val.record(), task, layout))
