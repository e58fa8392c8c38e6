"""The scorer on a hand-computable folder: reports made by the real engine on small fact sets,
a real label file and split, read back through the real report reader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "diagnosis_accuracy.py"

DIVERGING = {"loss.trend": "diverging"}  # -> lr_too_high (error), loss_diverging (error)
FLAT = {"loss.trend": "flat", "loss.relative_decrease": 0.0}  # -> loss_not_decreasing (warning)
TINY = {**FLAT, "grad.max_norm": 1e-7}  # -> tiny_gradients, loss_not_decreasing (warnings)
LEARNING = {"loss.trend": "decreasing", "loss.relative_decrease": 0.6}  # -> nothing

LABELS = """
cases:
  p1__lr: {program: p1, operator: lr_x100, expect: [lr_too_high]}
  p2__lr: {program: p2, operator: lr_x100, expect: [loss_diverging]}
  p1__scale: {program: p1, operator: loss_scale, expect: [tiny_gradients]}
  p2__scale: {program: p2, operator: loss_scale, expect: [tiny_gradients, loss_not_decreasing]}
  p1: {program: p1, expect: []}
  p2: {program: p2, expect: []}
  p3: {program: p3, expect: []}
  p3__nan: {program: p3, operator: log_zero, expect: [nonfinite_values]}
  p3__bad: {program: p3, operator: lr_x100, expect: [lr_too_high]}
