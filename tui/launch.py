"""Entry point of `advisor tui [TARGET]` (called by advisor.commands.tui).

TARGET is either a saved report (a `.json` file) or a setup to probe (`path/file.py[:func]` or
`package.module:func`). Only the app module is imported here, and it imports only Textual and
the home screen, so the first screen shows up fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import advisor.tui.timing  # noqa: F401  (imported first: the fallback clock starts here)

if TYPE_CHECKING:
    from advisor.tui.app import Start


def classify(target: str | None) -> Start | None:
    """What TARGET names: a report to open, a setup to probe, or nothing (the home screen)."""
    from advisor.tui.app import Start

    if not target:
        return None
    if Path(target).suffix.lower() == ".json":
        return Start("report", target)
    return Start("probe", target)


def run_tui(target: str | None, kb_dirs: list[str]) -> int:
    """Run the TUI until the person quits; the exit code is 0 unless the app set another."""
    from advisor.tui.app import AdvisorApp

    app = AdvisorApp(kb_dirs, start=classify(target))
    app.run()
    return app.return_code or 0
