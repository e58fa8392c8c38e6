"""The bridge between the watch screen and `advisor watch`, free of Textual.

A watch runs the user's own script: it prints to stdout (which Textual owns), may call
sys.exit, and the watch's budget timer needs the main thread's signals. None of that can happen
inside the UI's process, so the watch runs as `python -m advisor watch --json REPORT --quiet ...`
in a subprocess. Its output (the script's prints, then the text report) is read line by line for
the log pane; its progress comes through the file named by ADVISOR_WATCH_PROGRESS
(advisor.watching.progress: JSON lines with the step and the losses read so far); its report is
the JSON file, read back into the report's Diagnosis and series. Cancelling sends SIGINT, as
Ctrl-C would: the watch stops the script and still writes the report of what it saw.
"""

from __future__ import annotations

import collections
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROGRESS_ENV = "ADVISOR_WATCH_PROGRESS"  # advisor.watching.progress.ENV (that module imports torch)
POLL_SECONDS = 0.1       # how often the progress file is read while the watch runs
STOP_GRACE_SECONDS = 15  # after SIGINT, the watch has this long to write its report
USAGE = ("SCRIPT.py [ARGS...] or -m MODULE [ARGS...], as after `python` (e.g. "
         "train.py --epochs 3)")


class WatchFailed(Exception):
    """The watch could not start or ended without a report; `str(exc)` is for the person."""


@dataclass(frozen=True)
class WatchRequest:
    """What to watch: `words` as after `python` (SCRIPT.py ARGS... or -m MODULE ARGS...), and
    the watch's options (`steps`, `budget`, `follow`, `every_step`)."""

    words: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> str | None:
        return self.words[1] if self.words[0] == "-m" and len(self.words) > 1 else None

    @property
    def script(self) -> str | None:
        return None if self.words[0] == "-m" else self.words[0]

    @property
    def name(self) -> str:
        return self.module or os.path.basename(self.script or "?")

    @property
    def line(self) -> str:
        return shlex.join(self.words)


def parse_request(line: str | Sequence[str], options: dict[str, Any] | None = None
                  ) -> WatchRequest:
    """A request from what the person typed (one line, split as a shell would) or from words."""
    if isinstance(line, str):
        try:
            words = shlex.split(line)
        except ValueError as exc:  # an unclosed quote
            raise WatchFailed(f"cannot read {line!r}: {exc}; give {USAGE}") from None
    else:
        words = list(line)
    if not words:
        raise WatchFailed(f"nothing to watch: give {USAGE}")
    if words[0] == "-m" and len(words) < 2:
        raise WatchFailed(f"-m needs a module name: give {USAGE}")
    return WatchRequest(tuple(words), dict(options or {}))


def check_request(request: WatchRequest, cwd: str | Path | None = None) -> None:
    """Refuse a script that is not there before starting Python (the watch says the same, a few
    seconds later); a module is looked up by the watch itself."""
    script = request.script
    if script is None:
        return
    path = Path(cwd or os.getcwd()) / Path(script).expanduser()
    if not path.exists():
        raise WatchFailed(f"{script}: no such file; give the path of your training script "
                          f"(relative to {Path(cwd or os.getcwd())}), e.g. train.py --epochs 3")
    if path.is_dir() and not (path / "__main__.py").exists():
        raise WatchFailed(f"{script}: is a folder without __main__.py; give the script inside it")


def problem_with(line: str) -> str | None:
    """What is wrong with a typed request (an unclosed quote, a missing script), or None."""
    try:
        check_request(parse_request(line))
    except WatchFailed as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class WatchProgress:
    """One progress line: steps watched, the steps planned (None: to the script's end), the
    losses read since the previous line (None for a non-finite one)."""

    step: int
    total: int | None
    losses: list[float | None]
    done: bool = False


@dataclass
class WatchOutcome:
    """A finished watch: its report (the probe report's JSON document), read back."""

    report: dict[str, Any]
    path: Path
    exit_code: int
    cancelled: bool = False

    @property
    def ending(self) -> str:
        """How the script ended: stopped, finished, crashed, exited, interrupted, capped."""
        details = (self.report.get("observations") or {}).get("details") or {}
        return str((details.get("watch") or {}).get("ending") or "finished")

    @property
    def steps(self) -> int:
        details = (self.report.get("observations") or {}).get("details") or {}
        return int((details.get("watch") or {}).get("steps_watched") or 0)

    def probe_report(self) -> Any:
        """The report as advisor.report.ProbeReport (the type `advisor watch` wrote)."""
        from advisor.report.probe import ProbeReport

        return ProbeReport.from_dict(self.report)

    def diagnosis(self) -> Any:
        """The report's diagnoses, as the results screen shows them (advisor.report.Diagnosis)."""
        return self.probe_report().diagnosis()

    @property
    def script_error(self) -> str | None:
        """The error that ended the script, with FILE:LINE in its code, or None."""
        error = self.probe_report().user_error()
        if error is None:
            return None
        message, where, _phase = error
        return f"{message} (at {where})" if where else message

    def series(self) -> dict[str, list[float]]:
        from advisor.report.reader import parse_series

        return parse_series(self.report.get("series"))


