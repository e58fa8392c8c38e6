"""Entry point of `advisor tui [TARGET]` and `advisor tui --watch SCRIPT.py [ARGS...]` (called by
advisor.commands.tui).

TARGET is a saved report (a `.json` file), a finished run's logs (a folder, an event file, a
.csv/.jsonl table, a trainer_state.json: advisor.tui.logs tells a trainer state from a report by
its content) or a setup to probe (`path/file.py[:func]` or `package.module:func`); a watch is the
script's command line as after `python`. Only the app
module is imported here, and it imports only Textual and the home screen, so the first screen
shows up fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import advisor.tui.timing  # noqa: F401  (imported first: the fallback clock starts here)

if TYPE_CHECKING:
    from advisor.tui.app import Start


def classify(target: str | None) -> Start | None:
    """What TARGET names: a report or logs to open, a setup to probe, or nothing (the home
    screen)."""
    from advisor.tui.app import Start
    from advisor.tui.logs import is_log_path

    if not target:
        return None
    if is_log_path(target):
        return Start("logs", target)
    if Path(target).suffix.lower() == ".json":
        return Start("report", target)
    return Start("probe", target)


def run_tui(target: str | None, kb_dirs: list[str], *, watch: str | None = None,
            watch_options: dict[str, Any] | None = None,
            logs_options: dict[str, Any] | None = None) -> int:
    """Run the TUI until the person quits; the exit code is 0 unless the app set another."""
    from advisor.tui.app import AdvisorApp, Start

    start = Start("watch", watch) if watch is not None else classify(target)
    app = AdvisorApp(kb_dirs, start=start, watch_options=watch_options,
                     logs_options=logs_options)
    app.run()
    return app.return_code or 0
