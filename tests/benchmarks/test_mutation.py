"""The mutation tool (benchmarks/mutation): operators change what they say, patches are undone,
and the verification keeps a fault that hurts and drops one that does not."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "mutation"))

from operators import BY_NAME, OPERATORS  # noqa: E402
from programs import NotApplicable, load_program  # noqa: E402
from verify import healthy_metric_loss, hurts, train_and_measure  # noqa: E402

PROGRAM = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CRITERION = nn.CrossEntropyLoss()


def train_step(model, batch, optimizer):
    x, y = batch
    optimizer.zero_grad()
    loss = CRITERION(model(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss


def setup():
    torch.manual_seed(0)
    x = torch.randn(256, 6)
    y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 32),
                          nn.ReLU(), nn.Linear(32, 3))
    return {"model": model, "loss_fn": CRITERION,
            "train_data": DataLoader(TensorDataset(x[:192], y[:192]), batch_size=16,
                                     shuffle=True),
            "val_data": DataLoader(TensorDataset(x[192:], y[192:]), batch_size=64),
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
            "train_step": train_step, "task": "multiclass"}
'''


@pytest.fixture
def program_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_classifier.py"
    path.write_text(textwrap.dedent(PROGRAM))
    return path


def test_every_operator_names_accepted_ids_and_a_source() -> None:
    for op in OPERATORS:
        assert op.expect, op.name
        assert "(" in op.why, f"{op.name}: say which taxonomy or bug report it comes from"


def test_learning_rate_operator_scales_every_group(program_file: Path) -> None:
    program = load_program(program_file)
    BY_NAME["lr_x100"].apply(program)
    assert program.setup["optimizer"].param_groups[0]["lr"] == pytest.approx(10.0)


def test_loss_replacement_reaches_the_programs_own_train_step(program_file: Path) -> None:
    program = load_program(program_file)
    BY_NAME["mse_on_class_indices"].apply(program)
    assert program.module.CRITERION is program.setup["loss_fn"]
    assert not isinstance(program.module.CRITERION, nn.CrossEntropyLoss)


def test_clipping_removal_is_undone(program_file: Path) -> None:
    original = torch.nn.utils.clip_grad_norm_
    program = load_program(program_file)
    BY_NAME["remove_clipping"].apply(program)
    assert torch.nn.utils.clip_grad_norm_ is not original
    params = [nn.Parameter(torch.ones(3))]
    params[0].grad = torch.full((3,), 100.0)
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    assert float(params[0].grad.norm()) > 100  # not clipped any more
    program.restore()
    assert torch.nn.utils.clip_grad_norm_ is original


def test_operator_that_does_not_fit_says_why(program_file: Path) -> None:
    program = load_program(program_file)
    with pytest.raises(NotApplicable, match="regression"):
        BY_NAME["unscaled_targets"].apply(program)


def test_sorted_unshuffled_data_is_sorted_by_label(program_file: Path) -> None:
    program = load_program(program_file)
    BY_NAME["unshuffled_sorted_data"].apply(program)
    labels = torch.cat([y for _, y in program.setup["train_data"]])
    assert torch.equal(labels, labels.sort().values)


@pytest.mark.slow
def test_verification_keeps_a_harmful_fault_and_drops_a_harmless_one(program_file: Path) -> None:
    healthy_program = load_program(program_file)
    healthy = train_and_measure(healthy_program, healthy_metric_loss(healthy_program.setup), 150)
    assert healthy.metric is not None and healthy.metric < 0.3

    broken = load_program(program_file)
    BY_NAME["label_noise"].apply(broken)
    BY_NAME["lr_div1000"].apply(broken)
    keep, why = hurts(healthy, train_and_measure(broken, healthy_metric_loss(broken.setup), 150))
    assert keep, why

    harmless = load_program(program_file)
    BY_NAME["remove_clipping"].apply(harmless)  # clipping at 1.0 barely acts on this model
    try:
        outcome = train_and_measure(harmless, healthy_metric_loss(harmless.setup), 150)
    finally:
        harmless.restore()
    keep, why = hurts(healthy, outcome)
    assert not keep, why


@pytest.mark.slow
def test_a_crash_is_a_kept_mutant(program_file: Path) -> None:
    healthy_program = load_program(program_file)
    healthy = train_and_measure(healthy_program, healthy_metric_loss(healthy_program.setup), 20)
    broken = load_program(program_file)
    BY_NAME["wrong_output_size"].apply(broken)
    outcome = train_and_measure(broken, healthy_metric_loss(broken.setup), 20)
    assert outcome.crashed and ("IndexError" in outcome.crashed
                                or "out of bounds" in outcome.crashed)
    assert hurts(healthy, outcome)[0]
