"""The data judgements on hand-made records: input scale, labels, order, shift, sample counts,
shuffling. No torch: every record here is plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from advisor.facts.capacity import judge_sample_counts
from advisor.facts.inputs import judge_inputs
from advisor.facts.labels import (
    judge_classes,
    judge_regression_targets,
    label_out_of_range,
    labels_constant,
    labels_inconsistent,
    output_class_mismatch,
    robust_outlier_fraction,
)
from advisor.facts.order import judge_order, order_correlation
from advisor.facts.records import DataRecord, FeatureStats
from advisor.facts.sampling import judge_shuffling, shuffled
from advisor.facts.shift import input_shift, judge_val_shift, label_shift
from advisor.facts.task import infer_task


def _task(classes=10):
    return infer_task(None, "cross_entropy", (4, classes), np.arange(classes))


def _inputs(rows: np.ndarray, samples: int | None = None) -> DataRecord:
    stats = FeatureStats()
    stats.add(rows)
    return DataRecord(batches=1, samples=len(rows) if samples is None else samples,
                      batch_size=len(rows), complete=True, stats={"last": stats})


# ------------------------------------------------------------------------------- inputs
def test_input_scale_facts():
    rng = np.random.default_rng(0)
    rows = np.column_stack([rng.normal(100, 20, 500), rng.normal(0, 1, 500), np.full(500, 3.0)])
    j = judge_inputs(_inputs(rows), "last")
    assert j.facts["data.input_max_abs_mean"] == pytest.approx(100, rel=0.05)
    assert j.facts["data.input_max_std"] == pytest.approx(20, rel=0.1)
    assert j.facts["data.input_min_std"] == pytest.approx(1, rel=0.1)  # constant one skipped
    assert j.details["input_features"]["constant"] == 1


def test_constant_inputs_read_as_zero_std():
    j = judge_inputs(_inputs(np.ones((50, 4))), "last")
    assert j.facts["data.input_max_std"] == 0.0
    assert "data.input_min_std" not in j.facts


def test_one_sample_leaves_input_scale_unknown():
    """Issue 8 #12: one sample has zero variance everywhere; that is not "constant inputs"."""
    j = judge_inputs(_inputs(np.array([[0.3, -1.2, 5.0]])), "last")
    assert not {k for k in j.facts if k.startswith("data.input_")}
    assert j.notes == ["only 1 training sample: the data checks need at least 2"]


def test_nonfinite_inputs_noted():
    record = _inputs(np.ones((5, 2)))
    record.input_nonfinite = True
    assert "NaN or Inf" in judge_inputs(record, "last").notes[0]


def test_channel_stats_serve_when_the_layout_is_missing():
    stats = FeatureStats()
    stats.add(np.arange(20, dtype=float).reshape(10, 2))
    record = DataRecord(batches=1, samples=10, stats={"channel": stats})
    assert judge_inputs(record, "last").facts["data.input_max_abs_mean"] == pytest.approx(10)


# ------------------------------------------------------------------------------- counts
def test_sample_counts():
    record = DataRecord(batches=3, samples=96, batch_size=32, complete=False, dataset_len=1000)
    j = judge_sample_counts(record, param_count=500)
    assert j.facts == {"data.num_samples": 1000, "data.batch_size": 32,
                       "data.samples_per_param": 2.0}
    assert j.details["data_scan"]["complete_epoch"] is False
    no_len = DataRecord(batches=2, samples=40, batch_size=20, complete=True)
    assert judge_sample_counts(no_len, None).facts == {"data.num_samples": 40,
                                                       "data.batch_size": 20}


# ------------------------------------------------------------------------------- labels
def test_labels_constant_needs_two_samples():
    assert labels_constant(np.array([1, 1, 1]))
    assert not labels_constant(np.array([1, 0, 1]))
    assert not labels_constant(np.array([4]))


def test_class_facts_imbalance_and_range():
    targets = np.array([0] * 90 + [1] * 10)
    task = infer_task(None, "cross_entropy", (4, 2), targets)
    record = DataRecord(batches=1, samples=100, complete=True, targets=[targets])
    j = judge_classes(record, targets, task)
    assert j.facts["task.num_classes"] == 2
    assert j.facts["data.class_imbalance_ratio"] == 9.0
    assert j.facts["data.label_out_of_range"] is False
    assert j.details["class_counts"] == [90, 10]


def test_partial_scan_counts_classes_from_the_dataset_labels():
    seen = np.zeros(64, dtype=np.int64)              # a sorted dataset: the scan saw class 0 only
    everything = np.repeat(np.arange(4), [100, 100, 100, 50])
    task = infer_task(None, "cross_entropy", (4, 4), seen)
    record = DataRecord(batches=2, samples=64, complete=False, targets=[seen[:32], seen[32:]],
                        global_targets=everything)
    assert judge_classes(record, seen, task).facts["data.class_imbalance_ratio"] == 2.0


def test_label_out_of_range_and_output_mismatch():
    task = infer_task(None, "cross_entropy", (4, 3), np.array([0, 1, 2, 3]))
    assert label_out_of_range(np.array([0, 1, 2, 3]), task)
    assert output_class_mismatch(task, complete=True, samples=4) is True
    fine = infer_task(None, "cross_entropy", (4, 4), np.array([0, 1, 2, 3]))
    assert not label_out_of_range(np.array([0, 1, 2, 3]), fine)
    assert output_class_mismatch(fine, complete=True, samples=4) is False
    binary = infer_task(None, "bce_with_logits", (4, 3), np.array([0.0, 1.0, 1.0, 0.0]))
    assert output_class_mismatch(binary, complete=True, samples=4) is True


