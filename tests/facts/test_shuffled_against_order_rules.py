"""data.shuffled, now measured, against the label-order rules of the built-in knowledge base:
a shuffling sampler must not silence the order statistic, and a sorted order statistic must
still conclude unshuffled data (the facts are what the probe records for the examples)."""

from __future__ import annotations

import pytest

from advisor.engine import Engine
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
