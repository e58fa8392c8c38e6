"""`advisor probe --verify` and `advisor demo --verify` from the command line: the worker
process, the flags, the JSON report and the text summary (real subprocesses, real torch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_probe_verify_writes_trials_to_the_json_report(tmp_path, advisor):
    out = tmp_path / "report.json"
    result = advisor("probe", str(EXAMPLES / "lr_too_high_sgd.py"), "--steps", "60",
                     "--trial-steps", "40", "--verify", "--quiet", "--json", str(out),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["options"]["verify"] is True and data["options"]["seeds"] == 5
    verdicts = {t["transform"]: t["verdict"] for t in data["trials"]}
    assert verdicts.get("scale_lr") == "helps", verdicts
    assert "helps" in result.stdout  # the text summary shows the verdicts
    # the stored report diagnosed again keeps the re-ranking (the trial facts) and the verdicts
    again = advisor("diagnose", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "verified: helps" in again.stdout
    assert "trial.lr_too_high.helped" in again.stdout


def test_too_few_seeds_and_a_bad_budget_are_refused_before_anything_runs(tmp_path, advisor):
    for flag, value in (("--seeds", "0"), ("--verify-budget", "-1"), ("--verify-top", "x")):
        result = advisor("probe", str(EXAMPLES / "lr_too_high_sgd.py"), "--verify", flag, value,
                         cwd=tmp_path)
        assert result.returncode == 2
        assert flag in result.stderr


@pytest.mark.slow
def test_demo_verify_shows_a_verified_remedy(tmp_path, advisor):
    result = advisor("demo", "--verify", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout.lower()
    assert "helps" in result.stdout
