"""A watchdog that interrupts the user's code when it does not return in time (issue 8 #9).

The probe runs the user's forward, loss, backward, optimizer step and data loading in its own
thread. A `forward` that loops forever would hold the probe (and its time budget) forever, so the
step loop runs inside a `Watchdog`: a daemon thread that watches a `Heartbeat` (phase, step,
activity, time of the last beat) and, when the watched activity has not returned within its
limit, raises `UserCodeHung` in the watched thread with
`ctypes.pythonapi.PyThreadState_SetAsyncExc`.

How the step loop uses it::

    try:
        with Watchdog(limit_s, phase="training") as dog:
            for step in range(1, steps + 1):
                dog.beat("training", step, "reading data")
                batch = next(batches)
                dog.beat("training", step, "forward")
                loss = ...
                dog.rest()            # the probe's own bookkeeping: not watched
                ...
    except UserCodeHung as exc:       # exc.hang: phase, step, activity, seconds, message
        ...obs.details[HANG_DETAIL] = exc.hang.to_dict(); stop the run; partial report...

Contract (what makes it safe around a loop):
- `UserCodeHung` is raised at most once per beat, only in the watched thread, and only while the
  `with` statement runs: in the body or, when the limit falls exactly on the end of the block, as
  the block ends. Once the `with` statement has completed nothing more is raised: leaving, like
  every beat and rest, disarms under the lock and withdraws an exception that was sent but not
  yet delivered, and the delivery itself disarms the watchdog (and those nested in it), so a
  block whose `__exit__` was skipped by the exception leaves nothing armed either.
- The `with` statement does not swallow it; `dog.hung` tells afterwards what this watchdog
  interrupted (None when it interrupted nothing).
- It derives from BaseException, not Exception, so the user's `except Exception:` cannot swallow
  it and the step loop's `except Exception` (the user's errors) does not take it for one. It is
  not a KeyboardInterrupt: Ctrl-C stays Ctrl-C.
- Nesting works (a per-phase limit inside a whole-run limit): each watchdog raises its own
  (`exc.watchdog is dog`); an outer one's exception passes through the inner block.

What it cannot interrupt: an asynchronous exception is seen only between Python bytecodes, so C
code that does not return to the interpreter (a C extension spinning while it holds the GIL, a
blocking read in C, `time.sleep(1e9)`, a deadlocked `lock.acquire()`) is not interrupted; the
exception arrives when (if) that call returns. Nor is user code that catches BaseException and
carries on (one exception per beat). In the command line the worker process's hard deadline
covers both (advisor.probing.worker kills the child); from `advisor.probe(...)` nothing can.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import time
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

HANG_DETAIL = "user_code_hung"  # the report's details key under which the runner stores a Hang

_set_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))
_clear_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))

# One lock for every watchdog: firing, delivering and disarming are decided under it. Reentrant
# because a delivery can land while the watched thread holds it (in beat/rest/exit) and the
# delivery takes it again to claim the firing.
_LOCK = threading.RLock()
_IN_FLIGHT: dict[int, tuple[Watchdog, Hang]] = {}  # thread id -> the firing not yet delivered
_ACTIVE: dict[int, list[Watchdog]] = {}             # thread id -> watchdogs entered, outermost 1st
_TOKENS = itertools.count(1)


@dataclass(frozen=True)
class Heartbeat:
    """What the watched thread is doing, and since when (time.monotonic())."""

    phase: str
    step: int | None
    activity: str
    at: float
    limit_s: float


@dataclass(frozen=True)
class Hang:
    """What did not return: plain data for the report (`to_dict`) and one sentence (`message`)."""

    phase: str
    step: int | None
    activity: str
    seconds: float

    @property
    def message(self) -> str:
        where = f" during the {self.phase} phase" if self.phase else ""
        step = f" at step {self.step}" if self.step is not None else ""
        return f"{self.activity} did not return within {self.seconds:g} s{where}{step}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


class UserCodeHung(BaseException):
    """Raised in the watched thread when the user's code overran its limit.

    The C API raises classes only: the watchdog sends the class, and the instance, created in
    the watched thread when the exception is delivered, claims the firing (what hung, and which
    watchdog sent it).
    """

    def __init__(self, hang: Hang | None = None, watchdog: Watchdog | None = None):
        if hang is None:
            watchdog, hang = _claim(threading.get_ident())
        self.hang = hang
        self.watchdog = watchdog
        super().__init__(hang.message if hang is not None else "the user's code did not return")

    @property
    def phase(self) -> str | None:
        return self.hang.phase if self.hang else None

    @property
    def step(self) -> int | None:
        return self.hang.step if self.hang else None

    @property
    def activity(self) -> str | None:
        return self.hang.activity if self.hang else None

    @property
    def seconds(self) -> float | None:
        return self.hang.seconds if self.hang else None


def _claim(thread_id: int) -> tuple[Watchdog | None, Hang | None]:
    """The watched thread received the exception: claim the latest firing for it.

    Under the lock no watchdog can fire, so the firing in _IN_FLIGHT is the latest one, and an
    exception still pending for this thread (a second firing that landed while this one was
    being delivered) belongs to it: it is withdrawn, and this exception stands for it. No call
    comes before that withdrawal (a call is where a pending exception would be delivered).
    The firing watchdog, and every watchdog entered inside it, are disarmed: the exception
    unwinds their blocks, and may skip their `__exit__` when it arrives as a block ends.
    """
    with _LOCK:
        flight = _IN_FLIGHT[thread_id] if thread_id in _IN_FLIGHT else None  # noqa: SIM401 (no call)
        if flight is None:
            return None, None
        del _IN_FLIGHT[thread_id]
        _clear_async_exc(thread_id, None)
        watchdog, hang = flight
        watchdog.hung = hang
        stack = _ACTIVE.get(thread_id, [])
        start = stack.index(watchdog) if watchdog in stack else len(stack)
        for dog in [watchdog, *stack[start + 1:]]:
            dog._disarm_locked()
        del stack[start + 1:]
        return watchdog, hang


class Watchdog:
    """Interrupts the thread that entered it when a beat's activity overruns its limit.

    limit_s: the default limit of each beat, in seconds from the beat. The block is watched from
    `__enter__` as (phase, None, activity) until the first beat; `rest()` stops watching until
    the next beat. One watchdog guards one `with` block.
    """

    def __init__(self, limit_s: float, phase: str = "", activity: str = "the setup's code",
                 *, poll_s: float = 0.25):
        if not limit_s > 0:
            raise ValueError(f"limit_s must be positive, got {limit_s!r}")
        self.limit_s = float(limit_s)
        self.hung: Hang | None = None
        self._phase, self._activity, self._poll_s = phase, activity, poll_s
        self._beat: Heartbeat | None = None   # None: resting, nothing is watched
        self._target: int | None = None
        self._token: int | None = None        # the live watcher thread's token, None if none
        self._thread: threading.Thread | None = None
        self._entered = self._closed = False
        self._wake = threading.Condition(_LOCK)

    # ----------------------------------------------------------------------- the loop's API
    def beat(self, phase: str, step: int | None, activity: str,
             limit_s: float | None = None) -> None:
        """The watched thread starts `activity` (e.g. "forward") of `step` in `phase`; it must
        return, or beat again, within `limit_s` seconds (default: the watchdog's limit)."""
        heartbeat = Heartbeat(phase, step, activity, time.monotonic(),
                              float(limit_s) if limit_s else self.limit_s)
        with _LOCK:
            if not self._entered or self._closed:
                raise RuntimeError("Watchdog.beat() outside its `with` block")
            self._withdraw_locked()
            self._beat = heartbeat
            if self._token is None:
                self._start_watcher_locked()
            else:
                self._wake.notify_all()

    def rest(self) -> None:
        """Stop watching until the next beat: the probe's own work runs now."""
        with _LOCK:
            self._withdraw_locked()
            self._beat = None

    @property
    def heartbeat(self) -> Heartbeat | None:
        """The last beat (None while resting)."""
        return self._beat

    # ----------------------------------------------------------------------- context manager
    def __enter__(self) -> Watchdog:
        with _LOCK:
            if self._entered:
                raise RuntimeError("a Watchdog guards one block; create a new one for another")
            self._entered = True
            self._target = threading.get_ident()
            _ACTIVE.setdefault(self._target, []).append(self)
        self.beat(self._phase, None, self._activity)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Disarm for good and stop the watcher thread (what `__exit__` does)."""
        with _LOCK:
            self._closed = True
            self._withdraw_locked()
            self._disarm_locked()
            stack = _ACTIVE.get(self._target, [])  # type: ignore[arg-type]
            if self in stack:
                stack.remove(self)
            if not stack:
                _ACTIVE.pop(self._target, None)  # type: ignore[arg-type]
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    # ----------------------------------------------------------------------- internals
    def _withdraw_locked(self) -> None:
        """The watched activity returned (a beat, a rest, the exit): an exception sent for it
        and not yet delivered is withdrawn, so that it cannot surface later."""
        flight = _IN_FLIGHT[self._target] if self._target in _IN_FLIGHT else None  # noqa: SIM401
        if flight is not None and flight[0] is self:
            del _IN_FLIGHT[self._target]
            _clear_async_exc(self._target, None)

    def _disarm_locked(self) -> None:
        self._beat = None
        self._token = None  # the watcher thread sees it and ends
        self._wake.notify_all()

    def _start_watcher_locked(self) -> None:
        self._token = token = next(_TOKENS)
        self._thread = threading.Thread(target=self._watch, args=(token,), daemon=True,
                                        name="advisor-watchdog")
        self._thread.start()

    def _watch(self, token: int) -> None:
        """The watcher thread: sleep until the current beat is due, then fire once and end."""
        with _LOCK:
            while self._token == token:
                beat = self._beat
                if beat is None:
                    self._wake.wait(self._poll_s)
                    continue
                due = beat.at + beat.limit_s - time.monotonic()
                if due > 0:
                    self._wake.wait(min(due, self._poll_s))
                    continue
                self._fire_locked(beat)
                self._token = None

    def _fire_locked(self, beat: Heartbeat) -> None:
        """Send UserCodeHung to the watched thread (the caller holds the lock, so the beat
        cannot end in between). A firing not yet delivered, of another watchdog, is replaced:
        the C API keeps one pending exception per thread, and so does _IN_FLIGHT."""
        hang = Hang(beat.phase, beat.step, beat.activity, beat.limit_s)
        _IN_FLIGHT[self._target] = (self, hang)  # type: ignore[index]
        self._beat = None
        if _set_async_exc(self._target, UserCodeHung) != 1:  # the thread is gone
            del _IN_FLIGHT[self._target]  # type: ignore[arg-type]
