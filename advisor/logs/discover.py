"""`read_logs(PATH)`: which format(s) lie under PATH, which runs they hold, read them.

PATH may be one file (an event file, a trainer_state.json, a metrics.csv, a .csv or .jsonl) or a
folder holding one or several runs: TensorBoard run folders (every folder with event files is a
run), Lightning's `lightning_logs/version_N/metrics.csv`, Hugging Face output folders (the
top-level trainer_state.json or the latest `checkpoint-N/trainer_state.json`, whichever has
logged further). Generic CSV/JSON Lines files in a folder are read only when nothing else is
found there, since log folders often hold unrelated tables.

A run's name is its folder relative to PATH (PATH's own name for PATH itself), or the file's stem
for a generic table.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from advisor.logs.errors import LogsError
from advisor.logs.readers.huggingface import global_step, load_state, read_trainer_state
from advisor.logs.readers.lightning import is_lightning_metrics, read_metrics_csv
from advisor.logs.readers.tabular import read_csv, read_jsonl
from advisor.logs.readers.tensorboard import is_event_file, read_events
from advisor.logs.run import STEP_KEY, LoggedRun, assign_roles, mark_hidden_nans

_CHECKPOINT = re.compile(r"checkpoint-(\d+)$")
_TABLE_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

WHAT_TO_GIVE = ("give a TensorBoard log folder or event file, a Hugging Face output_dir or "
                "trainer_state.json, a Lightning lightning_logs/ folder or metrics.csv, or a "
                ".csv/.jsonl file (with --map ROLE=COLUMN where the names are not standard)")

# Formats whose every value carries its step: a step column mapping cannot apply to them.
_OWN_STEPS = {"tensorboard": "TensorBoard event files", "huggingface": "trainer_state.json files"}

# A found run before it is read: (name, source, path, reader taking (path, name)).
Found = tuple[str, str, Path, Callable[[Path, str], LoggedRun]]


def _name(root: Path, folder: Path) -> str:
    rel = folder.relative_to(root) if folder != root else Path(root.resolve().name or ".")
    return rel.as_posix()


def _hf_output_dir(state_file: Path) -> Path:
    """The Trainer's output_dir of a trainer_state.json (a checkpoint's parent)."""
    parent = state_file.parent
    return parent.parent if _CHECKPOINT.match(parent.name) else parent


def _pick_trainer_state(files: list[Path]) -> tuple[Path, list[Path]]:
    """The file that logged furthest (the top-level one on a tie), and the ones left out."""
    def rank(f: Path) -> tuple[int, int, int]:
        m = _CHECKPOINT.match(f.parent.name)
        return (global_step(f), 0 if m else 1, int(m.group(1)) if m else 0)
    ordered = sorted(files, key=rank)
    return ordered[-1], ordered[:-1]


def _one_file(path: Path, mapping: Mapping[str, str] | None) -> list[Found]:
    if is_event_file(path):
        return [(_name(path.parent, path.parent), "tensorboard", path, read_events)]
    if path.name == "trainer_state.json" or (
            path.suffix == ".json" and isinstance(load_state(path), dict)):
        return [(_name(_hf_output_dir(path), _hf_output_dir(path)), "huggingface", path,
                 read_trainer_state)]
    if is_lightning_metrics(path):
        return [(_name(path.parent, path.parent), "lightning", path,
                 lambda p, n: read_metrics_csv(p, n, mapping))]
    kind = _TABLE_SUFFIXES.get(path.suffix.lower())
    if kind == "csv":
        return [(path.stem, "csv", path, lambda p, n: read_csv(p, n, mapping))]
    if kind == "jsonl":
        return [(path.stem, "jsonl", path, lambda p, n: read_jsonl(p, n, mapping))]
    raise LogsError(f"{path}: unknown log format (not an event file, trainer_state.json, "
                    f"metrics.csv, .csv or .jsonl); {WHAT_TO_GIVE}")


def _walk(root: Path) -> tuple[dict[Path, list[Path]], list[Path], list[Path], list[Path]]:
    """Event-file folders, trainer_state.json files, Lightning metrics.csv files, other tables."""
    events: dict[Path, list[Path]] = {}
    states: list[Path] = []
    metrics: list[Path] = []
    tables: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(folder)
        for f in sorted(files):
            p = here / f
            if "tfevents" in f:
                events.setdefault(here, []).append(p)
            elif f == "trainer_state.json":
                states.append(p)
            elif is_lightning_metrics(p):
                metrics.append(p)
            elif p.suffix.lower() in _TABLE_SUFFIXES:
                tables.append(p)
    return events, states, metrics, tables


def _scalars_tags(child: Path) -> dict[str, str] | None:
    """The tags `SummaryWriter.add_scalars(main_tag, {key: value})` gave a child folder, as
    they read in the parent run ("loss" in `exp/loss_val` -> "loss/val"); None when the
    folder is no such child (a run of its own nested in a run folder).

    add_scalars writes each key to its own writer in `<logdir>/<main_tag with '/' as '_'>_<key>`
    under the tag `main_tag`: TensorBoard shows those folders as runs, but they are one run's
    curves, and a child's tag alone ("loss") would read as the training loss."""
    try:
        tags = read_events(child, child.name).series
    except (LogsError, OSError):  # said when the folder is read as a run of its own
        return None
    renamed: dict[str, str] = {}
    for tag in tags:
        prefix = tag.replace("/", "_") + "_"
        if not child.name.startswith(prefix) or len(child.name) == len(prefix):
            return None
        renamed[tag] = f"{tag}/{child.name[len(prefix):]}"
    return renamed or None


