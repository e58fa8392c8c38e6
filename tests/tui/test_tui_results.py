"""Results: diagnoses by severity, the evidence and explanation tabs, exports that reopen."""

from __future__ import annotations

import json

from advisor.tui.app import AdvisorApp
from tui_helpers import ready, text_of, wait_for_screen

NAN_FACTS = {"symptom.loss_nan": True, "training.gradient_clipping": False, "optim.lr": 0.5,
             "symptom.val_rises": True, "training.early_stopping": False}


def _result(kb, facts=NAN_FACTS):
    from advisor.engine import Engine

    return Engine(kb).diagnose(facts)


async def test_results_list_tabs_and_tree(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        app.show_result(_result(mini_kb))
        await wait_for_screen(pilot, "ResultsScreen")
        screen = app.screen
        ids = [c.id for c in screen.diagnoses]
        severities = [c.severity for c in screen.diagnoses]
        assert severities == sorted(severities, key=["error", "warning", "info"].index)
        # the list is grouped; the result (and every export) keeps the engine's order
        assert [c.id for c in screen.result.diagnoses] == \
            [c.id for c in _result(mini_kb).diagnoses]
        assert set(ids) == {"nonfinite_loss", "exploding_gradients", "lr_too_high",
                            "overfitting", "use_early_stopping"}
        assert "3 error(s), 1 warning(s), 1 tip(s)" in text_of(pilot, "#results-summary")
        # the first is selected; moving down selects the next and updates the detail
        assert screen.selected.id == ids[0]
        await pilot.press("down")
        assert screen.selected.id == ids[1]
        remedies = text_of(pilot, "#remedies-text")
        assert screen.selected.title in remedies and "1. " in remedies
        await pilot.press("2")
        assert screen.query_one("#detail").active == "evidence"
        evidence = text_of(pilot, "#evidence-text")
        assert "What spoke for it" in evidence and "Rules that fired" in evidence
        await pilot.press("3")
        tree = screen.query_one("#how-tree")
        assert tree.root.children, "the explanation tree is empty"
        labels = []

        def walk(node):
            labels.append(str(node.label))
            for child in node.children:
                walk(child)

        walk(tree.root)
        assert any(label.startswith("rule ") for label in labels)
        assert any("observed" in label for label in labels)
        await pilot.press("1")
        assert screen.query_one("#detail").active == "remedies"


async def test_remedies_keep_their_order_and_sources(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        app.show_result(_result(mini_kb, {"symptom.loss_nan": True,
                                          "training.gradient_clipping": False}))
        await wait_for_screen(pilot, "ResultsScreen")
        screen = app.screen
        ids = [c.id for c in screen.diagnoses]
        screen.query_one("#diagnoses").highlighted = ids.index("exploding_gradients")
        await pilot.pause()
        text = text_of(pilot, "#remedies-text")
        first = text.index("1. Clip the gradient norm")
        second = text.index("2. Lower the learning rate")
        assert first < second
        assert "source: https://arxiv.org/abs/1211.5063" in text
        assert "Sources" in text and "Pascanu" in text


async def test_export_markdown_and_json_then_reopen(mini_kb, tmp_path):
    app = AdvisorApp(kb=mini_kb, export_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        app.show_result(_result(mini_kb))
        await wait_for_screen(pilot, "ResultsScreen")
        await pilot.press("m")
        await wait_for_screen(pilot, "PromptScreen")
        assert app.screen.query_one("#prompt-input").value == str(tmp_path / "advisor-report.md")
        await pilot.press("enter")
        await wait_for_screen(pilot, "ResultsScreen")
        md = tmp_path / "advisor-report.md"
        assert md.read_text().startswith("# Diagnosis")
        assert f"Saved to {md.resolve()}" in text_of(pilot, "#results-status")
        await pilot.press("j")
        await wait_for_screen(pilot, "PromptScreen")
        await pilot.press("ctrl+a", "ctrl+k", *"sub/r.json", "enter")  # relative: export dir
        await wait_for_screen(pilot, "ResultsScreen")
        data = json.loads((tmp_path / "sub" / "r.json").read_text())
        assert data["facts"] == NAN_FACTS and data["diagnoses"]
        # the exported JSON is a report the TUI can open again
        app.open_report(str(tmp_path / "sub" / "r.json"))
        # the small test base asks nothing a probe measures, so the interview goes straight on
        # to the results; the interview underneath holds the report's facts
        await wait_for_screen(pilot, "ResultsScreen")
        guided = [s for s in app.screen_stack if type(s).__name__ == "GuidedScreen"]
        assert guided and guided[-1].session.given == NAN_FACTS


async def test_export_failure_is_shown(mini_kb, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    app = AdvisorApp(kb=mini_kb, export_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        app.show_result(_result(mini_kb))
        await wait_for_screen(pilot, "ResultsScreen")
        assert app.screen.export("md", blocker / "r.md") is None  # a file where a dir should be
        assert "Could not write" in text_of(pilot, "#results-status")


async def test_no_diagnosis_says_so(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.show_result(_result(mini_kb, {"symptom.loss_nan": False}))
        await wait_for_screen(pilot, "ResultsScreen")
        assert "Nothing in the knowledge base fired" in text_of(pilot, "#remedies-text")
        await pilot.press("h")
        await wait_for_screen(pilot, "HomeScreen")
