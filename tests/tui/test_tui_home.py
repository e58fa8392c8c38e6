"""Home: the menu reaches every screen by key and by mouse, and knowledge problems are shown."""

from __future__ import annotations

from advisor.tui.app import AdvisorApp
from tui_helpers import fake_probe, ready, text_of, wait_for_screen


async def test_home_shows_the_menu_and_the_knowledge_base(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert type(app.screen).__name__ == "HomeScreen"
        assert app.startup_seconds is not None
        status = text_of(pilot, "#home-kb")
        assert "6 rules" in status and "3 symptoms" in status


async def test_keys_reach_every_screen_and_come_back(mini_kb):
    app = AdvisorApp(kb=mini_kb, probe_runner=fake_probe({}, block=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for key, screen in (("s", "GuidedScreen"), ("k", "KBBrowserScreen")):
            await pilot.press(key)
            await wait_for_screen(pilot, screen)
            await pilot.press("escape")
            await wait_for_screen(pilot, "HomeScreen")
        await pilot.press("o")
        await wait_for_screen(pilot, "PromptScreen")
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")
        await pilot.press("p")
        await wait_for_screen(pilot, "PromptScreen")
        await pilot.press("enter")  # empty: the dialog asks for a value and stays
        assert "Type a value" in text_of(pilot, "#prompt-error")
        await pilot.press(*"x.py", "enter")
        await wait_for_screen(pilot, "ProbeScreen")
        assert app.screen.spec == "x.py"
        await pilot.press("escape")  # cancels the probe and goes back
        await wait_for_screen(pilot, "HomeScreen")


async def test_the_mouse_works_too(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        menu = app.screen.query_one("#home-menu")
        await pilot.click(menu, offset=(10, 4))  # the second entry: describe a symptom
        await pilot.click(menu, offset=(10, 4))
        await wait_for_screen(pilot, "GuidedScreen")


async def test_q_quits(mini_kb):
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_a_broken_user_directory_is_reported_not_fatal(tmp_path):
    from tui_helpers import DATA

    app = AdvisorApp([str(DATA / "broken_kb")])
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.kb is not None  # the built-in knowledge still works
        assert "problem(s) and was not loaded" in text_of(pilot, "#home-kb")
        await pilot.press("k")
        await wait_for_screen(pilot, "KBBrowserScreen")
        shown = text_of(pilot, "#kb-problems-text")
        assert "bad_rules.yaml:3:5: rule 'my_rule' is missing the required field 'severity'" \
            in shown


async def test_a_broken_builtin_base_still_opens(monkeypatch):
    import advisor.kb
    from advisor.kb import KBError, Location, Problem

    def broken(*args, **kwargs):
        raise KBError([Problem(Location("knowledge/rules/loss.yaml", 12, 5), "bad rule")])

    monkeypatch.setattr(advisor.kb, "load_kb", broken)
    app = AdvisorApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.kb is None
        assert "cannot be used" in text_of(pilot, "#home-kb")
        await pilot.press("s")
        await wait_for_screen(pilot, "MessageScreen")
        assert "knowledge/rules/loss.yaml:12:5: bad rule" in app.screen.message_text
        await pilot.press("escape")
        await pilot.press("k")  # the browser still opens and lists the problems
        await wait_for_screen(pilot, "KBBrowserScreen")
        assert "loss.yaml:12:5: bad rule" in text_of(pilot, "#kb-problems-text")
