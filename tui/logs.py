"""Opening a finished run's logs (`advisor tui LOG_PATH`), free of Textual.

Which paths are logs, the runs under one (listed without reading them, so a folder of many runs
asks which one before reading any), the analysis of the one picked (`advisor logs`' pipeline:
read, judge, diagnose with the app's knowledge base into a ProbeReport of mode "logs"), and what
the results screen shows of it: the headline, what was read, the events, and the loss on its step
axis. The screens call this from a worker thread: reading a million-point log takes seconds.
`is_log_path` runs before the first screen for every TARGET, so this module imports nothing of
advisor.logs (nor numpy) until a log is actually opened.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.kb.model import KnowledgeBase
    from advisor.report import panes
    from advisor.report.probe import ProbeReport

__all__ = ["LogRun", "analyse", "find_runs", "is_log_path", "log_lines",
           "step_curve"]

TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson")
CURVE_POINTS = 200  # the sparkline's buckets of equal step width


@dataclass(frozen=True)
class LogRun:
    """A run found under the log path, not read yet: what the run picker lists."""

    name: str
    source: str  # tensorboard, huggingface, lightning, csv, jsonl
    path: Path  # the file or folder it is read from


def is_log_path(target: str) -> bool:
    """Whether `advisor tui TARGET` names a training log rather than a setup or a saved report.

    A folder, an event file, a .csv/.jsonl table and a trainer_state.json are logs. A .json is
    told apart by its content: the Trainer's state has a `log_history` list, which no advisor
    report has (a report has its `facts`). A .json that cannot be read stays a report, whose
    reader says what is wrong with it, and where."""
    path = Path(target).expanduser()
    if path.is_dir() or "tfevents" in path.name:
        return True
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return True
    return suffix == ".json" and (path.name == "trainer_state.json" or _has_log_history(path))


def _has_log_history(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(data, dict) and isinstance(data.get("log_history"), list)
            and "facts" not in data)


def find_runs(path: str | Path, mapping: Mapping[str, str] | None = None) -> list[LogRun]:
    """The runs under `path`, found without reading them; a LogsError (what to give instead)
    when it holds none."""
    from advisor.logs.discover import list_runs

    return [LogRun(name, source, where) for name, source, where in list_runs(path, mapping)]


def check_run(runs: Sequence[LogRun], run: str, path: str | Path) -> None:
    """A LogsError naming the runs found when none is called `run` (as `advisor logs --run`)."""
    from advisor.logs.discover import check_run_name

    check_run_name([r.name for r in runs], run, path)


def analyse(path: str | Path, run: str | None, mapping: Mapping[str, str] | None,
            kb: KnowledgeBase) -> ProbeReport:
    """The report of the one run `run` under `path` (None: the only one there), diagnosed with
    `kb`: the document `advisor logs PATH [--run NAME] --json` writes for it (a run picked on
    the screen is `--run NAME`)."""
    from advisor.logs.analyse import analyse_logs
    from advisor.logs.errors import LogsError

    reports = analyse_logs(path, run=run, mapping=mapping, kb=kb)
    if len(reports) != 1:  # the screen asks which run first: reaching this is a bug of ours
        raise LogsError(f"{path}: holds {len(reports)} runs; pick one with --run NAME")
    return reports[0]


def step_curve(steps: Sequence[float], values: Sequence[float],
               points: int = CURVE_POINTS) -> list[float]:
    """The loss as a sparkline draws it, on its step axis: the finite values averaged in
    `points` buckets of equal step width, an empty bucket repeating the one before.

    The report's plotted series is thinned by step bins that keep up to three points each (the
    first, the lowest, the highest: spikes survive), and logging may be irregular, so drawing
    its values one per column would stretch some steps and squeeze others."""
    pairs = [(float(s), float(v)) for s, v in zip(steps, values, strict=False)
             if v is not None and math.isfinite(v)]
    if len(pairs) <= points:
        return [v for _, v in pairs]
    first, last = pairs[0][0], pairs[-1][0]
    width = (last - first) / points or 1.0
    sums, counts = [0.0] * points, [0] * points
    for s, v in pairs:
        i = min(int((s - first) / width), points - 1)
        sums[i] += v
        counts[i] += 1
    curve: list[float] = []
    for total, n in zip(sums, counts, strict=True):
        if n:
            curve.append(total / n)
        elif curve:
            curve.append(curve[-1])
    return curve


def loss_series(report: ProbeReport) -> dict[str, list[float]]:
    """{"loss": the training loss on its step axis} for the results screen's curve, or {}."""
    loss = (report.series.get("logs") or {}).get("loss")
    if not isinstance(loss, dict):
        return {}
    curve = step_curve(loss.get("steps") or [], loss.get("values") or [])
    return {"loss": curve} if curve else {}


def loss_caption(report: ProbeReport) -> str:
    """Under the curve: where it starts and ends, on which steps (the finite points only)."""
    from advisor.report import format as fmt
    from advisor.report.logs import step

    loss = (report.series.get("logs") or {}).get("loss") or {}
    steps, values = loss.get("steps") or [], loss.get("values") or []
    if len(values) < 2:
        return ""
    return (f"{loss.get('tag', 'loss')} {fmt.number(values[0])} → {fmt.number(values[-1])}, "
            f"steps {step(steps[0])} to {step(steps[-1])} (its finite points)")


def log_lines(report: ProbeReport) -> list[panes.Segment]:
    """What the results screen says of the log above the diagnoses: the headline, the series
    read (role, tag, points and steps) and the events, one line each."""
    from advisor.report.logs import event_sentences, logs_headline, role_rows

    out: list[panes.Segment] = [(logs_headline(report).removeprefix("advisor logs: "), "title")]
    rows = role_rows(report)
    if not rows:
        out.append(("\nnothing the diagnosis uses was found in this log (see the notes of "
                    "`advisor logs`; name the tags with --map ROLE=TAG)", "warning"))
    pad = max((len(what) for what, _, _ in rows), default=0)
    for what, tag, where in rows:
        out += [(f"\n  {what.ljust(pad)}  ", "body"), (tag, "heading"), (f"  ({where})", "dim")]
    for sentence in event_sentences(report):
        out += [("\n  event: ", "warning"), (sentence, "body")]
    return out


def run_label(run: LogRun) -> list[panes.Segment]:
    """A run as the picker lists it: its name, then its format and path, dim."""
    return [(run.name, "heading"), (f"\n{run.source}: {run.path}", "dim")]


def export_text(report: ProbeReport, kind: str) -> str:
    """The log report as `advisor logs --json/--markdown/--html` writes it."""
    if kind == "json":
        return report.to_json()
    if kind == "html":
        return report.html()
    return report.markdown()

