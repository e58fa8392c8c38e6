"""Startup measurement: how long from process start until the first screen is on the terminal.

The issue asks that `advisor tui` shows its first screen within a second. We measure from the
moment the kernel started the process (not from when Python reached our code, which would hide
interpreter start-up and imports) until the home screen has been painted once. Set
`ADVISOR_TUI_STARTUP_LOG=FILE` to append the figure to FILE, and `ADVISOR_TUI_EXIT_WHEN_READY=1`
to quit right after, which is what `tests/tui/test_startup.py` does under a pseudo-terminal.
"""

from __future__ import annotations

import os
import time

LOG_ENV = "ADVISOR_TUI_STARTUP_LOG"
EXIT_ENV = "ADVISOR_TUI_EXIT_WHEN_READY"
_IMPORTED_AT = time.monotonic()


def seconds_since_process_start() -> float:
    """Seconds since the kernel started this process (Linux /proc); elsewhere since this module
    was imported, which is early in `run_tui` but later than the true start."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5); two fields precede the ")"
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


def log_startup(seconds: float) -> None:
    """Append the wall time and the CPU time spent so far; on a busy machine the CPU time is
    the figure that does not depend on what else is running."""
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"first_screen_s={seconds:.3f} cpu_s={time.process_time():.3f}\n")


def exit_when_ready() -> bool:
    return os.environ.get(EXIT_ENV, "") not in ("", "0")
