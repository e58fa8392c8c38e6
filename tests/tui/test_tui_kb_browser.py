"""Knowledge-base browser: search, a rule's text and neighbours, loading user directories."""

from __future__ import annotations

import shutil

import pytest
from advisor.tui.app import AdvisorApp
from advisor.tui.screens.kb_browser import neighbours
from tui_helpers import DATA, ready, rendered, text_of, wait_for_screen


def test_neighbours_follow_the_rule_graph(mini_kb):
    near = neighbours(mini_kb, mini_kb.rules["lr_too_high"])
    assert [r.id for r in near["uses"]] == ["nonfinite_loss"]
    assert near["used by"] == []
    assert [r.id for r in near["also concludes lr_too_high"]] == ["lr_too_high_from_trend"]
    near = neighbours(mini_kb, mini_kb.rules["lr_too_high_from_trend"])
    assert [r.id for r in near["also concludes lr_too_high"]] == ["lr_too_high"]
    near = neighbours(mini_kb, mini_kb.rules["nonfinite_loss"])
    assert {r.id for r in near["used by"]} == {"exploding_gradients", "lr_too_high"}


async def test_search_show_and_walk_the_graph(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("k")
        await wait_for_screen(pilot, "KBBrowserScreen")
        screen = app.screen
        assert screen.shown == "rule:exploding_gradients"  # the first rule, alphabetically
        await pilot.press("slash", *"learning")
        await pilot.pause()
        assert screen.shown == "rule:lr_too_high"
        detail = text_of(pilot, "#kb-detail-text")
        for part in ("lr_too_high: Learning rate too high", "When:", "optim.lr > 0.01",
                     "Remedies:", "1. Divide the learning rate by 10", "Sources:",
                     "https://cs231n.github.io/neural-networks-3/", "Examples:"):
            assert part in detail, part
        await pilot.press("enter")  # to the list
        await pilot.press("enter")  # to the neighbours
        assert screen.focused.id == "kb-neighbours"
        await pilot.press("down", "enter")  # first neighbour: the rule it uses
        await pilot.pause()
        assert screen.shown == "rule:nonfinite_loss"
        assert screen.query_one("#kb-search").value == ""  # the search was cleared to show it
        await pilot.press("slash", *"clip")
        await pilot.pause()
        assert screen.shown == "fact:training.gradient_clipping"
        assert "Asked: Do you clip gradients?" in text_of(pilot, "#kb-detail-text")
        await pilot.press("slash", *"zzz")
        await pilot.pause()
        assert screen.shown is None
        await pilot.press("escape")  # leaves the search box first
        assert screen.focused.id == "kb-list"
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")


async def test_loading_a_broken_directory_lists_file_line(mini_kb, tmp_path):
    broken = tmp_path / "mine"
    shutil.copytree(DATA / "broken_kb", broken)
    app = AdvisorApp(kb=mini_kb, builtin=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("k")
        await wait_for_screen(pilot, "KBBrowserScreen")
        screen = app.screen
        assert not screen.query_one("#kb-problems").display
        await pilot.press("l")
        await wait_for_screen(pilot, "PromptScreen")
        app.screen.query_one("#prompt-input").value = str(broken)
        await pilot.press("enter")
        await wait_for_screen(pilot, "KBBrowserScreen")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one("#kb-problems").display
        text = text_of(pilot, "#kb-problems-text")
        assert "bad_rules.yaml:3:5: rule 'my_rule' is missing the required field 'severity'" \
            in text
        assert app.kb is mini_kb  # nothing was merged


async def test_loading_a_good_directory_merges_it(mini_kb, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "extra.yaml").write_text((DATA / "broken_kb" / "bad_rules.yaml").read_text()
                                     .replace("    kind: cause\n",
                                              "    kind: cause\n    severity: warning\n"))
    app = AdvisorApp(kb=mini_kb, kb_dirs=[str(DATA / "kb")], builtin=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("k")
        await wait_for_screen(pilot, "KBBrowserScreen")
        screen = app.screen
        screen.load_directory(str(mine))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "my_rule" in app.kb.rules and len(app.kb.rules) == len(mini_kb.rules) + 1
        assert app.kb_dirs == [str(DATA / "kb"), str(mine)]
        screen.go_to("rule:my_rule")
        assert "my_rule: My rule" in text_of(pilot, "#kb-detail-text")


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_rule_text_is_reflowed_to_the_pane_and_empty_strings_show(builtin_kb, size):
    """Explanations kept the author's YAML line breaks (and `kb show`'s 78 columns), so every
    line wrapped again in the narrower pane; `ne: ""` showed as `!=` with nothing after it."""
    app = AdvisorApp(kb=builtin_kb)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("k")
        await wait_for_screen(pilot, "KBBrowserScreen")
        screen = app.screen
        screen.go_to("rule:nonfinite_in_gradients_or_activations")
        await pilot.pause()
        pane = screen.query_one("#kb-detail-text")
        lines = [line.rstrip() for line in rendered(pilot, "#kb-detail-text")]
        assert any(line.strip() == 'act.nonfinite_module != ""' for line in lines), lines
        explanation = builtin_kb.rules["nonfinite_in_gradients_or_activations"].explanation
        words = explanation.split()
        # every line is filled: the next line's first word would not have fitted on it
        start = next(i for i, line in enumerate(lines) if line.strip().startswith(words[0]))
        block = []
        for line in lines[start:]:
            if not line.strip():
                break
            block.append(line)
        assert " ".join(" ".join(block).split()) == " ".join(words)  # the whole paragraph
        for line, following in zip(block, block[1:], strict=False):
            assert len(line) + 1 + len(following.split()[0]) > pane.size.width, (line, following)
            assert line.startswith("  ") and following.startswith("  ")  # indent kept
