"""The Lightning callback on a real `lightning.pytorch.Trainer` (CPU, a tiny LightningModule):
what the watch sees under Lightning's closure-based optimizer steps, that a healthy fit is
reported healthy, that faulty fits get the right diagnoses, and that the fit itself is not
changed by the callback.

Lightning is imported by the `lit` fixture, when a test runs: collecting the fast tier (where
these end-to-end fits are deselected as slow) does not pay for its import."""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advisor.errors import AdvisorError
from tests.integrations.helpers import assert_hooks_removed, assert_no_loop_bug, require_diagnosis

pytestmark = pytest.mark.slow
STEPS = 40


def classifier_class(pl: Any) -> type:
    class TinyClassifier(pl.LightningModule):
        """Two linear layers with dropout on a separable 2-class problem. `fault` plants one
        bug: "detached" returns a loss cut from the graph, "eval" switches the model to eval
        mode at the start of each training epoch (Lightning switched it to train just
        before). `direct`: training_step calls the submodule (self.net(x)), not self(x)."""

        def __init__(self, lr: float = 0.1, fault: str | None = None, direct: bool = False):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1),
                                     nn.Linear(16, 2))
            self.lr, self.fault, self.direct = lr, fault, direct

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            logits = self.net(x) if self.direct else self(x)
            loss = F.cross_entropy(logits, y)
            return loss.detach() if self.fault == "detached" else loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", F.cross_entropy(self(x), y))

        def on_train_epoch_start(self):
            if self.fault == "eval":
                self.eval()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)

    return TinyClassifier


def loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)