def _with_scalars_children(children: list[tuple[Path, dict[str, str]]]
                           ) -> Callable[[Path, str], LoggedRun]:
    """A reader of a run folder that adds its add_scalars children's series, renamed."""
    def read(path: Path, name: str) -> LoggedRun:
        run = read_events(path, name)
        for child, renamed in children:
            part = _read(read_events, child, name)
            for tag, series in part.series.items():
                new = renamed.get(tag, f"{tag}/{child.name}")
                series.tag = new
                run.series[new] = series
            run.notes.extend(part.notes)
        run.notes.append(f"{len(children)} add_scalars folder(s) read as this run's series: "
                         + ", ".join(c.name for c, _ in children))
        return run
    return read


def _tensorboard_runs(root: Path, events: dict[Path, list[Path]]) -> list[Found]:
    """One run per event folder, an add_scalars child folder read as part of its parent."""
    children: dict[Path, list[tuple[Path, dict[str, str]]]] = {}
    for folder in sorted(events):
        if folder != root and folder.parent in events:
            renamed = _scalars_tags(folder)
            if renamed is not None:
                children.setdefault(folder.parent, []).append((folder, renamed))
    merged = {c for kids in children.values() for c, _ in kids}
    return [(_name(root, folder), "tensorboard", folder,
             _with_scalars_children(children[folder]) if folder in children else read_events)
            for folder in sorted(events) if folder not in merged]


def _folder(root: Path, mapping: Mapping[str, str] | None
            ) -> tuple[list[Found], dict[Path, list[str]]]:
    events, states, metrics, tables = _walk(root)
    found: list[Found] = _tensorboard_runs(root, events)
    notes: dict[Path, list[str]] = {}
    by_output: dict[Path, list[Path]] = {}
    for f in states:
        by_output.setdefault(_hf_output_dir(f), []).append(f)
    for output_dir in sorted(by_output):
        chosen, left = _pick_trainer_state(by_output[output_dir])
        if left:
            notes.setdefault(chosen, []).append(
                f"{output_dir}: read {chosen.relative_to(output_dir)} (logged furthest); "
                f"{len(left)} other trainer_state.json file(s) left out")
        copies = [f for f in found if f[1] == "tensorboard"
                  and f[2].is_relative_to(output_dir / "runs")]
        if copies:
            found = [f for f in found if f not in copies]
            notes.setdefault(chosen, []).append(
                f"{output_dir}: the Trainer's TensorBoard copy of this log_history (report_to "
                f"tensorboard: {', '.join(str(f[2].relative_to(output_dir)) for f in copies)}) "
                "is not reported again; give that folder to read it alone")
        found.append((_name(root, output_dir), "huggingface", chosen, read_trainer_state))
    for f in metrics:
        found.append((_name(root, f.parent), "lightning", f,
                      lambda p, n: read_metrics_csv(p, n, mapping)))
    if not found:
        for f in tables:
            name = _name(root, f.parent / f.stem)
            reader = read_csv if _TABLE_SUFFIXES[f.suffix.lower()] == "csv" else read_jsonl
            found.append((name, _TABLE_SUFFIXES[f.suffix.lower()], f,
                          lambda p, n, r=reader: r(p, n, mapping)))
    return found, notes


