"""`advisor logs` end to end on what real training runs leave on disk: one run per failure kind
and healthy ones (tests/logs/real_runs.py), written by torch's SummaryWriter, Lightning's
CSVLogger and the Hugging Face Trainer, read, judged and diagnosed by the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.cli import main
from tests.logs import real_runs

pytestmark = pytest.mark.slow

# kind -> the diagnosis the run must get (None: healthy)
EXPECTED = {
    "healthy": None,
    "healthy_sgd": None,
    "nan": "nonfinite_values",
    "diverging": "loss_diverging",
    "never_learns": "loss_not_decreasing",
    "overfitting": "overfitting",
    "scheduler_per_batch": "scheduler_stepped_per_batch",
    "bad_batch_spike": "loss_spikes",
}


def _advisor_logs(path: Path, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "report.json"
    code = main(["logs", str(path), "--json", str(out), *extra])
    assert code == 0, code
    return json.loads(out.read_text())


def _check(report: dict, expected: str | None) -> None:
    ids = {d["id"]: d["severity"] for d in report["diagnoses"]}
    if expected is None:
        assert "error" not in ids.values(), ids
        assert sum(1 for s in ids.values() if s == "warning") <= 1, ids
    else:
        assert expected in ids, ids


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_tensorboard_run_of_each_kind(kind, tmp_path):
    pytest.importorskip("tensorboard", reason="advisor[tensorboard] is not installed")
    folder = real_runs.tensorboard_run(tmp_path / "runs" / kind, kind)
    report = _advisor_logs(folder, tmp_path)
    assert report["setup"]["mode"] == "logs" and report["setup"]["source"] == "tensorboard"
    _check(report, EXPECTED[kind])


@pytest.mark.parametrize("kind", ["healthy", "overfitting", "scheduler_per_batch"])
def test_lightning_csvlogger_run_of_each_kind(kind, tmp_path):
    pytest.importorskip("lightning.pytorch", reason="lightning is not installed")
    metrics = real_runs.lightning_run(tmp_path / "pl", kind)
    report = _advisor_logs(metrics, tmp_path)
    assert report["setup"]["source"] == "lightning"
    _check(report, EXPECTED[kind])


@pytest.mark.parametrize(("kind", "expected"), [
    ("nan", "nonfinite_values"), ("healthy", None),
    # no epoch column: the rate stuck at zero is misuse, stepping per batch cannot be told
    ("scheduler_per_batch", "scheduler_misuse")])
def test_csv_table_of_each_kind(kind, expected, tmp_path):
    report = _advisor_logs(real_runs.csv_run(tmp_path / f"{kind}.csv", kind), tmp_path)
    assert report["setup"]["source"] == "csv"
    _check(report, expected)


def test_hugging_face_trainer_run_whose_nan_losses_the_trainer_hid(tmp_path):
    """SGD at a rate the tiny GPT-2 cannot take: the Trainer logs loss 0.0 with a NaN gradient
    norm from the step the loss turned NaN (its logging_nan_inf_filter)."""
    pytest.importorskip("transformers", reason="transformers is not installed")
    out = real_runs.hf_trainer_run(tmp_path / "out", lr=50.0, optim="sgd", max_grad_norm=0.0)
    report = _advisor_logs(out, tmp_path)
    assert report["setup"]["source"] == "huggingface"
    _check(report, "nonfinite_values")
    logs = report["observations"]["details"]["logs"]
    assert logs["hidden_nan_count"] > 0
    assert logs["events"]["first_nonfinite_step"] == min(logs["hidden_nan_steps"])


def test_hugging_face_trainer_healthy_run(tmp_path):
    pytest.importorskip("transformers", reason="transformers is not installed")
    out = real_runs.hf_trainer_run(tmp_path / "out", lr=1e-3)
    report = _advisor_logs(out, tmp_path)
    _check(report, None)


def test_the_report_re_diagnoses_and_renders_with_its_events(tmp_path, capsys):
    """The JSON is a probe-report document (`advisor diagnose` reads it back), the HTML holds
    the plots with the events marked, the Markdown says what was read."""
    folder = real_runs.tensorboard_run(tmp_path / "nan", "nan")
    html, md, js = tmp_path / "r.html", tmp_path / "r.md", tmp_path / "r.json"
    assert main(["logs", str(folder), "--json", str(js), "--html", str(html),
                 "--markdown", str(md)]) == 0
    printed = capsys.readouterr().out
    assert "the loss is first non-finite at step" in printed
    assert main(["diagnose", str(js)]) == 0
    assert "nonfinite_values" in capsys.readouterr().out
    page = html.read_text()
    assert page.count("<svg") >= 3 and ">NaN</text>" in page
    assert "## What was read" in md.read_text() and "`train/loss`" in md.read_text()
    assert main(["logs", str(folder), "--fail-on", "error"]) == 1
