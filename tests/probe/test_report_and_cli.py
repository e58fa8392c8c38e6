"""The report: versioned JSON with flat facts that `advisor diagnose` re-reads, Markdown, a
self-contained HTML page with inline SVG plots, atomic writes, and the CLI's exit codes."""

from __future__ import annotations

import json
import os

import pytest

import advisor
from advisor.report.probe import ProbeReport

from .helpers import FAST, small_setup

DEMO = "advisor.probing.demo_setup:setup"


@pytest.fixture(scope="module")
def report() -> ProbeReport:
    return advisor.probe(**small_setup(), **FAST)


def test_json_document(report):
    doc = json.loads(report.to_json())
    assert doc["schema"] == "advisor-probe-report/1"
    for key in ("setup", "device", "timings", "facts", "series", "diagnoses", "partial"):
        assert key in doc
    assert all(not isinstance(v, (list, dict)) or "value" in v for v in doc["facts"].values())
    assert doc["facts"]["task.kind"] == "multiclass"
    assert doc["series"]["loss"] and doc["series"]["grad_norm_layers"]
    for d in doc["diagnoses"]:
        assert {"id", "title", "severity", "certainty", "evidence", "remedies",
                "explanation"} <= d.keys()
        assert 0 <= d["certainty"] <= 1


def test_report_is_plain_data(report):
    """No engine object inside: every field is JSON-able, and the JSON document gives the
    same report back."""
    import dataclasses

    fields = dataclasses.asdict(report)
    assert json.loads(json.dumps(fields, allow_nan=False)) == fields
    assert ProbeReport.from_dict(json.loads(report.to_json())) == report
    assert report.text().startswith("advisor probe: ")
    assert [f.id for f in report.diagnosis().diagnoses] == report.ids()


def test_facts_follow_the_catalogue(report):
    from advisor.kb import load_kb
    from advisor.kb.model import Location
    from advisor.kb.semantics import check_facts

    kb = load_kb(check_examples=False)
    assert report.unknown_facts == []
    assert check_facts(kb, report.facts, Location("report")) == []


def test_markdown_and_html(report):
    md = report.markdown()
    assert md.startswith("# advisor probe") and "| `loss.trend` |" in md
    html = report.html()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 3
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in html and "https://" not in html


def test_atomic_write_keeps_the_old_file_when_the_rename_fails(report, tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        report.write_json(target)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left
    monkeypatch.undo()
    report.write_json(target)
    assert json.loads(target.read_text(encoding="utf-8"))["schema"] == "advisor-probe-report/1"


@pytest.mark.slow
def test_cli_probe_writes_files_and_diagnose_rereads_them(tmp_path, advisor):
    out = tmp_path / "r.json"
    done = advisor("probe", DEMO, "--steps", "40", "--budget", "8", "--json", out,
                   "--markdown", tmp_path / "r.md", "--html", tmp_path / "r.html")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "output_activation_mismatch" in done.stdout
    assert "probe: training" in done.stderr  # plain progress lines when not a TTY
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "output_activation_mismatch" in [d["id"] for d in doc["diagnoses"]]
    again = advisor("diagnose", out, "--format", "json")
    assert again.returncode == 0, again.stderr
    assert [d["id"] for d in json.loads(again.stdout)["diagnoses"]] == \
        [d["id"] for d in doc["diagnoses"]]
    assert (tmp_path / "r.html").read_text(encoding="utf-8").count("<svg") >= 3


@pytest.mark.slow
def test_cli_fail_on_and_quiet(advisor):
    done = advisor("probe", DEMO, "--steps", "30", "--budget", "6", "--fail-on", "error",
                   "--quiet")
    assert done.returncode == 1
    assert done.stderr == ""


@pytest.mark.slow
def test_demo_command(advisor):
    done = advisor("demo", "--quiet", "--steps", "40", "--budget", "8")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "output_activation_mismatch" in done.stdout


def test_usage_errors_exit_2(advisor, tmp_path):
    assert advisor("probe", DEMO, "--steps", "0").returncode == 2
    done = advisor("probe", DEMO, "--json", tmp_path / "missing" / "r.json", "--quiet")
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_progress_reports_each_phase_and_the_live_training_loss():
    import math

    calls = []
    report = advisor.probe(**small_setup(), steps=12, budget=20, diagnose=False,
                           progress=lambda *args: calls.append(args))
    # diagnose=False (what the TUI asks for) measures only: facts, no diagnoses
    assert report.facts["loss.trend"] and report.diagnoses == []
    phases = [c[0] for c in calls]
    assert phases[0] == "model" and "training" in phases
    training = [c for c in calls if c[0] == "training"]
    assert [c[1] for c in training] == list(range(1, len(training) + 1))
    assert all(len(c) == 4 and math.isfinite(c[3]) for c in training)
