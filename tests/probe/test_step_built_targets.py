"""Targets a step builds itself, the same for every batch (a contrastive loss's positives at
position 0, or arange) are no labels of the data (issue 9: InfoNCE read as constant labels)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from advisor.facts.task import infer_task
from advisor.probing.collectors.data import observe_data
from advisor.probing.data_scan import scan
from advisor.probing.facts import Observations


def _views(n: int = 128, batch: int = 32):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=g)
    y = torch.randint(0, 4, (n,), generator=g)
    return [([x[i:i + batch] + 0.1 * torch.randn(batch, 6, generator=g),
              x[i:i + batch] + 0.1 * torch.randn(batch, 6, generator=g)], y[i:i + batch])
            for i in range(0, n, batch)]


def _info_nce(labels_kind: str):
    def step(model, batch):
        (a, b), _ = batch
        za, zb = F.normalize(model(a), dim=1), F.normalize(model(b), dim=1)
        logits = za @ zb.T / 0.1
        if labels_kind == "zeros":  # positives moved to column 0
            pos = logits.diagonal().unsqueeze(1)
            neg = logits.masked_select(~torch.eye(len(a), dtype=torch.bool)).view(len(a), -1)
            return torch.cat([pos, neg], 1), torch.zeros(len(a), dtype=torch.long)
        return logits, torch.arange(len(a))
    return step


def _label_facts(step, batches) -> dict:
    result = scan(batches, step=step, model=nn.Linear(6, 8))
    targets = result.record().all_targets()
    task = infer_task(None, "cross_entropy", (32, 32), targets)
    obs = Observations()
    observe_data(result, task, 100, obs)
    return obs.facts


def test_contrastive_positions_are_not_judged_as_labels():
    for kind in ("zeros", "arange"):
        facts = _label_facts(_info_nce(kind), _views())
        assert "data.labels_constant" not in facts
        assert "data.class_imbalance_ratio" not in facts
        assert "model.output_class_mismatch" not in facts
        assert facts["data.num_samples"] == 128


def test_labels_read_from_the_batch_are_still_judged():
    def step(model, batch):
        (a, _), y = batch
        return model(a), y

    facts = _label_facts(step, _views())
    assert facts["data.labels_constant"] is False
    assert "data.class_imbalance_ratio" in facts


def test_constant_labels_in_the_data_are_still_found():
    def step(model, batch):
        (a, _), y = batch
        return model(a), y

    batches = [(views, torch.zeros_like(y)) for views, y in _views()]
    assert _label_facts(step, batches)["data.labels_constant"] is True


def test_constant_labels_converted_by_the_step_are_still_found():
    """A step that returns `y.float()` (another dtype, another object) reads its targets from
    the batch: constant labels there are still the data's."""
    def step(model, batch):
        (a, _), y = batch
        return model(a)[:, 0], y.float()

    batches = [(views, torch.zeros_like(y)) for views, y in _views()]
    result = scan(batches, step=step, model=nn.Linear(6, 8))
    assert result.record().targets_built_by_step is False