def test_labels_inconsistent_fractional_and_duplicates():
    task = _task(3)
    record = DataRecord(samples=10)
    assert labels_inconsistent(record, np.array([0.0, 1.5, 2.0]), task)[0] == (True, 1.0)
    record.input_hashes = {1: {0.0, 1.0}, 2: {1.0}, 3: {2.0}}
    record.knn_seen = 3
    (value, cf), why = labels_inconsistent(record, np.array([0, 1, 2]), task)
    assert (value, cf) == (True, 0.9) and "share an input" in why


def test_random_labels_are_unpredictable_real_ones_are_not():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (300, 5))
    real = (x[:, 0] > 0).astype(np.int64)
    noise = rng.integers(0, 2, 300)
    task = infer_task(None, "cross_entropy", (4, 2), real)
    for y, expected in ((real, False), (noise, True)):
        record = DataRecord(samples=300, knn_x=list(x), knn_y=[np.array([v]) for v in y],
                            knn_seen=300)
        assert labels_inconsistent(record, y, task)[0][0] is expected
    j = judge_classes(DataRecord(samples=300, complete=True, knn_x=list(x),
                                 knn_y=[np.array([v]) for v in noise], knn_seen=300),
                      noise, task)
    assert j.facts["data.labels_inconsistent"] == {"value": True, "cf": 0.7}


def test_robust_outlier_fraction():
    rng = np.random.default_rng(3)
    y = rng.normal(0, 1, 1000)
    assert robust_outlier_fraction(y) == 0.0
    y[:30] *= 100
    assert robust_outlier_fraction(y) == pytest.approx(0.03, abs=0.005)
    assert robust_outlier_fraction(y[:5]) is None
    j = judge_regression_targets(y.reshape(-1, 1))
    assert j.facts["data.target_outlier_fraction"] == pytest.approx(0.03, abs=0.005)


# -------------------------------------------------------------------------------- order
def _batches(labels, size=32):
    return [labels[i:i + size] for i in range(0, len(labels), size)]


def test_order_correlation_sorted_vs_shuffled():
    labels = np.repeat(np.arange(10), 64)
    shuffled_labels = np.random.default_rng(0).permutation(labels)
    sorted_rec = DataRecord(targets=_batches(labels), complete=True)
    shuffled_rec = DataRecord(targets=_batches(shuffled_labels), complete=True)
    assert order_correlation(sorted_rec, _task()) > 0.9
    assert order_correlation(shuffled_rec, _task()) < 0.2
    assert judge_order(DataRecord(targets=[labels], complete=True), _task()).facts == {}


def test_order_of_regression_targets_uses_deciles():
    y = np.linspace(0, 1, 640)
    task = infer_task(None, "mse", (4, 1), y.reshape(-1, 1))
    record = DataRecord(targets=[b.reshape(-1, 1) for b in _batches(y)], complete=True)
    assert order_correlation(record, task) > 0.8


# -------------------------------------------------------------------------------- shift
def test_label_shift_corrects_for_small_samples():
    rng = np.random.default_rng(1)
    train = rng.integers(0, 10, 2000)
    assert label_shift(train, rng.integers(0, 10, 60), _task()) < 0.1
    assert label_shift(train, rng.integers(0, 3, 200), _task()) > 0.5


def test_input_shift_and_val_judgement():
    rng = np.random.default_rng(2)
    a, b, c = FeatureStats(), FeatureStats(), FeatureStats()
    a.add(rng.normal(0, 1, (2000, 5)))
    b.add(rng.normal(0, 1, (100, 5)))
    c.add(rng.normal(5, 1, (100, 5)))
    assert input_shift(a, b, 2000, 100) < 0.1
    assert input_shift(a, c, 2000, 100) > 3
    train = DataRecord(samples=2000, targets=[rng.integers(0, 10, 2000)], stats={"last": a})
    val = DataRecord(samples=100, targets=[rng.integers(0, 10, 100)], stats={"last": c})
    facts = judge_val_shift(train, val, _task(), "last").facts
    assert facts["data.val_input_shift"] > 3 and facts["data.val_label_shift"] < 0.1


# ------------------------------------------------------------------------------ sampling
@pytest.mark.parametrize("sampler, flag, expected", [
    ("torch.utils.data.sampler.RandomSampler", None, True),
    ("torch.utils.data.sampler.SubsetRandomSampler", None, True),
    ("torch.utils.data.sampler.WeightedRandomSampler", None, True),
    ("torch.utils.data.sampler.SequentialSampler", None, False),
    ("torch.utils.data.distributed.DistributedSampler", True, True),
    ("torch.utils.data.distributed.DistributedSampler", False, False),
    ("torch.utils.data.distributed.DistributedSampler", None, None),
    ("my_project.data.BucketSampler", None, None),
    ("torch.utils.data.dataloader._InfiniteConstantSampler", None, None),
    (None, None, None),
])
def test_shuffled_from_the_sampler_type(sampler, flag, expected):
    assert shuffled(sampler, flag) is expected
    facts = judge_shuffling(sampler, flag).facts
    assert facts == ({} if expected is None else {"data.shuffled": expected})


def test_a_one_batch_epoch_is_neither_shuffled_nor_unshuffled():
    """Reshuffling a single batch changes nothing: no "not shuffled" alarm for it."""
    sequential = "torch.utils.data.sampler.SequentialSampler"
    assert judge_shuffling(sequential, None, single_batch_epoch=True).facts == {}
    assert judge_shuffling(sequential, None).facts == {"data.shuffled": False}
