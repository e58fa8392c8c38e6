"""The Hugging Face callback on a real `transformers.Trainer` (CPU, a one-layer BERT built from
its config, no downloads): what the watch sees under the Trainer's loop (accelerate's wrapped
optimizer, `model.zero_grad()` after each step, the loss divided under gradient accumulation),
that a healthy run is reported healthy, that a faulty one gets the right diagnoses, and that
training itself is not changed by the callback.

transformers is imported by the `hf` fixture, when a test runs: collecting the fast tier (where
these end-to-end runs are deselected as slow) does not pay for its import."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from tests.integrations.helpers import assert_hooks_removed, assert_no_loop_bug

pytestmark = pytest.mark.slow
STEPS = 30


class TokenDataset(torch.utils.data.Dataset):
    """Sequences of 8 random tokens; the label says whether the first token is in the upper
    half of the vocabulary (learnable in a few dozen steps). `bad_label` plants a label out of
    range for the 2-class head."""

    def __init__(self, n: int = 64, bad_label: int | None = None):
        g = torch.Generator().manual_seed(1)
        self.ids = torch.randint(1, 50, (n, 8), generator=g)
        self.labels = (self.ids[:, 0] > 25).long()
        if bad_label is not None:
            self.labels[:] = bad_label

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.labels[i]}


@dataclass
class HuggingFace:
    """transformers and the callback class, with the tiny model and Trainer of these tests."""

    transformers: Any
    AdvisorCallback: Any

    def bert(self):
        torch.manual_seed(0)
        config = self.transformers.BertConfig(vocab_size=50, hidden_size=16,
                                              num_hidden_layers=1, num_attention_heads=2,
                                              intermediate_size=32, num_labels=2)
        return self.transformers.BertForSequenceClassification(config)

    def trainer(self, model, out, callbacks=(), steps: int = STEPS, accumulation: int = 1,
                lr: float = 1e-2, schedule: str = "linear", data=None, validate: bool = False):
        """A CPU Trainer for `steps` optimizer steps; `validate`: an evaluation every 10
        steps."""
        args = self.transformers.TrainingArguments(
            output_dir=str(out), max_steps=steps, per_device_train_batch_size=8,
            gradient_accumulation_steps=accumulation, learning_rate=lr,
            lr_scheduler_type=schedule, report_to=[], use_cpu=True, save_strategy="no",
            logging_strategy="no", disable_tqdm=True, seed=0,
            eval_strategy="steps" if validate else "no", eval_steps=10)
        return self.transformers.Trainer(
            model=model, args=args, train_dataset=data or TokenDataset(),
            eval_dataset=TokenDataset(16) if validate else None, callbacks=list(callbacks))


@pytest.fixture(scope="module")
def hf() -> HuggingFace:
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from advisor.integrations.huggingface import AdvisorCallback

    logging.getLogger("transformers").setLevel(logging.ERROR)
    return HuggingFace(transformers, AdvisorCallback)


def test_healthy_training_is_reported_healthy_and_written(hf, tmp_path, capsys):
    callback = hf.AdvisorCallback(json_path=tmp_path / "train.json")
    hf.trainer(hf.bert(), tmp_path, [callback], validate=True).train()
    report = callback.report()
    loop = report.details["loop"]
    # the Trainer's evaluations (eval mode, no grad) give the validation loss
    assert [step for step, _ in report.series["val_loss"]] == [10, 20, 30]
    assert report.setup["name"] == "transformers: BertForSequenceClassification"
    assert report.setup["optimizer"] == "AdamW"  # the torch optimizer inside accelerate's
    assert loop["optimizer_steps"] == STEPS and loop["backward_passes"] == STEPS
    assert loop["backwards_per_step"] == [1] * STEPS
    assert loop["train_mode_backwards"] == STEPS
    assert loop["optimizer_tensors"] == loop["optimizer_tensors_with_grad"] > 0
    assert len(report.series["loss"]) == STEPS
    assert report.fact("loss.trend") == "decreasing"
    assert_no_loop_bug(report)
    assert_hooks_removed()
    document = json.loads((tmp_path / "train.json").read_text(encoding="utf-8"))
    assert [d["id"] for d in document["diagnoses"]] == report.ids()
    assert "transformers: BertForSequenceClassification" in capsys.readouterr().out


def test_gradient_accumulation_is_seen_with_its_divided_loss(hf, tmp_path):
    callback = hf.AdvisorCallback(print_report=False)
    hf.trainer(hf.bert(), tmp_path, [callback], steps=16, accumulation=2).train()
    report = callback.report()
    loop = report.details["loop"]
    assert loop["optimizer_steps"] == 16 and loop["backward_passes"] == 32
    # the Trainer divides each micro-batch loss by the accumulation steps
    assert loop["accumulation_scaled_backwards"] >= 30
    assert_no_loop_bug(report)


def test_accumulation_windows_are_counted_from_the_first_step(hf, tmp_path):
    callback = hf.AdvisorCallback(print_report=False)
    hf.trainer(hf.bert(), tmp_path, [callback], steps=16, accumulation=2).train()
    report = callback.report()
    assert report.details["loop"]["backwards_per_step"] == [2] * 16
    assert len(report.series["loss"]) == 16


def test_zero_grad_check_and_update_ratio_are_made(hf, tmp_path):
    callback = hf.AdvisorCallback(print_report=False)
    hf.trainer(hf.bert(), tmp_path, [callback], steps=12).train()
    report = callback.report()
    assert report.details["loop"]["stale_checked_steps"] == 11
    assert report.fact("update.ratio_median", 0.0) > 0


def test_callback_leaves_training_bit_identical(hf, tmp_path):
    """Seeded runs with and without the callback (sampled and every-step statistics) end with
    exactly the same weights and optimizer state: the watch reads, never writes (dropout is on,
    so a random number drawn by the watch would show)."""

    def final_state(callbacks):
        model = hf.bert()
        trainer = hf.trainer(model, tmp_path, callbacks, steps=12)
        trainer.train()
        return model.state_dict(), trainer.optimizer.state_dict()["state"]

    plain_weights, plain_opt = final_state([])
    for callback in (hf.AdvisorCallback(print_report=False),
                     hf.AdvisorCallback(print_report=False, every_step=True)):
        weights, opt = final_state([callback])
        assert callback.report().details["loop"]["optimizer_steps"] == 12
        for name, tensor in weights.items():
            assert torch.equal(tensor, plain_weights[name]), name
        for index, state in opt.items():
            for key, value in state.items():
                assert torch.equal(value, plain_opt[index][key]), (index, key)


def test_learning_rate_far_too_high_is_diagnosed(hf, tmp_path):
    callback = hf.AdvisorCallback(print_report=False)
    hf.trainer(hf.bert(), tmp_path, [callback], steps=20, lr=1e3,
                schedule="constant").train()
    report = callback.report()
    assert "lr_too_high" in report.ids("error")[:2], report.ids()
    assert "loss_diverging" in report.ids(), report.ids()


def test_optimizer_created_late_is_attached_at_the_first_step(hf, tmp_path):
    """A Trainer that has no optimizer yet at on_train_begin (older transformers, some
    distributed set-ups): the watch starts at the first on_step_begin, before its forward."""
    model = hf.bert()
    args = hf.transformers.TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    state, control = hf.transformers.TrainerState(max_steps=6), hf.transformers.TrainerControl()
    callback = hf.AdvisorCallback(print_report=False)
    callback.on_train_begin(args, state, control, model=model, optimizer=None)
    assert callback.watch is None
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    loader = torch.utils.data.DataLoader(TokenDataset(), batch_size=8)
    for _, batch in zip(range(6), loader, strict=False):
        callback.on_step_begin(args, state, control, model=model, optimizer=optimizer)
        model(**batch).loss.backward()
        optimizer.step()
        model.zero_grad()
    callback.on_train_end(args, state, control, model=model, optimizer=optimizer)
    loop = callback.report().details["loop"]
    assert loop["optimizer_steps"] == 6 and loop["backwards_per_step"] == [1] * 6
    assert_no_loop_bug(callback.report())
    assert_hooks_removed()


def test_failed_training_is_reported_once_closed(hf, tmp_path):
    """The Trainer tells callbacks nothing when train() raises: close(error) ends the watch with
    the error in the report, and a watch left open is closed by the next train()."""
    callback = hf.AdvisorCallback(print_report=False)
    broken = hf.trainer(hf.bert(), tmp_path, [callback], steps=4,
                         data=TokenDataset(bad_label=7))
    with pytest.raises(IndexError) as raised:
        broken.train()
    report = callback.close(raised.value)
    assert_hooks_removed()
    assert report is callback.report()
    assert report.details["watch"]["ending"] == "crashed"
    assert "out of bounds" in report.fact("runtime.error_message")
    assert "test_huggingface.py" in report.details["runtime_error_where"]

    with pytest.raises(IndexError):
        broken.train()
    assert hasattr(torch.autograd.backward, "__wrapped__")  # left open: nobody called close
    hf.trainer(hf.bert(), tmp_path, [callback], steps=4).train()  # closes the open watch
    assert_hooks_removed()
    assert callback.report().details["loop"]["optimizer_steps"] == 4
