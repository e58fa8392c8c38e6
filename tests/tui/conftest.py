"""Fixtures for the TUI tests: knowledge bases loaded once per session, a steady cursor.

Screen tests pass a loaded knowledge base to the app (`AdvisorApp(kb=...)`), so each test
pays for Textual, not for YAML parsing. The guided scenarios use the real built-in base; the
snapshots use the small base in data/kb, so they do not change whenever a rule is edited.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input
from tui_helpers import DATA


@pytest.fixture(scope="session")
def builtin_kb():
    from advisor.kb import load_kb

    return load_kb(use_env=False, check_examples=False)


@pytest.fixture(scope="session")
def mini_kb():
    from advisor.kb import load_kb

    return load_kb([DATA / "kb"], builtin=False, use_env=False)


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor would make screenshots depend on timing (Harlequin does the same)."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture(autouse=True)
def _no_startup_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ADVISOR_TUI_STARTUP_LOG", "ADVISOR_TUI_EXIT_WHEN_READY"):
        monkeypatch.delenv(name, raising=False)
