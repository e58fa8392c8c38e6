"""The Hugging Face Trainer's `trainer_state.json` (TrainerState.save_to_json).

The Trainer appends one dict to `log_history` per log call: training entries carry `loss`,
`grad_norm`, `learning_rate`, `epoch`, `step`; evaluation entries carry `eval_*` and `epoch`,
`step`; the last entry summarises the run (`train_loss`, `train_runtime`, ...). The file is
written with Python's json, so a NaN is the bare token `NaN`.

By default (`logging_nan_inf_filter=True`) the Trainer replaces a non-finite step loss by the
average of the window's earlier losses; once every loss of a window is NaN, that average is 0,
so a diverged run logs `loss 0.0` beside a NaN `grad_norm`. The reader reports those steps in
`hidden_nan_steps` and keeps the values as logged.

One `json.loads` of the whole file is unavoidable with the standard library, but the log
entries never become dicts: an `object_pairs_hook` moves each entry's numbers into typed arrays
as the parser meets it (a million entries as dicts would take about 0.5 GB).
"""

from __future__ import annotations

import json
import math
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from advisor.logs.errors import LogsError
from advisor.logs.run import LoggedRun, Series, hidden_nan_note, hidden_nan_steps

# Keys of the end-of-training summary entry: one point each, the average over the whole run, not
# a series; they go to the notes.
_SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second",
                 "total_flos", "train_loss")


class _Entry(int):
    """What a log entry turns into while the JSON is parsed: its number among the entries; its
    values went to the columns."""

    __slots__ = ()


@dataclass
class _Shape:
    """The entries that share one key tuple: their values flat, one row per entry."""

    keys: tuple[str, ...]
    step: int  # the position of "step" among the keys
    values: array = field(default_factory=lambda: array("d"))
    entries: array = field(default_factory=lambda: array("q"))


@dataclass
class _Columns:
    """Every log entry's numbers in typed arrays, grouped by the entry's keys (a Trainer writes
    a handful of entry shapes): a million entries never become a million dicts."""

    shapes: dict[tuple[str, ...], _Shape | None] = field(default_factory=dict)
    count: int = 0

    def _shape(self, keys: tuple[str, ...]) -> _Shape | None:
        """A new shape, or None for objects that are no log entry (no step, or the
        end-of-training summary)."""
        if "step" not in keys or "train_runtime" in keys:
            return None
        return _Shape(keys, keys.index("step"))

    def hook(self, pairs: list[tuple[str, Any]]) -> Any:
        """json's object_pairs_hook: a log entry (a finite number under "step", not the
        end-of-training summary) goes to the columns and becomes an `_Entry`; any other object
        stays a dict."""
        if not pairs:
            return {}
        keys, values = zip(*pairs, strict=True)
        try:
            shape = self.shapes[keys]
        except KeyError:
            shape = self.shapes[keys] = self._shape(keys)
        if shape is None:
            return dict(pairs)
        step = values[shape.step]
        if step.__class__ is not int and (step.__class__ is not float
                                          or not math.isfinite(step)):
            return dict(pairs)
        index = self.count
        if bool in map(type, values):
            return self._mixed(pairs, step, index)
        try:
            shape.values.extend(values)
        except TypeError:  # a text, null, list or object value among the numbers
            return self._mixed(pairs, step, index)
        shape.entries.append(index)
        self.count += 1
        return _Entry(index)

    def _mixed(self, pairs: list[tuple[str, Any]], step: float, index: int) -> _Entry:
        """An entry with non-numbers: its numbers one by one, each as a (step, key) shape."""
        for key, value in pairs:
            number = _number(value)
            if key != "step" and number is not None:
                shape = self.shapes.setdefault(("step", key), _Shape(("step", key), 0))
                shape.values.extend((step, number))
                shape.entries.append(index)
        self.count += 1
        return _Entry(index)

    def series(self, entries: list[int]) -> dict[str, Series]:
        """One series per key over the entries that are log_history's, in its order."""
        wanted = np.asarray(entries, dtype=np.int64)
        keep = None
        if wanted.size != self.count or np.any(wanted != np.arange(self.count)):
            keep = np.zeros(self.count, dtype=bool)
            keep[wanted] = True  # objects that looked like entries outside log_history drop
        parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        for shape in self.shapes.values():
            if shape is None or not shape.entries:
                continue
            rows = np.frombuffer(shape.values, np.float64).reshape(-1, len(shape.keys))
            index = np.frombuffer(shape.entries, np.int64)
            if keep is not None:
                rows, index = rows[keep[index]], index[keep[index]]
            steps = rows[:, shape.step].astype(np.int64)
            for j, key in enumerate(shape.keys):
                if j != shape.step:
                    parts.setdefault(key, []).append((index, steps, rows[:, j]))
        out: dict[str, Series] = {}
        for key, chunks in parts.items():
            index, steps, values = (np.concatenate(c) for c in zip(*chunks, strict=True))
            if len(chunks) > 1:
                order = np.argsort(index, kind="stable")
                steps, values = steps[order], values[order]
            if steps.size:
                out[key] = Series(key, steps, np.ascontiguousarray(values))
        return out


