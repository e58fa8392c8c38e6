"""data.shuffled, now measured, against the label-order rules of the built-in knowledge base:
a shuffling sampler must not silence the order statistic, and a sorted order statistic must
still conclude unshuffled data (the facts are what the probe records for the examples)."""

from __future__ import annotations

import numpy as np
import pytest

from advisor.engine import Engine
from advisor.facts.order import order_correlation
from advisor.facts.records import DataRecord
from advisor.facts.task import TaskInfo
from advisor.kb import load_kb


@pytest.fixture(scope="module")
def engine():
    return Engine(load_kb())


def _ids(engine, facts):
    return [c.rule.id for c in engine.diagnose(facts).diagnoses]


def test_sorted_labels_are_unshuffled_whatever_the_sampler(engine):
    # a RandomSampler over data whose batches are still sorted (e.g. a sorting collate)
    assert "unshuffled_data" in _ids(engine, {"data.order_correlation": 0.98,
                                              "data.shuffled": True})
    # the unshuffled_sorted_labels example: SequentialSampler and sorted labels
    assert "unshuffled_data" in _ids(engine, {"data.order_correlation": 1.0,
                                              "data.shuffled": False})


def test_a_shuffling_sampler_with_mixed_batches_is_silent(engine):
    # every healthy example: RandomSampler and an order statistic near 0
    assert "unshuffled_data" not in _ids(engine, {"data.order_correlation": 0.0,
                                                  "data.shuffled": True})


def _image_targets(order: str) -> DataRecord:
    """Autoencoder-style targets: 8x8 images whose first pixel is always 0 (background) and
    whose brightness depends on the sample; batches of 16 in random or brightness order."""
    rng = np.random.default_rng(0)
    levels = rng.uniform(0.1, 0.9, size=320)
    if order == "sorted":
        levels = np.sort(levels)
    images = levels[:, None] * rng.uniform(0.5, 1.0, size=(320, 64))
    images[:, 0] = 0.0
    images = images.reshape(320, 1, 8, 8)
    return DataRecord(targets=[images[i:i + 16] for i in range(0, 320, 16)])


def test_the_order_of_image_targets_is_measured():
    """Multi-valued regression targets are binned by their per-sample mean: a constant first
    pixel hid the order (None), so an unshuffled loader of randomly ordered images got
    `unshuffled_data` as an error from the sampler alone."""
    task = TaskInfo(kind="regression", source="given", loss="mse", output_size=64,
                    class_indices=False)
    shuffled = order_correlation(_image_targets("random"), task)
    ordered = order_correlation(_image_targets("sorted"), task)
    assert shuffled is not None and shuffled < 0.5
    assert ordered is not None and ordered > 0.8
