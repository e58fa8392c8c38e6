"""The probe in a child process that advisor outlives (issue 8 #9 hangs, #10 exits).

`advisor probe` runs the user's code: a `forward` that never returns, `os._exit(7)`, a segfault
in a C extension or the OOM killer would otherwise end or freeze advisor with no report. So the
command line runs the probe here: the child loads the setup, runs it, and streams to the parent
progress events, a snapshot of what is known after each phase, and the final report. The parent
forwards the progress, and when the child ends without a final report, or overruns a hard
deadline, it writes the report from the last snapshot with a note that says what happened.

Why `subprocess` running `python -m advisor.probing.worker`, not `multiprocessing`: the 'fork'
context copies a process that may hold threads and locks (torch's, rich's), and the 'spawn'
context re-imports the parent's `__main__`, which for a user's script calling advisor would run
the script again; a plain child with its own command line has neither problem, makes the
protocol explicit (JSON lines), and is what one would type to reproduce it.

Channels: the child's stdout and stderr are the terminal's (the user's prints reach it as
before); the protocol uses a separate pipe whose descriptor is passed with `pass_fds`. The child
runs in its own process group, so Ctrl-C reaches the parent only: the parent forwards one
SIGINT (the child's run ends as an interrupted, partial report), and kills the group on a second
Ctrl-C, at the hard deadline, or when the child does not finish after the interrupt. A child in
its own process group cannot read the terminal (no `input()` or `breakpoint()` in the user's
code under `advisor probe`; `advisor.probe(...)` in Python runs in-process and can).

Limits: pure-Python code that never returns is interrupted inside the child by a Watchdog (a
phase-level one in the step loop, and a backstop here around the whole run: no progress for
`watch_limit_s()`); C code that never returns to the interpreter is not, and the parent
kills the child at `budget + grace` seconds after the setup was loaded. Loading the setup (the
user's `setup()`, which may download data) has its own, longer limit. POSIX only (`pass_fds`,
process groups); see `supported()`.

Protocol (one JSON object per line, child -> parent):
    {"type": "started", "setup": {...}}                    the setup is loaded, the run starts
    {"type": "progress", "phase", "done", "total", "loss"}
    {"type": "snapshot", "phase", "facts", "notes", "series", "details"}   after each phase
    {"type": "report", "report": {...}}                    the final report (ProbeReport.to_dict)
    {"type": "setup_error", "message"}                     -> ProbeSetupError in the parent
    {"type": "hung", "hang": {...}}                        the backstop Watchdog fired
    {"type": "exit", "code"}                               sys.exit() escaped the run
    {"type": "interrupted"}                                Ctrl-C before the run could report
    {"type": "internal_error", "message", "traceback"}     a bug of ours in the child
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from advisor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, EXIT_USER_CODE
from advisor.probing.watchdog import HANG_DETAIL

Progress = Callable[[str, int, int, "float | None"], None]

SETUP_LIMIT_S = 600.0      # loading the setup: imports, dataset downloads, building the model
WATCH_MIN_S = 30.0          # the child's backstop never interrupts sooner than this
INTERRUPT_GRACE_S = 15.0   # after forwarding Ctrl-C: time for the child to write its report
ENDED_DETAIL = "user_code_ended"  # details key: how the user's code ended the process


def default_grace_s(budget: float) -> float:
    """Seconds the child may run past the budget before the parent kills it. Generous: the
    budget caps the experiments, not the model copies, the data scan and the diagnosis."""
    return budget + 30.0


def watch_limit_s(budget: float, grace_s: float) -> float:
    """The child's backstop Watchdog: seconds without progress before it interrupts the run.
    The runner reports progress at each phase's start and each training step, so a phase
    without steps (model copies, the first optimizer's lazy imports on a loaded machine, the
    LR range test) is silent for all its length: never less than WATCH_MIN_S."""
    return max(budget + grace_s / 2, WATCH_MIN_S)


def supported() -> bool:
    """The worker needs POSIX descriptors passing and process groups."""
    return os.name == "posix"


class WorkerError(RuntimeError):
    """The worker failed for a reason of ours (a bug): the CLI reports an internal error."""


@dataclass
class WorkerOutcome:
    """How the probe in the child ended, and the report (a dict, as the JSON report).

    ending: "finished" (the child sent its report), "hung" (the user's code did not return in
    time: interrupted in the child, or the child killed), "exited" (the user's code ended the
    process: os._exit, sys.exit escaping the run, a signal) or "interrupted" (Ctrl-C).
    message: the sentence the report's notes carry about that ending (None when finished).
    """

    report: dict[str, Any]
    ending: str = "finished"
    message: str | None = None
    exit_code: int | None = None   # the child's exit status; negative: killed by that signal
    phase: str | None = None
    step: int | None = None

    @property
    def partial(self) -> bool:
        return bool(self.report.get("partial"))

    @property
    def user_code_failed(self) -> bool:
        """The setup's code hung or ended the process: exit with EXIT_USER_CODE."""
        return self.ending in ("hung", "exited")

    def exit_status(self) -> int | None:
        """The exit code this ending imposes (EXIT_USER_CODE, EXIT_INTERRUPTED), or None when
        the usual rules (--fail-on) apply."""
        if self.ending == "interrupted":
            return EXIT_INTERRUPTED
        return EXIT_USER_CODE if self.user_code_failed else None