def _parse(path: Path, hook: Any = None) -> Any:
    """The file's JSON, or a LogsError with file:line:col."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LogsError(f"{path}: not UTF-8 text ({exc.reason}); "
                        "is it a trainer_state.json?") from None
    try:
        return json.loads(text, object_pairs_hook=hook)
    except json.JSONDecodeError as exc:
        raise LogsError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
                        "the Trainer writes this file whole, so it may have been cut short: "
                        "read an earlier checkpoint's trainer_state.json instead") from None


def _check_state(path: Path, state: Any) -> dict[str, Any]:
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise LogsError(f"{path}: no 'log_history' list, so not a Hugging Face "
                        "trainer_state.json; give the Trainer's output_dir or a checkpoint-N "
                        "folder, or use --map with a CSV/JSON Lines file")
    return state


def load_state(path: Path) -> dict[str, Any]:
    """The JSON object of a trainer_state.json, or a LogsError with file:line:col."""
    return _check_state(path, _parse(path))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def read_trainer_state(path: Path, name: str) -> LoggedRun:
    """One run from a trainer_state.json."""
    columns = _Columns()
    state = _check_state(path, _parse(path, columns.hook))
    notes: list[str] = []
    entries: list[int] = []
    for index, entry in enumerate(state["log_history"]):
        if isinstance(entry, _Entry):
            entries.append(int(entry))
        elif not isinstance(entry, dict):
            continue
        elif "train_runtime" in entry and math.isfinite(_number(entry.get("step")) or math.nan):
            summary = {k: entry[k] for k in _SUMMARY_KEYS if k in entry}
            notes.append(f"{path.name}: end of training at step {int(entry['step'])}: "
                         + ", ".join(f"{k}={v}" for k, v in summary.items()))
        else:
            notes.append(f"{path.name}: log_history[{index}] has no step; left out")
    del state
    series = columns.series(entries)
    run = LoggedRun(name=name, source="huggingface", path=str(path), series=series, notes=notes)
    hidden = hidden_nan_steps(series.get("loss"), series.get("grad_norm"))
    if hidden:
        run.hidden_nan_steps = hidden
        run.notes.append(hidden_nan_note(path.name, hidden))
    if not series:
        raise LogsError(f"{path}: log_history holds no logged numbers yet; the Trainer logs "
                        "every logging_steps steps, so read it again later or lower logging_steps")
    return run


# save_to_json sorts the keys, so "global_step" comes before "log_history", near the top.
_GLOBAL_STEP = re.compile(rb'^  "global_step": (-?\d+),?$', re.MULTILINE)


def global_step(path: Path) -> int:
    """The file's global_step (for choosing the latest of several), -1 when unreadable.

    Read from the file's first 64 KB where the Trainer put it, so that ranking checkpoints
    does not parse a large log_history; parsed whole otherwise."""
    try:
        with path.open("rb") as f:
            head = f.read(1 << 16)
        found = _GLOBAL_STEP.search(head.split(b'\n  "log_history"', 1)[0])
        if found:
            return int(found.group(1))
        value = json.loads(path.read_text(encoding="utf-8")).get("global_step", -1)
    except (OSError, ValueError, AttributeError):
        return -1
    return int(value) if isinstance(value, (int, float)) else -1
