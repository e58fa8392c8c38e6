"""The TUI's Textual-free core: the interview state, report loading, the probe adapter, and the
import boundaries (the headless commands never import textual; the TUI starts without torch)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from advisor.tui.probing import ProbeCancelled, ProbeEvent, ProbeFailed, _call_probe, run_probe
from advisor.tui.reports import ReportError, load_report, loss_curve, parse_series
from advisor.tui.session import (
    GuidedSession,
    NotANumber,
    format_value,
    parse_number,
    short_label,
    symptom_facts,
)

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ the interview
def test_session_answers_back_and_change(mini_kb):
    from advisor.engine import Engine

    s = GuidedSession(Engine(mini_kb))
    s.answer("symptom.loss_nan", True)
    q = s.next_question()
    assert q is not None and q.fact.name not in s.facts
    s.answer(q.fact.name, None, q)  # don't know: declined, not asked again
    assert q.fact.name in s.declined and q.fact.name not in s.facts
    assert s.next_question() is None or s.next_question().fact.name != q.fact.name
    last = s.back()
    assert last is not None and last.fact == q.fact.name and last.question is q
    s.answer(q.fact.name, False, q)
    taken = s.take(0)
    assert taken.fact == "symptom.loss_nan" and "symptom.loss_nan" not in s.facts
    s.answer("symptom.loss_nan", True, at=0)
    assert [a.fact for a in s.answers] == ["symptom.loss_nan", q.fact.name]


def test_session_hypotheses_rank_open_conclusions(mini_kb):
    from advisor.engine import Engine

    s = GuidedSession(Engine(mini_kb), {"symptom.loss_nan": True})
    s.answer("training.gradient_clipping", False)
    ranked = s.hypotheses()
    assert [h.id for h in ranked][:2] == ["nonfinite_loss", "exploding_gradients"]
    assert all(0 < h.certainty <= 1 for h in ranked)
    assert "lr_too_high_from_trend" not in {h.id for h in ranked}  # `concludes` rules merge


def test_symptoms_come_from_the_catalogue(builtin_kb):
    names = [f.name for f in symptom_facts(builtin_kb)]
    for needed in ("symptom.loss_nan", "symptom.val_rises", "symptom.loss_oscillates"):
        assert needed in names


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), ("0.1", 0.1), ("1e-3", 0.001), ("3e-4", 0.0003), ("3E-4", 0.0003),
    (".5", 0.5), ("5.", 5.0), ("-.5", -0.5), ("+2", 2), (" 7 ", 7), ("-2", -2),
    ("1_000", 1000),
    # a decimal comma, where it cannot be a thousands separator
    ("0,001", 0.001), ("2,5", 2.5), ("0,5e-3", 0.0005), ("-0,01", -0.01), ("12,34", 12.34)])
def test_parse_number(text, value):
    number = parse_number(text)
    assert number == pytest.approx(value) and type(number) is type(value)


@pytest.mark.parametrize(("text", "reason"), [
    ("1,000", "could be 1000 or 1.000"), ("1,000,000", "use a dot for decimals"),
    ("1.000,5", "use a dot for decimals"), ("", "nothing typed"), ("abc", "not a number"),
    ("nan", "not a number"), ("inf", "not a number"), ("1e999", "too large"),
    ("1e", "not a number"), (".", "not a number"), ("1..2", "not a number")])
def test_parse_number_refuses_what_it_would_have_to_guess(text, reason):
    with pytest.raises(NotANumber, match=re.escape(reason)):
        parse_number(text)


def test_format_value():
    assert [format_value(v) for v in (None, True, False, 0.000123456, "x")] == [
        "don't know", "yes", "no", "0.0001235", "x"]


# ------------------------------------------------------------------ reports
def test_report_keeps_known_facts_and_drops_bad_values(tmp_path, mini_kb):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({
        "facts": {"optim.lr": 0.5, "loss.trend": "sideways", "no.such": 1,
                  "symptom.loss_nan": {"value": True, "cf": 0.8}},
        "series": {"loss": [2.0, None, 1.0], "lr_range": {"lr": [1, 2]}},
    }))
    report = load_report(path, mini_kb)
    assert report.facts == {"optim.lr": 0.5, "symptom.loss_nan": {"value": True, "cf": 0.8}}
    assert report.ignored == ["no.such"]
    assert "sideways" in report.problems[0]
    assert report.series == {"loss": [2.0, 1.0]}
    assert "1 value(s) dropped" in report.warning and "no.such" in report.warning


@pytest.mark.parametrize(("content", "message"), [
    ('{"facts": {"optim.lr": 0.5,}}', "r.json:1:28: not valid JSON"),
    ("[1, 2]", "expected a JSON object with a 'facts' mapping"),
    ('{"facts": [1]}', "expected a JSON object with a 'facts' mapping"),
    ('{"schema": "x"}', "expected a JSON object with a 'facts' mapping"),
])
def test_broken_reports_say_what_is_wrong(tmp_path, mini_kb, content, message):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(ReportError, match=None) as err:
        load_report(path, mini_kb)
    assert message in str(err.value)


def test_missing_and_binary_reports(tmp_path, mini_kb):
    with pytest.raises(ReportError, match="no such file"):
        load_report(tmp_path / "nope.json", mini_kb)
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ReportError, match="not UTF-8 text.*save the file as UTF-8"):
        load_report(binary, mini_kb)
    with pytest.raises(ReportError, match="is a directory"):
        load_report(tmp_path, mini_kb)


def test_series_shapes():
    assert parse_series([1, 2, "x"]) == {"loss": [1.0, 2.0]}
    assert parse_series({"a": {"values": [1]}, "b": "no"}) == {"a": [1.0]}
    assert loss_curve({"val": [3.0], "loss": [1.0, float("nan"), 2.0]}) == [1.0, 2.0]
    assert loss_curve({}) == []


# ------------------------------------------------------------------ the probe adapter
class _Report:
    facts = {"optim.lr": 0.1, "loss.trend": None}

    def to_dict(self):
        return {"facts": self.facts, "series": {"loss": [1.0, 0.5]}}


def test_adapter_speaks_the_event_contract():
    events: list[ProbeEvent] = []

    class Event:
        phase, step, total, loss = "training", 3, 10, 0.5

    def probe(setup, *, progress, cancel, steps=200):
        assert isinstance(cancel, threading.Event) and steps == 5
        progress(Event())
        return _Report()

    report = _call_probe(probe, object(), events.append, threading.Event(), {"steps": 5,
                                                                              "nope": 1})
    assert isinstance(report, _Report)
    assert events == [ProbeEvent("training", 3, 10, 0.5)]


def test_adapter_speaks_the_positional_form_and_cancels_through_it():
    events: list[ProbeEvent] = []
    cancel = threading.Event()

    def probe(model=None, *, setup=None, progress=None):
        progress("training", 1, 4)
        cancel.set()
        try:
            progress("training", 2, 4)
        except KeyboardInterrupt:  # what the real probe does with Ctrl+C: a partial report
            return "partial"
        raise AssertionError("the callback should have interrupted the probe")

    assert _call_probe(probe, object(), events.append, cancel, {}) == "partial"
    assert events == [ProbeEvent("training", 1, 4, None)]


def test_run_probe_reports_setup_errors(tmp_path):
    bad = tmp_path / "bad_setup.py"
    bad.write_text("def setup():\n    raise ValueError('no data here')\n")
    with pytest.raises(ProbeFailed, match="no data here"):
        run_probe(str(bad), lambda e: None, threading.Event())
    with pytest.raises(ProbeFailed, match="no such file"):
        run_probe(str(tmp_path / "missing.py"), lambda e: None, threading.Event())


def test_run_probe_honours_an_early_cancel(tmp_path):
    ok = tmp_path / "ok_setup.py"
    ok.write_text("def setup():\n    return {}\n")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises((ProbeCancelled, ProbeFailed)):
        run_probe(str(ok), lambda e: None, cancel)


# ------------------------------------------------------------------ import boundaries
def _modules_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True)
    return set(out.stdout.split())


def test_headless_commands_never_import_textual():
    mods = _modules_after("import advisor.cli, advisor.commands.kb, advisor.commands.diagnose\n"
                          "import advisor.engine, advisor.report\n"
                          "advisor.cli.build_parser()")
    assert not {m for m in mods if m == "textual" or m.startswith("textual.")}
    assert "tui" not in mods


def test_tui_starts_without_torch_or_the_knowledge_base():
    mods = _modules_after("import tui.launch, tui.app")
    assert "textual" in mods
    for heavy in ("torch", "networkx", "yaml", "advisor.engine", "advisor.probing.api"):
        assert heavy not in mods, heavy


def test_short_label_is_the_question_without_examples_cut_at_a_word(builtin_kb):
    assert short_label(builtin_kb.facts["data.shuffled"]) == \
        "Is your training data shuffled every epoch?"
    assert short_label(builtin_kb.facts["data.normalized"]) == \
        "Are your input features normalized?"
    long = short_label(builtin_kb.facts["data.normalized"], width=25)
    assert long == "Are your input features…"
