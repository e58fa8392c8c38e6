"""Bad label and split files: one clear message with file:line:col and what to do, exit 2,
never a traceback, from `advisor kb calibrate` and from the scorer script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FLAT = {"loss.trend": "flat", "loss.relative_decrease": 0.0}


@pytest.fixture
def folder(reports):
    reports.report("p1", FLAT)
    reports.report("p1__x", FLAT)
    return reports


def calibrate(advisor, folder, *extra):
    done = advisor("kb", "calibrate", folder.path, *extra, cwd=folder.path.parent)
    assert "Traceback" not in done.stderr
    return done


def test_unknown_key_in_a_case(advisor, folder):
    folder.labels("""
        cases:
          p1: {program: p1, expect: []}
          p1__x:
            program: p1
            expects: [tiny_gradients]
        """)
    done = calibrate(advisor, folder)
    assert done.returncode == 2
    assert "reports/labels.yaml:5:5: unknown key 'expects' in case 'p1__x'; did you mean " \
           "'expect'?; allowed: program, operator, expect" in done.stderr
    assert "reports/labels.yaml:3:3: case 'p1__x' has no 'expect'" in done.stderr


def test_report_without_a_case(advisor, folder):
    folder.labels("""
        cases:
          p1: {program: p1, expect: []}
        """)
    done = calibrate(advisor, folder)
    assert done.returncode == 2
    assert "labels.yaml:1:1: 1 report(s) in" in done.stderr
    assert "have no case in this label file: p1__x; add each under 'cases:'" in done.stderr


def test_yaml_error_says_where(advisor, folder):
    folder.labels("""
        cases:
          p1: {program: p1, expect: [}
        """)
    done = calibrate(advisor, folder)
    assert done.returncode == 2
    assert "reports/labels.yaml:2:30: YAML: " in done.stderr
    assert "fix the label file" in done.stderr


def test_missing_label_file_says_what_to_do(advisor, folder):
    done = calibrate(advisor, folder)
    assert done.returncode == 2
    assert "labels.yaml: no such label file; write one (format: docs/calibration.md)" \
        in done.stderr


def test_expect_must_be_a_list_of_ids(advisor, folder):
    folder.labels("""
        cases:
          p1: {program: p1, expect: []}
          p1__x: {program: p1, expect: tiny_gradients}
        """)
    done = calibrate(advisor, folder)
    assert done.returncode == 2
    assert "labels.yaml:3:32: 'expect' of case 'p1__x' must be a list of diagnosis ids" \
        in done.stderr


def test_split_with_a_program_in_both_halves(advisor, folder):
    folder.labels("""
        cases:
          p1: {program: p1, expect: []}
          p1__x: {program: p1, expect: [tiny_gradients]}
        """)
    split = folder.path.parent / "split.yaml"
    split.write_text("calibration: [p1, p2]\nevaluation: [p3, p1]\nholdout: [p4]\n",
                     encoding="utf-8")
    done = calibrate(advisor, folder, "--split", split)
    assert done.returncode == 2
    assert "split.yaml:2:18: program 'p1' is already in 'calibration'" in done.stderr
    assert "split.yaml:3:1: unknown key 'holdout'" in done.stderr


def test_scorer_script_reports_the_same_error(folder):
    folder.labels("""
        cases:
          p1: {program: p1, expect: [], note: healthy}
          p1__x: {program: p1, expect: [tiny_gradients]}
        """)
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "diagnosis_accuracy.py"),
                           "--reports", str(folder.path)], cwd=folder.path.parent,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "labels.yaml:2:33: unknown key 'note' in case 'p1'" in done.stderr


def test_an_expected_id_the_base_does_not_know_is_named(advisor, folder):
    folder.labels("""
        cases:
          p1: {program: p1, expect: []}
          p1__x: {program: p1, expect: [tiny_gradient]}
        """)
    done = calibrate(advisor, folder)
    assert done.returncode == 0, done.stderr
    assert "labels.yaml:3:3: case 'p1__x' expects 'tiny_gradient', which is no diagnosis of " \
           "the knowledge base" in done.stderr
