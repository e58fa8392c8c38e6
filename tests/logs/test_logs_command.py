"""The `advisor logs` command: what it prints, writes and returns, and how it refuses bad input
(exit 2 and a sentence naming the path and what to do, never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from advisor.cli import main


def write_csv(path: Path, *, nan_from: int | None = None, steps: int = 2000,
              names: tuple[str, str] = ("loss", "lr"), seed: int = 0) -> Path:
    """A noisy falling loss and a warmup-then-flat rate as a CSV, NaN from `nan_from` on."""
    rng = np.random.default_rng(seed)
    s = np.arange(steps)
    loss = 2.0 * np.exp(-s / 400) + 0.3 + 0.05 * rng.standard_normal(steps)
    if nan_from is not None:
        loss[nan_from:] = np.nan
    lr = np.minimum((s + 1) / 100, 1.0) * 1e-3
    lines = [f"step,{names[0]},{names[1]}"] + [f"{a},{float(b)!r},{float(c)!r}"
                                               for a, b, c in zip(s, loss, lr, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_one_run_prints_what_was_read_and_writes_a_probe_report_document(tmp_path, capsys):
    csv = write_csv(tmp_path / "run.csv", nan_from=1500)
    out = tmp_path / "r.json"
    assert main(["logs", str(csv), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("advisor logs: run (csv: ")
    assert "train loss     loss  (2,000 points, steps 0 to 1,999, 500 non-finite)" in printed
    assert "the loss is first non-finite at step 1,500" in printed
    doc = json.loads(out.read_text())
    assert doc["schema"] == "advisor-probe-report/1"
    assert doc["facts"]["logs.first_nonfinite_step"] == 1500
    assert doc["setup"] == {**doc["setup"], "mode": "logs", "source": "csv"}
    series = doc["series"]["logs"]["loss"]
    assert len(series["steps"]) == len(series["values"]) <= 3 * 500
    assert doc["observations"]["details"]["logs"]["events"]["first_nonfinite_step"] == 1500


def test_missing_roles_are_noted_with_the_tags_and_the_mapping_that_fixes_them(tmp_path,
                                                                             capsys):
    csv = write_csv(tmp_path / "run.csv", names=("objective", "lr"))
    assert main(["logs", str(csv)]) == 0
    printed = capsys.readouterr().out
    assert "no training loss was found" in printed and "--map loss=TAG" in printed
    assert main(["logs", str(csv), "--map", "loss=objective"]) == 0
    assert "train loss     objective" in capsys.readouterr().out


def test_a_folder_of_several_runs_writes_one_document_with_every_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    write_csv(runs / "a.csv")
    write_csv(runs / "b.csv", nan_from=1000)
    out = tmp_path / "all.json"
    assert main(["logs", str(runs), "--json", str(out), "--html", str(tmp_path / "all.html")]) \
        == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == "advisor-logs-report/1"
    assert [r["setup"]["name"] for r in doc["runs"]] == ["a", "b"]
    assert (tmp_path / "all.html").read_text().count("<h1>") == 2
    capsys.readouterr()
    assert main(["logs", str(runs), "--run", "b", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["setup"]["name"] == "b"


@pytest.mark.parametrize(("argv", "said"), [
    (["logs", "{tmp}/nowhere"], "no such file or folder"),
    (["logs", "{tmp}/run.csv", "--map", "los=loss"], "unknown role(s) in the mapping: los"),
    (["logs", "{tmp}/run.csv", "--map", "loss"], "bad mapping entry 'loss'"),
    (["logs", "{tmp}/run.csv", "--map", "loss=nope"], "has no tag 'nope'"),
    (["logs", "{tmp}/run.csv", "--run", "other"], "no run named 'other'"),
    (["logs", "{tmp}/run.csv", "--json", "{tmp}/missing/r.json"], "--json"),
    (["logs", "{tmp}/run.csv", "{tmp}/run.csv", "{tmp}/run.csv"], "give one log PATH, or two"),
    (["logs", "{tmp}/empty"], "no logs found"),
])
def test_bad_input_exits_2_with_a_sentence(tmp_path, capsys, argv, said):
    write_csv(tmp_path / "run.csv")
    (tmp_path / "empty").mkdir()
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_fail_on_error_exits_1_only_when_an_error_is_found(tmp_path, capsys):
    healthy = write_csv(tmp_path / "ok.csv")
    assert main(["logs", str(healthy), "--fail-on", "error"]) == 0
    broken = write_csv(tmp_path / "nan.csv", nan_from=1500)
    assert main(["logs", str(broken), "--fail-on", "error"]) == 1


def test_reading_a_log_imports_no_torch(tmp_path):
    csv = write_csv(tmp_path / "run.csv")
    code = (f"import sys; from advisor.cli import main; main(['logs', {str(csv)!r}]); "
            "print('torch' in sys.modules, 'textual' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().endswith("False False")


def _rate_run(path: Path, mult: float, seed: int) -> Path:
    """A loss pulled toward 0.3 at a speed set by the rate, pushed up by a floor that grows
    with it: a 10x rate from step 1,200 falls faster at first and settles higher."""
    rng = np.random.default_rng(seed)
    loss, rows = 2.5, ["step,loss,lr"]
    for s in range(3000):
        lr = 1e-3 * (mult if s >= 1200 else 1.0)
        loss = loss - lr * 0.5 * (loss - 0.3) + (lr - 1e-3) * 0.4
        rows.append(f"{s},{loss + 0.03 * rng.standard_normal()!r},{lr!r}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_two_runs_compared_say_where_b_departs_and_why(tmp_path, capsys):
    a = _rate_run(tmp_path / "a.csv", 1.0, seed=0)
    b = _rate_run(tmp_path / "b.csv", 10.0, seed=1)
    out, page = tmp_path / "c.json", tmp_path / "c.html"
    assert main(["logs", str(a), str(b), "--json", str(out), "--html", str(page)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("advisor logs: b (B) compared with a (A)")
    said = " ".join(printed.split())
    assert "B's loss departs from A's at step 1,2" in said
    assert "(lower at first, 1.3x A's by the end), where its learning rate is 10x higher " \
           "(from step 1,200)" in said
    doc = json.loads(out.read_text())
    assert doc["schema"] == "advisor-logs-comparison/1"
    assert doc["comparison"]["roles"]["lr"]["departure_step"] == 1200
    assert [r["setup"]["name"] for r in doc["runs"]] == ["a", "b"]
    assert page.read_text().count("B departs") >= 2   # the loss and the rate plots


def test_comparing_a_folder_of_several_runs_asks_for_one(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    write_csv(runs / "x.csv")
    write_csv(runs / "y.csv")
    assert main(["logs", str(runs), str(runs / "x.csv")]) == 2
    assert "holds 2 runs (x, y)" in capsys.readouterr().err
