"""Guided diagnosis, driven by key presses: three scenarios from a first symptom to remedies
through the built-in knowledge base, then back, why, changing an answer and number answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from advisor.tui import session as session_module
from advisor.tui.app import AdvisorApp
from advisor.tui.probing import ProbeOutcome
from advisor.tui.session import MAX_QUESTIONS as SESSION_CAP
from advisor.tui.session import SETTLED, short_label, symptom_facts
from tui_helpers import (
    answer,
    choose,
    notifications,
    pick,
    ready,
    rendered,
    text_of,
    wait_for_screen,
)

# What a person with each problem would answer; every other question gets "don't know". The
# interview stops once these are all asked or after MAX_QUESTIONS; `expect` must then all be
# diagnosed, each with remedies. (The engine picks the order; these are its first questions.)
_BASICS = {"runtime.error": "none", "task.kind": "multiclass", "loss_fn.kind": "cross_entropy"}
SCENARIOS = {
    "loss becomes NaN": dict(
        symptom="symptom.loss_nan",
        answers={**_BASICS, "symptom.loss_explodes": True, "optim.kind": "adam",
                 "loss.trend": "nonfinite"},
        expect=["nonfinite_values", "lr_too_high"]),
    "validation loss rises while training loss falls": dict(
        symptom="symptom.val_rises",
        answers={**_BASICS, "loss.trend": "decreasing", "symptom.loss_explodes": False,
                 "symptom.loss_nan": False, "optim.kind": "adam", "symptom.loss_flat": False},
        expect=["overfitting"]),
    "loss oscillates": dict(
        symptom="symptom.loss_oscillates",
        answers={**_BASICS, "loss.trend": "oscillating", "symptom.loss_explodes": False,
                 "symptom.loss_nan": False, "optim.kind": "sgd", "symptom.loss_flat": False,
                 "data.batch_size": 8, "optim.lr": 0.5},
        expect=["loss_oscillating", "lr_too_high"]),
}
MAX_QUESTIONS = 16


async def _interview(pilot, symptom: str, answers: dict[str, Any]) -> list[str]:
    """Pick the symptom, answer until the scripted facts are in (or nothing is left to ask),
    then open the results. Returns the facts asked, in order."""
    app = pilot.app
    await pilot.press("s")
    await wait_for_screen(pilot, "GuidedScreen")
    names = [f.name for f in symptom_facts(app.kb)]
    await choose(pilot, names.index(symptom))
    asked: list[str] = []
    screen = app.screen
    while len(asked) < MAX_QUESTIONS and screen.mode == "question":
        fact = screen.question.fact.name
        asked.append(fact)
        await answer(pilot, answers.get(fact))
        if set(answers) <= set(asked):
            break
    if app.screen is screen:
        await pilot.press("r")
    await wait_for_screen(pilot, "ResultsScreen")
    return asked


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_scenario_from_symptom_to_remedies(builtin_kb, name):
    scenario = SCENARIOS[name]
    app = AdvisorApp(kb=builtin_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        asked = await _interview(pilot, scenario["symptom"], scenario["answers"])
        assert len(asked) == len(set(asked)), "a question was asked twice"
        result = app.screen.result
        found = [c.id for c in result.diagnoses]
        for expected in scenario["expect"]:
            assert expected in found, (expected, found, asked)
        for c in result.diagnoses:
            if c.id in scenario["expect"]:
                assert c.remedies, c.id
        # the remedies of the selected diagnosis are on screen, with their order
        first = result.diagnoses[0]
        shown = text_of(pilot, "#remedies-text")
        assert first.title in shown and "Remedies, in order" in shown
        assert first.remedies[0].action in shown


async def test_back_why_and_dont_know(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen
        assert screen.mode == "symptom"
        await pick(pilot, 0)  # the loss becomes NaN
        first = screen.question.fact.name
        await pilot.press("w")
        await wait_for_screen(pilot, "MessageScreen")
        why = app.screen.message_text
        assert "I am trying to establish whether" in why and first in why
        await pilot.press("escape")
        await wait_for_screen(pilot, "GuidedScreen")
        await pilot.press("d")  # don't know
        await pilot.pause()
        assert screen.question is None or screen.question.fact.name != first
        assert [a.value for a in screen.session.answers] == [True, None]
        await pilot.press("b")  # back: the same question again
        await pilot.pause()
        assert screen.question.fact.name == first
        assert [a.fact for a in screen.session.answers] == ["symptom.loss_nan"]
        await pilot.press("b")  # back again: the symptom list
        await pilot.pause()
        assert screen.mode == "symptom" and not screen.session.answers
        await pilot.press("b")  # nothing left: stays, says so
        await pilot.pause()
        assert screen.mode == "symptom"


async def test_change_an_earlier_answer_keeps_the_later_ones(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen
        await pick(pilot, 0)  # NaN
        asked = screen.question.fact.name
        await answer(pilot, False if asked == "training.gradient_clipping" else 0.5)
        bars_before = [h.id for h in screen.session.hypotheses()]
        await pilot.press("a")  # to the answers list
        await pilot.press("home", "enter")  # change the first answer: the symptom
        await pilot.pause()
        assert screen.mode == "symptom"
        await pick(pilot, 1)  # the loss oscillates instead
        facts = [a.fact for a in screen.session.answers]
        assert facts[:2] == ["symptom.loss_oscillates", asked]
        assert "symptom.loss_nan" not in screen.session.facts
        assert [h.id for h in screen.session.hypotheses()] != bars_before


async def test_number_answers_and_bars_move(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen
        await pick(pilot, 1)  # the loss oscillates: lr_too_high needs the learning rate
        bars = screen.query_one("#hypotheses")
        assert not bars.items  # nothing has evidence yet
        for _ in range(8):  # the engine asks number facts after bool/enum ones
            if screen.question.fact.name == "optim.lr":
                break
            await pilot.press("d")
        assert screen.question.fact.name == "optim.lr"
        await pilot.press(*"1.2x")  # x is no number character: the field refuses it
        assert screen.query_one("#number").value == "1.2"
        await pilot.press("backspace", "backspace", "e", "enter")  # "1e" is not a number yet
        assert "'1e' is not a number" in text_of(pilot, "#number-error")
        assert screen.question.fact.name == "optim.lr"
        await pilot.press("backspace", "backspace", *"0.5", "enter")
        await pilot.pause()
        assert screen.session.facts["optim.lr"] == 0.5
        assert "lr_too_high" in [h.id for h in bars.items]
        for _ in range(10):  # decline what is left; once nothing is, the results open
            if type(app.screen).__name__ == "ResultsScreen":
                break
            await pilot.press("d")
            await pilot.pause()
        await wait_for_screen(pilot, "ResultsScreen")
        assert "lr_too_high" in [c.id for c in app.screen.result.diagnoses]
        await pilot.press("escape")
        await wait_for_screen(pilot, "GuidedScreen")
        assert screen.mode == "done"
        await pilot.press("r")
        await wait_for_screen(pilot, "ResultsScreen")


async def test_given_facts_are_never_asked(builtin_kb):
    given = {"loss.trend": "oscillating", "loss.relative_decrease": 0.1, "optim.kind": "sgd",
             "optim.lr": 0.5, "task.kind": "multiclass", "loss_fn.kind": "cross_entropy",
             "runtime.error": "none", "model.has_batchnorm": False}
    app = AdvisorApp(kb=builtin_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.start_guided(given, source="probe")
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen
        assert screen.mode == "question"  # no symptom list after a probe
        assert "8 facts from the probe" in text_of(pilot, "#guided-step")
        for _ in range(8):
            if screen.mode != "question":
                break
            fact = screen.question.fact
            assert fact.name not in given
            # only what a probe cannot measure: no measured fact, no symptom.* question
            assert not fact.measured and not fact.name.startswith("symptom.")
            await pilot.press("d")
            await pilot.pause()


async def test_free_text_answers(tmp_path):
    from advisor.kb import load_kb

    (tmp_path / "kb.yaml").write_text("""
