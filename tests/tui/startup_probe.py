"""Measure how long `advisor tui` takes to show its first screen, in a real pseudo-terminal.

Run as a script (`python tests/tui/startup_probe.py [RUNS]`) it prints each run's figure; the
test in test_startup.py imports `measure`. The app logs the time from process start (kernel
start time in /proc) to the home screen's first paint, then exits (ADVISOR_TUI_* variables in
tui/timing.py); we also record the wall time of the whole process from the parent's side.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def measure(args: tuple[str, ...] = ("tui",), timeout: float = 30.0
            ) -> tuple[float, float, float]:
    """(wall seconds from process start to the first screen, CPU seconds the process had used by
    then, wall seconds of the whole process as seen from here), as the app logged them."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "startup.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
        env.update(ADVISOR_TUI_STARTUP_LOG=str(log), ADVISOR_TUI_EXIT_WHEN_READY="1",
                   TERM="xterm-256color", COLUMNS="80", LINES="24",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "advisor", *args], stdin=slave,
                                stdout=slave, stderr=slave, env=env, cwd=tmp,
                                close_fds=True)
        os.close(slave)
        try:
            while proc.poll() is None and time.monotonic() - start < timeout:
                ready, _, _ = select.select([master], [], [], 0.05)
                if ready:
                    try:
                        os.read(master, 65536)  # drain, or the child blocks writing
                    except OSError:
                        break
            proc.wait(timeout=max(1.0, timeout - (time.monotonic() - start)))
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(master)
        wall = time.monotonic() - start
        text = log.read_text() if log.exists() else ""
        if "first_screen_s=" not in text:
            raise RuntimeError(f"the app logged no startup time (exit {proc.returncode})")
        fields = dict(part.split("=") for part in text.split())
        return float(fields["first_screen_s"]), float(fields["cpu_s"]), wall


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for _ in range(runs):
        first, cpu, wall = measure()
        print(f"first screen {first:.3f} s (CPU {cpu:.3f} s)   whole process {wall:.3f} s")