# =========================================================================== the parent side
def run_in_worker(spec: str, options: Any, progress: Progress | None = None, *,
                  grace_s: float | None = None, watch_s: float | None = None,
                  setup_limit_s: float = SETUP_LIMIT_S, diagnose: bool = True) -> WorkerOutcome:
    """Probe the setup named by `spec` in a child process and return how it ended.

    The parent kills the child `budget + grace_s` seconds after the setup was loaded (default
    grace: default_grace_s), or `setup_limit_s` after the start while loading it; the child
    interrupts pure-Python code after `watch_s` seconds without progress (default:
    watch_limit_s). `diagnose=False` leaves the diagnoses of a partial report empty.

    Raises ProbeSetupError when the setup cannot be loaded or used (as in-process), WorkerError
    for a failure of ours. Never raises KeyboardInterrupt: Ctrl-C gives an "interrupted" outcome.
    """
    if not supported():
        raise WorkerError("the probe's worker process needs a POSIX system")
    grace = default_grace_s(options.total_budget) if grace_s is None else grace_s
    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-m", "advisor.probing.worker", "--fd", str(write_fd),
               "--spec", spec, "--options", json.dumps(dataclasses.asdict(options)),
               "--watch-s", repr(watch_s or watch_limit_s(options.total_budget, grace))]
    try:
        child = subprocess.Popen(command, pass_fds=(write_fd,), **_own_process_group())
    finally:
        os.close(write_fd)
    session = _Session(child, read_fd, progress, run_limit_s=options.total_budget + grace,
                       setup_limit_s=setup_limit_s)
    try:
        session.follow()
    finally:
        session.close()
    return session.outcome(spec, options, diagnose)


def _own_process_group() -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        return {"process_group": 0}
    return {"start_new_session": True}  # pragma: no cover - Python 3.10


