"""The data facts of a probe run: the streaming scan (advisor.probing.data_scan) measured, the
pure judgements (advisor.facts) decide, and these wrappers write the facts into Observations.

The scan is judged against the task (class balance means nothing for regression), so the
task comes from the first batch's loss call before `observe_data` runs.
"""

from __future__ import annotations

from typing import Any

from advisor.facts import Judgement
from advisor.facts.capacity import judge_sample_counts
from advisor.facts.inputs import judge_inputs
from advisor.facts.labels import judge_classes, judge_regression_targets, labels_constant
from advisor.facts.order import judge_order
from advisor.facts.records import FeatureStats
from advisor.facts.sampling import judge_shuffling
from advisor.facts.sequence import judge_next_token
from advisor.facts.shift import judge_val_shift
from advisor.facts.task import TaskInfo, infer_task
from advisor.probing.collectors.loss import loss_kind
from advisor.probing.data_scan import DataScan, dataset_targets, feature_rows, scan
from advisor.probing.facts import Observations

__all__ = ["DataScan", "FeatureStats", "dataset_targets", "feature_rows", "input_facts",
           "observe_data", "observe_data_before_outputs", "observe_val_shift", "scan"]


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
    if record.targets_built_by_step:
        obs.details["targets_not_judged"] = (
            "the step builds the same targets for every batch (e.g. the positions of a "
            "contrastive loss's positives): they are not labels of the data")
        return
    if task.classification:
        labels = judge_classes(record, targets, task)
    else:
        dense = bool(record.targets) and record.targets[0].ndim >= 3  # (N, C?, H, W) maps
        labels = judge_regression_targets(targets, dense=dense)
    labels.merge(judge_order(record, task))
    labels.merge(Judgement(facts={"data.labels_constant": labels_constant(targets)}))
    obs.apply(labels)


def observe_data_before_outputs(scan_: DataScan, loss_fn: Any, given_task: str | None,
                                obs: Observations, input_layout: str = "last") -> TaskInfo | None:
    """The data facts when the user's code crashed before the first outputs existed (the
    forward or the loss raised): the task is judged from the loss's kind and the targets alone
    (no output size), so the inputs, sample counts, class balance and label checks, which never
    depended on the outputs, are still reported next to the crash."""
    record = scan_.record()
    targets = record.all_targets()
    kind = obs.get("loss_fn.kind") or loss_kind(loss_fn, None)
    if targets is None:
        obs.apply(judge_sample_counts(record, obs.get("model.param_count"))
                  .merge(judge_inputs(record, input_layout)))
        return None
    shape = tuple(scan_.targets[0].shape) if scan_.targets else None
    task = infer_task(given_task, kind, None, targets, target_shape=shape)
    obs.set("task.kind", task.kind)
    observe_data(scan_, task, obs.get("model.param_count"), obs, input_layout)
    return task


def input_facts(scan_: DataScan, obs: Observations, layout: str) -> None:
    """Per-feature input statistics: largest |mean|, largest std, smallest non-zero std."""
    obs.apply(judge_inputs(scan_.record(), layout))


def observe_val_shift(train: DataScan, val: DataScan, task: TaskInfo, obs: Observations,
                      layout: str) -> None:
    """Label and input distribution of the validation data against the training data."""
    obs.apply(judge_val_shift(train.record(), val.record(), task, layout))