@dataclass
class Lightning:
    """Lightning, the callback class, and the module to fit."""

    pl: Any
    AdvisorCallback: Any
    TinyClassifier: type

    def module(self, **kwargs):
        torch.manual_seed(0)
        return self.TinyClassifier(**kwargs)

    def fit(self, module, callbacks=(), steps: int = STEPS, accumulate: int = 1,
            validate: bool = False):
        """Fit on CPU for `steps` optimizer steps; `validate`: a 2-batch validation every 10
        batches, after Lightning's sanity check (eval mode, inference mode, then train)."""
        trainer = self.pl.Trainer(
            max_steps=steps, accelerator="cpu", devices=1, logger=False,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            callbacks=list(callbacks), accumulate_grad_batches=accumulate,
            val_check_interval=10, limit_val_batches=2 if validate else 0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")
            trainer.fit(module, loader(), loader() if validate else None)
        return trainer


@pytest.fixture(scope="module")
def lit() -> Lightning:
    pl = pytest.importorskip("lightning.pytorch")
    from advisor.integrations.lightning import AdvisorCallback

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    return Lightning(pl, AdvisorCallback, classifier_class(pl))


def test_healthy_fit_is_reported_healthy_with_every_step_counted(lit):
    callback = lit.AdvisorCallback(print_report=False)
    lit.fit(lit.module(), [callback], validate=True)
    report = callback.report()
    loop = report.details["loop"]
    # validations after 10 batches of each 16-batch epoch (the sanity check runs before any
    # training forward, so it is no switch)
    assert loop["eval_switch_steps"] == [10, 26]
    assert report.setup["mode"] == "watch" and report.setup["optimizer"] == "SGD"
    assert loop["optimizer_steps"] == STEPS and loop["backward_passes"] == STEPS
    assert loop["backwards_per_step"] == [1] * STEPS
    assert loop["train_mode_backwards"] == STEPS
    assert loop["optimizer_tensors"] == loop["optimizer_tensors_with_grad"] == 4
    assert len(report.series["loss"]) == STEPS
    assert report.fact("loss.trend") == "decreasing"
    assert report.series["grad_norm_global"], "no gradient statistics under closure steps"
    assert_no_loop_bug(report)
    assert_hooks_removed()


def test_accumulated_gradients_count_as_one_step_with_scaled_losses(lit):
    callback = lit.AdvisorCallback(print_report=False)
    lit.fit(lit.module(), [callback], steps=20, accumulate=2)
    loop = callback.report().details["loop"]
    assert loop["optimizer_steps"] == 20 and loop["backward_passes"] == 40
    assert loop["backwards_per_step"] == [2] * 20
    # Lightning divides each micro-batch loss by the accumulation count
    assert loop["accumulation_scaled_backwards"] == 40
    assert_no_loop_bug(callback.report())


def test_update_ratio_is_measured_under_closure_steps(lit):
    callback = lit.AdvisorCallback(print_report=False, every_step=True)
    lit.fit(lit.module(), [callback], steps=10)
    assert callback.report().fact("update.ratio_median", 0.0) > 0


def test_forwards_are_seen_when_training_step_calls_a_submodule(lit):
    callback = lit.AdvisorCallback(print_report=False)
    lit.fit(lit.module(direct=True), [callback], steps=10)
    loop = callback.report().details["loop"]
    assert loop["grad_forwards"] == 10 and loop["train_mode_backwards"] == 10


def test_callback_leaves_the_fit_bit_identical(lit):
    """Seeded fits with and without the callback (sampled and every-step statistics) end with
    exactly the same weights and optimizer state: the watch reads, never writes."""

    def final_state(callbacks):
        torch.manual_seed(0)
        module = lit.TinyClassifier()
        trainer = lit.fit(module, callbacks, steps=24)
        opt = trainer.optimizers[0].state_dict()["state"]
        return module.state_dict(), opt

    plain_weights, plain_opt = final_state([])
    for callback in (lit.AdvisorCallback(print_report=False),
                     lit.AdvisorCallback(print_report=False, every_step=True)):
        weights, opt = final_state([callback])
        assert callback.report().details["loop"]["optimizer_steps"] == 24
        assert weights.keys() == plain_weights.keys()
        for name, tensor in weights.items():
            assert torch.equal(tensor, plain_weights[name]), name
        for index, state in opt.items():
            for key, value in state.items():
                assert torch.equal(value, plain_opt[index][key]), (index, key)


def test_learning_rate_far_too_high_is_diagnosed(lit):
    callback = lit.AdvisorCallback(print_report=False)
    lit.fit(lit.module(lr=50.0), [callback], steps=30)
    report = callback.report()
    assert {"nonfinite_values", "exploding_gradients"} <= set(report.ids("error")), report.ids()
    assert report.fact("loss.nonfinite") is True
    assert report.details["watch"]["nonfinite_step"] is not None


def test_learning_rate_far_too_high_is_named_as_the_cause(lit):
    callback = lit.AdvisorCallback(print_report=False)
    lit.fit(lit.module(lr=50.0), [callback], steps=30)
    assert "lr_too_high" in callback.report().ids("error")


def test_training_in_eval_mode_is_measured_and_diagnosed(lit):
    callback = lit.AdvisorCallback(print_report=False)
    lit.fit(lit.module(fault="eval"), [callback], steps=20)
    report = callback.report()
    loop = report.details["loop"]
    assert loop["eval_mode_backwards"] == 20 and loop["train_mode_backwards"] == 0
    assert loop["mode_dependent_layers"] == ["Dropout"]
    require_diagnosis("model_left_in_eval_mode")
    assert "model_left_in_eval_mode" in report.ids()[:3], report.ids()


def test_detached_loss_ends_the_fit_and_the_report_says_why(lit):
    callback = lit.AdvisorCallback(print_report=False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        lit.fit(lit.module(fault="detached"), [callback], steps=5)
    assert_hooks_removed()
    report = callback.report()
    assert report.details["watch"]["ending"] == "crashed"
    assert "does not require grad" in report.fact("runtime.error_message")
    assert report.details["loop"]["error_type"] == "RuntimeError"
    assert report.details["loop"]["optimizer_steps"] == 0
    require_diagnosis("no_gradient_flow")
    assert "no_gradient_flow" in report.ids()[:3], report.ids()


def test_report_files_are_written_and_the_summary_printed(lit, tmp_path, capsys):
    callback = lit.AdvisorCallback(json_path=tmp_path / "fit.json",
                               markdown_path=tmp_path / "fit.md")
    lit.fit(lit.module(), [callback], steps=12)
    report = callback.report()
    document = json.loads((tmp_path / "fit.json").read_text(encoding="utf-8"))
    assert document["schema"] == "advisor-probe-report/1"
    assert document["setup"]["name"] == "lightning: TinyClassifier"
    assert [d["id"] for d in document["diagnoses"]] == report.ids()
    assert "lightning: TinyClassifier" in (tmp_path / "fit.md").read_text(encoding="utf-8")
    assert "lightning: TinyClassifier" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert all(math.isfinite(v) for v in report.series["loss"])


def test_bad_report_folder_and_early_report_are_clear_errors(lit, tmp_path):
    with pytest.raises(AdvisorError, match="does not exist"):
        lit.AdvisorCallback(json_path=tmp_path / "missing" / "fit.json")
    with pytest.raises(AdvisorError, match="has not watched any training yet"):
        lit.AdvisorCallback().report()