@dataclass
class _Session:
    """The parent's view of one child: messages so far, deadlines, and how it ended."""

    child: subprocess.Popen[bytes]
    fd: int
    progress: Progress | None
    run_limit_s: float
    setup_limit_s: float
    spawned: float = field(default_factory=time.monotonic)
    started: float | None = None
    setup_info: dict[str, Any] = field(default_factory=dict)
    phase: str = "setup"
    step: int | None = None
    snapshot: dict[str, Any] | None = None
    final: dict[str, Any] | None = None
    ended: dict[str, Any] | None = None      # a terminal message other than the report
    killed_after: float | None = None         # the deadline we killed the child at
    interrupted: bool = False
    _buffer: bytes = b""
    _lines: list[bytes] = field(default_factory=list)

    # ------------------------------------------------------------------ following the child
    def follow(self) -> None:
        """Read messages until the child ends (or is killed). Ctrl-C: forward it once, then
        wait INTERRUPT_GRACE_S for the child's report; a second Ctrl-C kills it."""
        try:
            self._follow_until(None)
        except KeyboardInterrupt:
            self.interrupted = True
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(signal.SIGINT)
            try:
                self._feed(b"")  # the lines queued behind the one that was interrupted
                self._follow_until(time.monotonic() + INTERRUPT_GRACE_S)
            except KeyboardInterrupt:
                self._kill()

    def _follow_until(self, hard_stop: float | None) -> None:
        while True:
            limit = self._deadline() if hard_stop is None else hard_stop
            wait = limit - time.monotonic()
            if wait <= 0:
                if hard_stop is None:
                    self.killed_after = (self.run_limit_s if self.started is not None
                                         else self.setup_limit_s)
                self._kill()
                self._drain()
                return
            ready, _, _ = select.select([self.fd], [], [], min(wait, 0.5))
            if ready:
                chunk = os.read(self.fd, 1 << 16)
                if chunk:
                    self._feed(chunk)
                    continue
                self._wait_child(10.0)  # EOF: the child closed its end, it is ending
                return
            if self.child.poll() is not None:  # ended, though a grandchild holds the pipe
                self._drain()
                return

    def _deadline(self) -> float:
        if self.started is None:
            return self.spawned + self.setup_limit_s
        return self.started + self.run_limit_s

    def _drain(self) -> None:
        """What the child wrote before it ended, without blocking on a pipe that a grandchild
        (a DataLoader worker) may still hold open."""
        os.set_blocking(self.fd, False)
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(self.fd, 1 << 16):
                self._feed(chunk)

    def _feed(self, chunk: bytes) -> None:
        """Complete lines are queued before any is handled: a Ctrl-C raised while one is
        handled (in the progress callback) leaves the others for the next call."""
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        self._lines.extend(lines)
        while self._lines:
            line = self._lines.pop(0)
            with contextlib.suppress(ValueError):  # not ours: only complete JSON lines count
                self._handle(json.loads(line))

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "started":
            self.started = time.monotonic()
            self.setup_info = message.get("setup") or {}
        elif kind == "progress":
            self.phase, done, total = message["phase"], message["done"], message["total"]
            self.step = done + 1 if total > 1 and done < total else None
            if self.progress is not None and not self.interrupted:
                self.progress(self.phase, done, total, message.get("loss"))
        elif kind == "snapshot":
            self.snapshot = message
        elif kind == "report":
            self.final = message["report"]
        else:
            self.ended = message

    def _wait_child(self, seconds: float) -> None:
        try:
            self.child.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self._kill()

    def _kill(self) -> None:
        """SIGKILL the child's process group (its DataLoader workers too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.child.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.child.wait(timeout=10.0)

    def close(self) -> None:
        if self.child.poll() is None:
            self._kill()
        with contextlib.suppress(OSError):
            os.close(self.fd)

    # ------------------------------------------------------------------ the outcome
    def outcome(self, spec: str, options: Any, diagnose: bool) -> WorkerOutcome:
        from advisor.probing.setup import ProbeSetupError

        ended = self.ended or {}
        kind = ended.get("type")
        if kind == "setup_error":
            raise ProbeSetupError(ended["message"])
        if kind == "internal_error":
            raise WorkerError(f"the probe's worker failed: {ended.get('message')}\n"
                              f"{ended.get('traceback', '')}".rstrip())
        code = self.child.returncode
        if self.final is not None:  # complete, even if the child was slow to exit after it
            return self._finished(code)
        ending, message, record = self._ending(kind, ended, code)
        report = self._partial_report(spec, options, message, record, diagnose)
        return WorkerOutcome(report, ending, message, code, self.phase, self.step)

    def _finished(self, code: int | None) -> WorkerOutcome:
        """The child reported: the run's own report says whether it was cut short."""
        report = self.final or {}
        details = (report.get("observations") or {}).get("details") or {}
        hang = details.get(HANG_DETAIL)
        if self.interrupted:
            return WorkerOutcome(report, "interrupted", None, code, self.phase, self.step)
        if hang:
            return WorkerOutcome(report, "hung", hang.get("message"), code,
                                 hang.get("phase"), hang.get("step"))
        return WorkerOutcome(report, "finished", None, code, self.phase, self.step)

    def _ending(self, kind: str | None, ended: dict[str, Any],
                code: int | None) -> tuple[str, str, dict[str, Any]]:
        """(ending, the note, the details record) for a child that did not report."""
        where = self._where()
        if self.killed_after is not None:
            return "hung", (f"the setup's code did not return within {self.killed_after:g} s"
                            f"{where}; the probe stopped its process"), \
                {"how": "killed at the deadline", "seconds": self.killed_after}
        if kind == "hung":
            hang = ended["hang"]
            return "hung", f"{hang['message']}; the probe stopped it", {"how": "hung", **hang}
        if kind == "exit":
            return "exited", (f"the setup's code called sys.exit({ended.get('code')!r}){where}; "
                              "the probe stopped there"), {"how": "sys.exit",
                                                           "code": ended.get("code")}
        if self.interrupted or kind == "interrupted":
            return "interrupted", f"Interrupted{where}: this report is partial.", \
                {"how": "interrupted"}
        if code is not None and code < 0:
            name = _signal_name(-code)
            return "exited", (f"the setup's code ended the process (killed by {name}){where}"), \
                {"how": "signal", "signal": name}
        return "exited", f"the setup's code ended the process (exit code {code}){where}", \
            {"how": "exit", "code": code}

    def _where(self) -> str:
        if self.started is None:
            return " while loading the setup"
        step = f" at step {self.step}" if self.step is not None else ""
        return f" during the {self.phase} phase{step}"

    def _partial_report(self, spec: str, options: Any, message: str, record: dict[str, Any],
                        diagnose: bool) -> dict[str, Any]:
        """The report from the last snapshot, marked partial, with the ending in its notes."""
        from advisor.report.probe import ProbeReport

        snap = self.snapshot or {}
        facts = dict(snap.get("facts") or {})
        details = dict(snap.get("details") or {})
        details[HANG_DETAIL if record["how"] in ("hung", "killed at the deadline")
                else ENDED_DETAIL] = {**record, "phase": self.phase, "step": self.step,
                                      "message": message}
        notes = [*(snap.get("notes") or []), _sentence(message)]
        diagnoses, unknown, problem = _diagnose(facts, options.kb_dirs) if diagnose and facts \
            else ([], [], None)
        return ProbeReport(
            setup={"name": spec, **self.setup_info}, device=None,
            options={"steps": options.steps, "budget": options.budget, "device": options.device,
                     "amp": options.amp, "seed": options.seed},
            timings={}, facts=facts, series=dict(snap.get("series") or {}), details=details,
            notes=notes, warnings=[], diagnoses=diagnoses, partial=True, unknown_facts=unknown,
            kb_problem=problem).to_dict()


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _diagnose(facts: dict[str, Any], kb_dirs: Any) -> tuple[list[Any], list[str], str | None]:
    """The engine on what the run measured before it ended (as a Ctrl-C'd run does)."""
    from advisor.probing.api import diagnose

    diagnoses, unknown, _result, problem = diagnose(facts, tuple(kb_dirs or ()))
    return diagnoses, unknown, problem


