"""`advisor kb calibrate`: on labelled reports where a built-in threshold is plainly wrong, the
fit moves it, the overlay loads with --kb and changes the diagnosis; a change that would break
a rule's example is not proposed; only the calibration half is fitted on."""

from __future__ import annotations

import json
import re

import pytest
import yaml

FLAT = {"loss.trend": "flat", "loss.relative_decrease": 0.0}
# tiny_gradients fires below grad.max_norm 1e-5 with a flat loss. In these reports the faulty
# programs (loss scaled down) have norms around 3e-4 and the healthy-but-flat ones 0.05 and up:
# the built-in threshold misses every fault.
FAULTY = [2e-4, 3e-4, 4e-4]
FINE = [0.05, 0.1, 0.3]


def labelled(reports, faulty=FAULTY, fine=FINE, programs=("p0", "p1", "p2")):
    lines = ["cases:"]
    for program, g_bad, g_ok in zip(programs, faulty, fine, strict=True):
        reports.report(program, {**FLAT, "grad.max_norm": g_ok})
        reports.report(f"{program}__scale", {**FLAT, "grad.max_norm": g_bad})
        lines += [f"  {program}: {{program: {program}, expect: []}}",
                  f"  {program}__scale: {{program: {program}, operator: loss_scale, "
                  "expect: [tiny_gradients]}"]
    reports.labels("\n".join(lines) + "\n")
    return reports


def test_wrong_threshold_is_moved_and_the_overlay_changes_the_diagnosis(advisor, reports):
    labelled(reports)
    overlay = reports.path.parent / "overlay.yaml"
    done = advisor("kb", "calibrate", reports.path, "-o", overlay, cwd=reports.path.parent)
    assert done.returncode == 0, done.stderr
    row = next(ln for ln in done.stdout.splitlines() if ln.startswith("tiny_gradients "))
    assert row.split()[:8] == ["tiny_gradients", "grad.max_norm", "lt", "1e-05", "->", "0.03",
                               "0.6", "->"]
    assert "0.00 -> 1.00" in row  # recall and F1 before -> after
    together = done.stdout.split("every proposal applied together, per conclusion:")[1]
    assert together.splitlines()[3].split() == ["tiny_gradients", "-", "->", "1.00", "0.00",
                                                "->", "1.00", "0.00", "->", "1.00", "0/3"]

    rules = yaml.safe_load(overlay.read_text(encoding="utf-8"))["rules"]
    assert [r["id"] for r in rules] == ["tiny_gradients"]
    rule = rules[0]
    assert rule["replaces"] is True
    assert rule["when"]["all"][0] == {"fact": "grad.max_norm", "lt": 0.03}
    # cf from the precision (1.0 over 3 firings) shrunk toward 0.6 with k = 5: (3 + 3) / 8
    assert rule["cf"] == 0.75
    # a full copy of the built-in rule: everything else as written there
    assert rule["title"] == "Gradients are tiny everywhere"
    assert rule["sources"] == [{"seed": "004_0fe40e4e1bcae822.txt",
                                "section": "gradients w.r.t. input is too small"}]
    assert len(rule["examples"]) == 3 and rule["explanation"].startswith("Even the largest")
    text = overlay.read_text(encoding="utf-8")
    assert "# tiny_gradients (from knowledge/rules/gradients.yaml:" in text
    assert "#   grad.max_norm lt 1e-05 -> 0.03" in text

    valid = advisor("kb", "validate", "--kb", overlay, cwd=reports.path.parent)
    assert valid.returncode == 0, valid.stderr
    case = reports.path / "p0__scale.json"
    plain = advisor("diagnose", case, "--format", "json", cwd=reports.path.parent)
    fitted = advisor("diagnose", "--kb", overlay, case, "--format", "json",
                     cwd=reports.path.parent)
    ids = [[d["id"] for d in json.loads(r.stdout)["diagnoses"]] for r in (plain, fitted)]
    assert ids == [["loss_not_decreasing"], ["tiny_gradients", "loss_not_decreasing"]]


def test_a_change_that_breaks_an_example_is_not_proposed(advisor, reports):
    # faults at 0.6-0.8, fine programs at 1-2: the best split (about 0.9) would make the
    # example `grad.max_norm: 0.5, flat loss -> silent` fire
    labelled(reports, faulty=[0.6, 0.7, 0.8], fine=[1.0, 1.5, 2.0])
    overlay = reports.path.parent / "overlay.yaml"
    done = advisor("kb", "calibrate", reports.path, "-o", overlay, cwd=reports.path.parent)
    assert done.returncode == 0, done.stderr
    row = next(ln for ln in done.stdout.splitlines() if ln.startswith("tiny_gradients "))
    assert "1e-05 kept" in row and row.endswith("[1] [2]")
    note = next(ln for ln in done.stdout.splitlines() if ln.startswith("[2] tiny_gradients"))
    assert re.match(r"\[2\] tiny_gradients: kept: 0\.9 \(F1 1\.00\) breaks example "
                    r"knowledge/rules/gradients\.yaml:\d+:9 of tiny_gradients", note), note
    assert yaml.safe_load(overlay.read_text(encoding="utf-8"))["rules"] == []


def test_only_the_calibration_half_is_fitted(advisor, reports):
    labelled(reports, faulty=[2e-4, 3e-4, 4e-4, 5e-4], fine=[0.05, 0.1, 0.3, 0.4],
             programs=("p0", "p1", "p2", "p3"))
    split = reports.path.parent / "split.yaml"
    split.write_text("calibration: [p0]\nevaluation: [p1, p2, p3]\n", encoding="utf-8")
    done = advisor("kb", "calibrate", reports.path, "--split", split, "--format", "json",
                   cwd=reports.path.parent)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["part"], data["cases"]) == ("calibration", 2)
    tiny = next(p for p in data["proposals"] if p["rule"] == "tiny_gradients")
    assert (tiny["fitted"], tiny["changed"], tiny["positives"]) == (False, False, 1)
    other = advisor("kb", "calibrate", reports.path, "--split", split, "--part", "evaluation",
                    "--format", "json", cwd=reports.path.parent)
    tiny = next(p for p in json.loads(other.stdout)["proposals"] if p["rule"] == "tiny_gradients")
    assert (tiny["fitted"], tiny["changed"], tiny["positives"]) == (True, True, 3)
    assert tiny["thresholds"][0]["proposed"] == pytest.approx(0.05)  # between 5e-4 and 0.1


def test_readable_thresholds_split_the_data_the_same_way():
    from advisor.calibration.fit import candidates, readable

    assert readable(4e-4, 0.05) == 0.03
    assert readable(0.4987, 0.5012) == 0.5
    assert readable(2, 4) == 3
    assert candidates([3, 1, 2, 2], 10) == [1.5, 2.5, 10]


def test_calibrate_imports_neither_torch_nor_textual(reports, tmp_path, cli_env):
    import subprocess
    import sys

    labelled(reports)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "advisor", "kb",
                           "calibrate", str(reports.path)], cwd=tmp_path, env=cli_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "advisor.calibration.fit" in imported
    assert sorted(m for m in imported if m.split(".")[0] in ("torch", "textual")) == []
