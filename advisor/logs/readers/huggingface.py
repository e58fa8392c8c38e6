"""The Hugging Face Trainer's `trainer_state.json` (TrainerState.save_to_json).

The Trainer appends one dict to `log_history` per log call: training entries carry `loss`,
`grad_norm`, `learning_rate`, `epoch`, `step`; evaluation entries carry `eval_*` and `epoch`,
`step`; the last entry summarises the run (`train_loss`, `train_runtime`, ...). The file is
written with Python's json, so a NaN is the bare token `NaN`.

By default (`logging_nan_inf_filter=True`) the Trainer replaces a non-finite step loss by the
average of the window's earlier losses; once every loss of a window is NaN, that average is 0,
so a diverged run logs `loss 0.0` beside a NaN `grad_norm`. The reader reports those steps in
`hidden_nan_steps` and keeps the values as logged.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from advisor.logs.errors import LogsError
from advisor.logs.run import LoggedRun, Series

# Keys of the end-of-training summary entry: one point each, the average over the whole run, not
# a series; they go to the notes.
_SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second",
                 "total_flos", "train_loss")


def load_state(path: Path) -> dict[str, Any]:
    """The JSON object of a trainer_state.json, or a LogsError with file:line:col."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LogsError(f"{path}: not UTF-8 text ({exc.reason}); "
                        "is it a trainer_state.json?") from None
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LogsError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
                        "the Trainer writes this file whole, so it may have been cut short: "
                        "read an earlier checkpoint's trainer_state.json instead") from None
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise LogsError(f"{path}: no 'log_history' list, so not a Hugging Face "
                        "trainer_state.json; give the Trainer's output_dir or a checkpoint-N "
                        "folder, or use --map with a CSV/JSON Lines file")
    return state


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _hidden_nan_steps(series: dict[str, Series]) -> list[int]:
    """Steps where the logged loss is exactly 0.0 and grad_norm at that step is not finite."""
    loss, grad = series.get("loss"), series.get("grad_norm")
    if loss is None or grad is None:
        return []
    bad_grad = set(grad.steps[~np.isfinite(grad.values)].tolist())
    zero = loss.steps[loss.values == 0.0]
    return [int(s) for s in zero if int(s) in bad_grad]


def read_trainer_state(path: Path, name: str) -> LoggedRun:
    """One run from a trainer_state.json."""
    state = load_state(path)
    columns: dict[str, tuple[list[int], list[float]]] = {}
    notes: list[str] = []
    for index, entry in enumerate(state["log_history"]):
        if not isinstance(entry, dict):
            continue
        step = _number(entry.get("step"))
        if step is None or not math.isfinite(step):
            notes.append(f"{path.name}: log_history[{index}] has no step; left out")
            continue
        if "train_runtime" in entry:
            summary = {k: entry[k] for k in _SUMMARY_KEYS if k in entry}
            notes.append(f"{path.name}: end of training at step {int(step)}: "
                         + ", ".join(f"{k}={v}" for k, v in summary.items()))
            continue
        for key, value in entry.items():
            number = _number(value)
            if key == "step" or number is None:
                continue
            steps, values = columns.setdefault(key, ([], []))
            steps.append(int(step))
            values.append(number)
    series = {k: Series(k, np.array(s, np.int64), np.array(v, np.float64))
              for k, (s, v) in columns.items()}
    run = LoggedRun(name=name, source="huggingface", path=str(path), series=series, notes=notes)
    hidden = _hidden_nan_steps(series)
    if hidden:
        run.hidden_nan_steps = hidden
        run.notes.append(
            f"{path.name}: {len(hidden)} logged loss(es) read 0.0 while grad_norm was NaN "
            f"(steps {hidden[0]}..{hidden[-1]}): the Trainer's logging_nan_inf_filter hides NaN "
            "losses, so the loss was most likely NaN from step "
            f"{hidden[0]} (or earlier in that logging window). Rerun with "
            "logging_nan_inf_filter=False to log them as NaN")
    if not series:
        raise LogsError(f"{path}: log_history holds no logged numbers yet; the Trainer logs "
                        "every logging_steps steps, so read it again later or lower logging_steps")
    return run


def global_step(path: Path) -> int:
    """The file's global_step (for choosing the latest of several), -1 when unreadable."""
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("global_step", -1)
    except (OSError, ValueError, AttributeError):
        return -1
    return int(value) if isinstance(value, (int, float)) else -1