facts:
  - name: q.module
    type: string
    meaning: The module that produced NaN.
    ask:
      question: Which module printed the first NaN?
      help: The name from the anomaly detection traceback.
rules:
  - id: bad_module
    title: A bad module
    kind: cause
    severity: error
    cf: 0.8
    when: {fact: q.module, is: attention}
    explanation: Attention softmax overflows.
    remedies: [{action: Compute the softmax in float32.}]
    sources: [{ref: 'https://example.org'}]
    examples:
      - {given: {q.module: attention}, expect: fires}
      - {given: {q.module: mlp}, expect: silent}
""")
    kb = load_kb([tmp_path], builtin=False, use_env=False)
    app = AdvisorApp(kb=kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        await pilot.press("1")  # no symptoms in this base: "none of these"
        screen = app.screen
        assert screen.question.fact.name == "q.module"
        await pilot.press(*"attention", "enter")  # letters are typing here, not key bindings
        await wait_for_screen(pilot, "ResultsScreen")
        assert [c.id for c in app.screen.result.diagnoses] == ["bad_module"]


async def test_an_engine_failure_is_shown_not_fatal(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen

        def broken():
            raise RuntimeError("index out of date")

        screen.session.next_question = broken
        await pilot.press("1")
        await wait_for_screen(pilot, "MessageScreen")
        assert "RuntimeError: index out of date" in app.screen.message_text
        await pilot.press("escape")
        await pilot.press("r")  # the answers are kept
        await wait_for_screen(pilot, "ResultsScreen")
        assert app.screen.result.diagnoses[0].id == "nonfinite_loss"


# ------------------------------------------------------------------ when the interview ends
async def _decline_everything(pilot, limit: int) -> list[str]:
    """Press d ("don't know") until the results open; the facts asked, in order."""
    app, asked = pilot.app, []
    screen = app.screen
    while app.screen is screen and screen.mode == "question" and len(asked) <= limit:
        asked.append(screen.question.fact.name)
        await pilot.press("d")
        await pilot.pause()
    return asked


async def test_dont_know_to_everything_stops_when_nothing_can_change_the_top(builtin_kb):
    """From "loss is NaN", declining every question once asked 57 questions, some unrelated."""
    app = AdvisorApp(kb=builtin_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen
        await choose(pilot, [f.name for f in symptom_facts(app.kb)].index("symptom.loss_nan"))
        asked = await _decline_everything(pilot, limit=60)
        await wait_for_screen(pilot, "ResultsScreen")
        assert len(asked) < SESSION_CAP, asked
        assert screen.session.ended == SETTLED
        message = "No further answer can change the top diagnoses: showing results"
        assert message in notifications(pilot)
        await pilot.press("escape")  # the interview, with why it ended and what was asked
        await wait_for_screen(pilot, "GuidedScreen")
        assert text_of(pilot, "#question-text") == message
        summary = text_of(pilot, "#question-help")
        assert f"{len(asked)} question(s) asked, 0 answered, {len(asked)} don't know" in summary
        for name in asked:
            assert f"{short_label(app.kb.facts[name])}: don't know" in summary


async def test_a_long_interview_is_capped_with_a_summary(builtin_kb, monkeypatch):
    monkeypatch.setattr(session_module, "MAX_QUESTIONS", 3)
    app = AdvisorApp(kb=builtin_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen
        names = [f.name for f in symptom_facts(app.kb)]
        await choose(pilot, names.index("symptom.loss_oscillates"))
        first = screen.question
        await answer(pilot, first.choices[0][0] if first.choices else 0.5)
        asked = [first.fact.name, *await _decline_everything(pilot, limit=10)]
        await wait_for_screen(pilot, "ResultsScreen")
        assert len(asked) == 3 and screen.session.ended == "capped"
        assert any("the most advisor asks in one session" in n for n in notifications(pilot))
        await pilot.press("escape")
        await wait_for_screen(pilot, "GuidedScreen")
        summary = text_of(pilot, "#question-help")
        assert "3 question(s) asked, 1 answered, 2 don't know" in summary
        assert short_label(app.kb.facts[asked[1]]) in summary


# ------------------------------------------------------------------ measured, never asked
async def test_a_report_that_says_the_data_is_shuffled_is_never_asked_it(builtin_kb, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"facts": {
        "data.shuffled": True, "loss.nonfinite": True, "loss.trend": "nonfinite",
        "runtime.error": "none"}}))
    app = AdvisorApp(kb=builtin_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        app.open_report(str(report))
        await wait_for_screen(pilot, "GuidedScreen")
        asked = await _decline_everything(pilot, limit=SESSION_CAP + 1)
        assert asked and "data.shuffled" not in asked


async def test_what_the_probe_measured_without_a_value_is_not_asked(builtin_kb):
    """The probe tried data.shuffled (an iterable dataset: no sampler to read) and got nothing:
    the person is not asked what the probe could not see either."""

    def probe(spec, progress, cancel, options):
        return ProbeOutcome({"loss.nonfinite": True, "loss.trend": "nonfinite",
                             "runtime.error": "none"}, measured=["data.shuffled"])

    app = AdvisorApp(kb=builtin_kb, probe_runner=probe)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        app.start_probe("setup.py")
        await wait_for_screen(pilot, "GuidedScreen")
        asked = await _decline_everything(pilot, limit=SESSION_CAP + 1)
        assert asked and "data.shuffled" not in asked


# ------------------------------------------------------------------ readable at small sizes
@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_answers_show_the_question_wrapped_at_words(builtin_kb, size):
    app = AdvisorApp(kb=builtin_kb)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen
        await choose(pilot, [f.name for f in symptom_facts(app.kb)].index("symptom.loss_nan"))
        for _ in range(3):
            await pilot.press("d")
            await pilot.pause()
        lines = rendered(pilot, "#answers")
        shown = " ".join(line.strip() for line in lines)
        for a in screen.session.answers:
            assert a.fact not in shown  # no raw fact names
            label = short_label(app.kb.facts[a.fact])
            for word in label.split():  # every word whole on one line: wrapped between words
                assert any(word in line.split() for line in lines), (word, lines)


# ------------------------------------------------------------------ numbers as people type them
async def _to_the_learning_rate(pilot) -> Any:
    app = pilot.app
    await pilot.press("s")
    await wait_for_screen(pilot, "GuidedScreen")
    screen = app.screen
    await pick(pilot, 1)  # the loss oscillates: lr_too_high needs the learning rate
    for _ in range(8):
        if screen.question.fact.name == "optim.lr":
            break
        await pilot.press("d")
    assert screen.question.fact.name == "optim.lr"
    return screen


async def test_a_decimal_comma_is_read_or_refused_never_changed(mini_kb):
    """`0,001` used to arrive as `0001`, recorded as 1 with a false "out of range"."""
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        screen = await _to_the_learning_rate(pilot)
        field = screen.query_one("#number")
        await pilot.press(*"1,000,000", "enter")  # thousands or decimals? not guessed
        assert field.value == "1,000,000"
        assert screen.question.fact.name == "optim.lr" and "optim.lr" not in screen.session.facts
        error = text_of(pilot, "#number-error")
        assert "'1,000,000' is not a number: use a dot for decimals" in error
        field.value = ""
        await pilot.press(*"0,001", "enter")
        await pilot.pause()
        assert screen.session.facts["optim.lr"] == 0.001
        if pilot.app.screen is not screen:  # nothing left to ask: the results opened
            await pilot.press("escape")
            await wait_for_screen(pilot, "GuidedScreen")
        await pilot.press("b")  # the same question again, in the exponent form
        await pilot.pause()
        assert screen.question.fact.name == "optim.lr"
        await pilot.press(*"3e-4", "enter")
        await pilot.pause()
        assert screen.session.facts["optim.lr"] == 0.0003
        if pilot.app.screen is not screen:
            await pilot.press("escape")
            await wait_for_screen(pilot, "GuidedScreen")
        assert "0.0003" in " ".join(rendered(pilot, "#answers"))