# =========================================================================== the child side
class _Channel:
    """The protocol pipe: one JSON object per line, written whole with os.write."""

    def __init__(self, fd: int):
        os.set_inheritable(fd, False)  # the user's subprocesses must not hold it open
        self.fd = fd

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, default=str) + "\n").encode()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except BrokenPipeError:  # the parent is gone: nobody to run for, nothing to report to
            os._exit(EXIT_INTERNAL)


class _ChildRun:
    """Progress and phase snapshots of the run, sent to the parent; the progress also beats
    the backstop Watchdog, so that only silence (no progress) longer than its limit counts."""

    def __init__(self, channel: _Channel):
        self.channel = channel
        self.dog: Any = None

    def progress(self, phase: str, done: int, total: int, loss: float | None = None) -> None:
        self.channel.send({"type": "progress", "phase": phase, "done": done, "total": total,
                           "loss": loss})
        if self.dog is not None:
            step = done + 1 if total > 1 and done < total else None
            self.dog.beat(phase, step, "the setup's code")

    def on_phase_end(self, phase: str, obs: Any) -> None:
        """The runner calls this after each phase with its Observations so far."""
        from advisor.probing.api import sanitize

        self.channel.send({"type": "snapshot", "phase": phase, "facts": sanitize(obs.facts),
                           "notes": list(obs.notes), "series": sanitize(obs.series),
                           "details": sanitize(obs.details)})


