"""Unscaled regression targets (std in the thousands) are measured as their own fact and
named by their own rule (issue 9)."""

from __future__ import annotations

import numpy as np

from advisor.engine import Engine
from advisor.facts.labels import judge_regression_targets
from advisor.kb import load_kb


def test_target_std_is_measured_per_column():
    rng = np.random.default_rng(0)
    y = np.stack([rng.normal(0, 1, 500), rng.normal(2e5, 4e4, 500)], 1)
    facts = judge_regression_targets(y).facts
    assert 3e4 < facts["data.target_max_std"] < 5e4


def test_unscaled_targets_is_diagnosed_and_scaled_ones_are_not():
    engine = Engine(load_kb([], use_env=False))

    def ids(facts):
        return {c.id for c in engine.diagnose(facts).diagnoses}

    assert "unscaled_targets" in ids({"task.kind": "regression", "data.target_max_std": 4e4})
    assert "unscaled_targets" not in ids({"task.kind": "regression", "data.target_max_std": 1.0})