def watch_command(request: WatchRequest, report: Path, kb_dirs: Sequence[str] = ()
                  ) -> list[str]:
    """The `advisor watch` command line that runs the request (in the current interpreter)."""
    cmd = [sys.executable, "-m", "advisor", "watch", "--json", str(report), "--quiet"]
    options = request.options
    if options.get("steps"):
        cmd += ["--steps", str(int(options["steps"]))]
    if options.get("budget"):
        cmd += ["--budget", str(float(options["budget"]))]
    if options.get("follow"):
        cmd.append("--follow")
    if options.get("every_step"):
        cmd.append("--every-step")
    for folder in kb_dirs:
        cmd += ["--kb", str(folder)]
    if request.module:
        return cmd + ["-m", *request.words[1:]]
    return cmd + ["--", *request.words]


class _ProgressReader:
    """Reads the complete lines appended to the progress file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self) -> list[WatchProgress]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        return [p for p in map(_progress_line, lines) if p is not None]


def _progress_line(raw: bytes) -> WatchProgress | None:
    try:
        data = json.loads(raw)
        total = data.get("total")
        return WatchProgress(int(data["step"]), None if total is None else int(total),
                             [None if v is None else float(v) for v in data.get("losses", [])],
                             bool(data.get("done", False)))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # not a line of ours: skipped, the report still has every loss


def run_watch(request: WatchRequest, on_progress: Callable[[WatchProgress], None],
              on_output: Callable[[str], None], cancel: threading.Event,
              kb_dirs: Sequence[str] = (), cwd: str | Path | None = None) -> WatchOutcome:
    """Run the watch in a subprocess and block until it ends (call it from a worker thread).

    `on_progress` gets each progress line, `on_output` each line the subprocess prints; setting
    `cancel` stops the script as Ctrl-C would (the watch still writes what it saw)."""
    check_request(request, cwd)
    with tempfile.TemporaryDirectory(prefix="advisor-watch-") as tmp:
        report = Path(tmp) / "report.json"
        progress = Path(tmp) / "progress.jsonl"
        env = {**os.environ, PROGRESS_ENV: str(progress), "PYTHONUNBUFFERED": "1"}
        try:
            proc = subprocess.Popen(
                watch_command(request, report, kb_dirs), cwd=cwd, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, errors="replace", bufsize=1, start_new_session=True)
        except OSError as exc:
            raise WatchFailed(f"cannot start Python for the watch: {exc}") from None
        tail: collections.deque[str] = collections.deque(maxlen=40)
        reader = threading.Thread(target=_pump, args=(proc, on_output, tail), daemon=True)
        reader.start()
        cancelled = _follow(proc, _ProgressReader(progress), on_progress, cancel)
        reader.join()
        if not report.exists():
            if cancelled:
                raise WatchFailed("the watch was cancelled before it wrote a report")
            raise WatchFailed(_failure(proc.returncode, tail))
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WatchFailed(f"the watch's report could not be read: {exc}") from None
    return WatchOutcome(data, report, proc.returncode, cancelled)


def _pump(proc: subprocess.Popen[str], on_output: Callable[[str], None],
          tail: collections.deque[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        text = line.rstrip("\n")
        tail.append(text)
        on_output(text)


def _follow(proc: subprocess.Popen[str], progress: _ProgressReader,
            on_progress: Callable[[WatchProgress], None], cancel: threading.Event) -> bool:
    """Pass progress on until the subprocess ends; on cancel, SIGINT it (then kill it if it
    does not end within the grace period). Returns whether it was cancelled."""
    cancelled = False
    while proc.poll() is None:
        for line in progress.read():
            on_progress(line)
        if cancel.wait(POLL_SECONDS) and not cancelled:
            cancelled = True
            _stop(proc)
    for line in progress.read():
        on_progress(line)
    return cancelled


def _stop(proc: subprocess.Popen[str]) -> None:
    try:
        proc.send_signal(signal.SIGINT)
        proc.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
    except ProcessLookupError:
        pass


def _failure(code: int | None, tail: Sequence[str]) -> str:
    """Why a watch ended without a report: the watch's own message when it printed one."""
    said = [line.split(":", 1)[1].strip() for line in tail
            if line.startswith(("advisor watch:", "advisor:"))]
    if said:
        return said[-1]
    last = "\n".join(list(tail)[-5:]) or "(no output)"
    return f"the watch ended with exit code {code} and no report; its last output:\n{last}"