def _child(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m advisor.probing.worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--options", required=True)
    parser.add_argument("--watch-s", type=float, required=True)
    args = parser.parse_args(argv)
    # Ctrl-C forwarded by the parent must interrupt the run, whatever the child inherited: a
    # shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT
    signal.signal(signal.SIGINT, signal.default_int_handler)
    channel = _Channel(args.fd)
    try:
        return _child_run(channel, args.spec, json.loads(args.options), args.watch_s)
    except KeyboardInterrupt:
        _flush()
        channel.send({"type": "interrupted"})
        return EXIT_INTERRUPTED
    except Exception as exc:
        _flush()
        channel.send({"type": "internal_error", "message": f"{type(exc).__name__}: {exc}",
                      "traceback": traceback.format_exc()})
        return EXIT_INTERNAL


def _child_run(channel: _Channel, spec: str, raw_options: dict[str, Any],
               watch_s: float) -> int:
    from advisor.probing.context import ProbeOptions
    from advisor.probing.setup import ProbeSetupError, load_setup
    from advisor.probing.watchdog import UserCodeHung, Watchdog

    options = ProbeOptions(**{k: tuple(v) if isinstance(v, list) else v
                              for k, v in raw_options.items()})
    try:
        setup = load_setup(spec)
    except ProbeSetupError as exc:
        channel.send({"type": "setup_error", "message": str(exc)})
        return EXIT_USAGE
    channel.send({"type": "started", "setup": {"model": _qualname(setup.model)}})
    run = _ChildRun(channel)
    try:
        with Watchdog(watch_s, phase="model") as dog:
            run.dog = dog
            report = _run_setup(setup, options, run)
    except UserCodeHung as exc:
        _flush()
        channel.send({"type": "hung", "hang": exc.hang.to_dict() if exc.hang else {}})
        return EXIT_USER_CODE
    except SystemExit as exc:  # the user's code called sys.exit and the run did not catch it
        _flush()
        channel.send({"type": "exit", "code": exc.code})
        return EXIT_USER_CODE
    except ProbeSetupError as exc:
        channel.send({"type": "setup_error", "message": str(exc)})
        return EXIT_USAGE
    _flush()
    channel.send({"type": "report", "report": json.loads(report.to_json())})
    return 0


def _run_setup(setup: Any, options: Any, run: _ChildRun) -> Any:
    from advisor.probing.api import run_setup

    return run_setup(setup, options, run.progress, on_phase_end=run.on_phase_end)


def _qualname(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _flush() -> None:
    """The user's prints first, then the message that ends the protocol."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


if __name__ == "__main__":
    sys.exit(_child())