"""


@pytest.fixture
def folder(reports):
    reports.report("p1__lr", DIVERGING, seconds=2.0)
    reports.report("p2__lr", DIVERGING, seconds=4.0)
    reports.report("p1__scale", FLAT, seconds=6.0)
    reports.report("p2__scale", TINY, seconds=8.0)
    reports.report("p1", LEARNING, seconds=10.0)
    reports.report("p2", DIVERGING, seconds=12.0)
    reports.report("p3", FLAT, seconds=14.0)
    (reports.path / "p3__bad.json").write_text('{"schema": "advisor-probe-report/1", ',
                                               encoding="utf-8")
    # p3__nan: labelled, no report -> probe-failed
    reports.labels(LABELS)
    (reports.path.parent / "split.yaml").write_text(
        "calibration: [p1, p2]\nevaluation: [p3]\n", encoding="utf-8")
    return reports.path


def scores(folder: Path, split: bool = False):
    from advisor.calibration.dataset import open_reports
    from advisor.calibration.scoring import score_parts

    data = open_reports(folder, None, folder.parent / "split.yaml" if split else None)
    return score_parts(data.results(), data.split)


def test_verdicts_follow_the_shared_definitions(folder):
    [score] = scores(folder)
    assert score.verdicts == {
        "p1__lr": "detected", "p2__lr": "detected", "p1__scale": "missed",
        "p2__scale": "detected", "p1": "healthy-clean", "p2": "false-alarm",
        "p3": "healthy-clean", "p3__nan": "probe-failed", "p3__bad": "probe-failed"}
    totals = score.totals()
    assert (totals["broken"], totals["detected"], totals["healthy"], totals["clean"],
            totals["probe_failed"]) == (6, 3, 3, 2, 2)
    # the report's own timing, not the time it took to read it
    assert (totals["time_total"], totals["time_median"], totals["time_max"]) == (56.0, 8.0, 14.0)


def test_precision_recall_per_id_by_hand(folder):
    [score] = scores(folder)
    got = {i: (f.tp, f.fp, f.fn) for i, f in score.per_id.items()}
    assert got == {
        "lr_too_high": (1, 2, 1),          # TP p1__lr; FP p2__lr, p2 (healthy); FN p3__bad
        "loss_diverging": (1, 2, 0),       # TP p2__lr; FP p1__lr, p2
        "loss_not_decreasing": (1, 2, 0),  # TP p2__scale; FP p1__scale, p3
        "tiny_gradients": (1, 0, 1),       # TP p2__scale; FN p1__scale
        "nonfinite_values": (0, 0, 1),     # FN p3__nan (no report)
    }
    assert score.per_id["lr_too_high"].precision == pytest.approx(1 / 3)
    assert score.per_id["lr_too_high"].recall == pytest.approx(1 / 2)
    assert score.per_id["tiny_gradients"].f1 == pytest.approx(2 / 3)


def test_confusion_and_false_alarms(folder):
    [score] = scores(folder)
    assert dict(score.confusion) == {("tiny_gradients", "loss_not_decreasing"): 1,
                                     ("nonfinite_values", "(probe failed)"): 1,
                                     ("lr_too_high", "(probe failed)"): 1}
    alarms = {name: [(f.id, f.severity) for f in found] for name, found in score.alarms.items()}
    assert alarms == {"p1": [],
                      "p2": [("lr_too_high", "error"), ("loss_diverging", "error")],
                      "p3": [("loss_not_decreasing", "warning")]}


def test_split_gives_figures_per_half(folder):
    calibration, evaluation = scores(folder, split=True)
    assert (calibration.part, evaluation.part) == ("calibration", "evaluation")
    assert sorted(calibration.verdicts) == ["p1", "p1__lr", "p1__scale", "p2", "p2__lr",
                                            "p2__scale"]
    t = evaluation.totals()
    assert (t["broken"], t["detected"], t["healthy"], t["clean"], t["probe_failed"]) == \
        (2, 0, 1, 1, 2)


def test_text_tables_line_up(folder):
    from advisor.calibration.scoring import render_text

    text = render_text(scores(folder, split=True))
    lines = text.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("id "))
    # fixed width: every row of the per-id table starts its `tp` column at the same place
    column = lines[header].index(" tp") + 1
    end = lines.index("", header)
    rows = lines[header + 2: end]
    assert len(rows) == 4 and all(row[column:column + 3].strip().isdigit() for row in rows), rows
    lr_row = next(row for row in rows if row.startswith("lr_too_high "))
    assert lr_row.split() == ["lr_too_high", "1", "2", "0", "0.33", "1.00", "0.50"]
    assert "tiny_gradients       loss_not_decreasing      1" in text
    summary = next(ln for ln in lines if ln.startswith("calibration "))
    assert summary.split() == ["calibration", "2", "3/4", "=", "75%", "1/2", "=", "50%", "0",
                               "7.0", "12.0", "42.0"]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_script_scores_a_labelled_folder_made_elsewhere(folder):
    done = run_script("--reports", folder, "--split", folder.parent / "split.yaml", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data["parts"]) == {"calibration", "evaluation"}
    cal = data["parts"]["calibration"]
    assert cal["totals"]["detection_rate"] == 0.75
    assert cal["per_id"]["lr_too_high"] == {"tp": 1, "fp": 2, "fn": 0, "precision": 0.3333,
                                            "recall": 1.0, "f1": 0.5}
    assert cal["false_alarms"]["p2"] == [
        {"id": "lr_too_high", "severity": "error", "certainty": 0.45},
        {"id": "loss_diverging", "severity": "error", "certainty": 0.9}]
    text = run_script("--reports", folder, "--labels", folder / "labels.yaml")
    assert text.returncode == 0, text.stderr
    assert "p3__bad" in text.stdout and "probe-failed" in text.stdout


def test_script_still_scores_manifest_cases_from_stored_reports(reports):
    reports.report("lr_too_high_sgd_mlp", DIVERGING)
    done = run_script("--reports", reports.path, "lr_too_high_sgd_mlp")
    assert done.returncode == 0, done.stderr
    row = next(ln for ln in done.stdout.splitlines() if ln.startswith("lr_too_high_sgd_mlp"))
    assert "detected" in row and "lr_too_high!(0.45)" in row
    assert "1/1 = 100%" in done.stdout


def test_ranking_by_severity_differs_from_the_report_order(reports):
    from advisor.calibration.labels import Case
    from advisor.calibration.reports import read_case
    from advisor.calibration.scoring import top_ids

    path = reports.report("x", {**DIVERGING, **TINY, "loss.trend": "diverging"})
    result = read_case(path, Case("x", "x", ("lr_too_high",)))
    assert top_ids(result, 1, "report") == ["lr_too_high"]  # the cause the symptom points at
    assert top_ids(result, 1, "severity") == ["loss_diverging"]  # the surer error