def _unique(found: list[Found]) -> list[Found]:
    """Names made unique: a name shared by two formats gets ':source' appended."""
    counts: dict[str, int] = {}
    for name, *_ in found:
        counts[name] = counts.get(name, 0) + 1
    return [(f"{n}:{s}" if counts[n] > 1 else n, s, p, r) for n, s, p, r in found]


def _read(reader: Callable[[Path, str], Any], where: Path, name: str) -> Any:
    """`reader(where, name)`, with the operating system's refusals turned into LogsErrors."""
    try:
        return reader(where, name)
    except UnicodeDecodeError as exc:
        raise LogsError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        f"is it a log file? {WHAT_TO_GIVE}") from None
    except OSError as exc:
        raise LogsError(f"{where}: cannot be read ({exc.strerror or exc}); check that it "
                        "exists and that you may read it") from None


def read_logs(path: str | os.PathLike[str], run: str | None = None,
              mapping: Mapping[str, str] | None = None) -> list[LoggedRun]:
    """Every run under `path` (or only `run`), read, with roles assigned from `mapping`."""
    root = Path(path)
    found, notes = _find(root, mapping)
    if run is not None:
        check_run_name([f[0] for f in found], run, root)
        found = [f for f in found if f[0] == run]
    roles = {k: v for k, v in (mapping or {}).items() if k != STEP_KEY}
    runs: list[LoggedRun] = []
    unread: list[str] = []
    for name, _source, where, reader in found:
        try:
            logged = _read(reader, where, name)
        except LogsError as exc:
            # one empty or damaged run (a writer opened, killed before it logged) must not
            # hide the folder's other runs; alone, or chosen with --run, it is the error
            if len(found) == 1:
                raise
            unread.append(f"run '{name}' not read: {exc}")
            continue
        logged.notes[:0] = notes.get(where, [])
        runs.append(logged)
    if not runs:
        raise LogsError(f"{root}: none of its {len(found)} runs could be read: "
                        + "; ".join(unread))
    for logged in runs:
        logged.notes.extend(unread)
        if STEP_KEY in (mapping or {}) and logged.source in _OWN_STEPS:
            logged.notes.append(f"--map step={mapping[STEP_KEY]} ignored for this run: "
                                f"{_OWN_STEPS[logged.source]} log every value at its own step")
    return [mark_hidden_nans(assign_roles(logged, roles)) for logged in runs]


def check_run_name(names: Sequence[str], run: str, path: str | os.PathLike[str]) -> None:
    """A LogsError naming the runs found under PATH when none is called `run` (--run)."""
    if run not in names:
        raise LogsError(f"{path}: no run named '{run}'; the runs found are: "
                        f"{', '.join(names)}. Pass one of them to --run")


def list_runs(path: str | os.PathLike[str], mapping: Mapping[str, str] | None = None
              ) -> list[tuple[str, str, Path]]:
    """The runs under `path` as (name, source, file or folder read), found without reading
    them: what a caller offers to pick from (`advisor tui LOG_FOLDER`) before `read_logs(path,
    run=name)` reads the one picked. Errors as `read_logs`'s: a missing path, a folder without
    logs, a file of no known format."""
    found, _ = _find(Path(path), mapping)
    return [(name, source, where) for name, source, where, _ in found]


def _find(root: Path, mapping: Mapping[str, str] | None
          ) -> tuple[list[Found], dict[Path, list[str]]]:
    """The runs under ROOT (names made unique) and the notes about what was left out; a
    missing path, a folder without logs and a file of no known format are LogsErrors."""
    if not root.exists():
        raise LogsError(f"{root}: no such file or folder; {WHAT_TO_GIVE}")
    if not root.is_dir():
        return _unique(_read(lambda p, _n: _one_file(p, mapping), root, "")), {}
    found, notes = _folder(root, mapping)
    if not found:
        raise LogsError(f"{root}: no logs found in this folder or below (looked for "
                        "TensorBoard event files, trainer_state.json, metrics.csv, .csv and "
                        f".jsonl files); {WHAT_TO_GIVE}")
    return _unique(found), notes
