"""Tables of logged numbers: CSV (Lightning's CSVLogger or the user's own) and JSON Lines.

A table has one step column and one column per logged quantity; a row need not fill every column
(Lightning writes one row per log call, a sparse wide table), and an empty cell means "not logged
at this step", which is not the same as a logged NaN: the reader keeps the two apart.

CSV is parsed by numpy's C parser in one pass (no Python object per cell): empty cells are first
replaced by a sentinel number no logger writes, then masked out. A file numpy cannot parse (text
columns, quoted cells) falls back to the csv module, row by row, into numpy arrays.
"""

from __future__ import annotations

import csv
import io
import json
import re
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from advisor.logs.errors import LogsError
from advisor.logs.run import STEP_KEY, LoggedRun, Series, normalise_tag

# Step column names tried in order (normalised); epoch is the last resort.
STEP_COLUMNS = ("step", "global_step", "trainer/global_step", "iteration", "iter", "it",
                "batch", "epoch")

# An empty cell becomes this number before numpy parses the file: the negative subnormal double
# nearest zero (no loss, rate or norm is ever logged as one); it parses back to exactly this
# value. Short on purpose: Lightning's sparse tables are mostly empty cells, and the text to parse
# grows by this much per cell (7 bytes rather than 24 halved the parse of a 2M-row metrics.csv).
_EMPTY_TEXT = b"-5e-324"
_EMPTY = float(_EMPTY_TEXT)


_STEP_LIMIT = 2.0 ** 62   # steps are int64: larger ones are no step (and spans overflow)


def _step_column(columns: list[str], mapping: Mapping[str, str] | None, path: Path) -> str | None:
    """The step column: the mapping's "step", else the first of STEP_COLUMNS present."""
    by_norm = {normalise_tag(c): c for c in columns}
    wanted = (mapping or {}).get(STEP_KEY)
    if wanted is not None:
        found = wanted if wanted in columns else by_norm.get(normalise_tag(wanted))
        if found is None:
            raise LogsError(
                f"{path}: no column '{wanted}' (mapped to step); its columns are: "
                f"{', '.join(columns)}. Fix the mapping, e.g. --map step=<one of those columns>"
            )
        return found
    for name in STEP_COLUMNS:
        if normalise_tag(name) in by_norm:
            return by_norm[normalise_tag(name)]
    return None


def _runs_from_columns(path: Path, name: str, source: str, columns: list[str],
                       table: np.ndarray, present: np.ndarray,
                       mapping: Mapping[str, str] | None) -> LoggedRun:
    """A run from a parsed table: `table` rows x columns, `present` False where a cell was empty."""
    notes: list[str] = []
    step_col = _step_column(columns, mapping, path)
    if step_col is None:
        steps_all = np.arange(table.shape[0], dtype=np.int64)
        step_ok = np.ones(table.shape[0], dtype=bool)
        notes.append(f"{path.name}: no step column (looked for {', '.join(STEP_COLUMNS)}); "
                     "the row number is used as the step. Name it with --map step=COLUMN")
    else:
        j = columns.index(step_col)
        raw = table[:, j]
        # a step beyond int64 (1e30, a mistyped cell) would wrap around when cast
        step_ok = present[:, j] & np.isfinite(raw) & (np.abs(raw) < _STEP_LIMIT)
        steps_all = np.where(step_ok, raw, 0).astype(np.int64)
        if step_col == "epoch" or normalise_tag(step_col) == "epoch":
            notes.append(f"{path.name}: no step column; epochs are used as steps")
    series: dict[str, Series] = {}
    for j, col in enumerate(columns):
        if col == step_col:
            continue
        keep = present[:, j] & step_ok
        if not keep.any():
            continue
        series[col] = Series(col, steps_all[keep], table[keep, j])
    skipped = int((~step_ok).sum())
    if skipped and step_col is not None:
        notes.append(f"{path.name}: {skipped} row(s) without a usable step (empty, not a "
                     "number, or beyond 2**62) were left out")
    return LoggedRun(name=name, source=source, path=str(path), series=series, notes=notes)


def _fill_empty_cells(data: bytes) -> bytes:
    """The CSV body with every empty cell replaced by the sentinel number (bytes ops only)."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    data = b"\n" + data
    for _ in range(2):  # two passes: ",,,," -> ",S,,S," -> ",S,S,S,"
        data = data.replace(b",,", b"," + _EMPTY_TEXT + b",")
    data = data.replace(b"\n,", b"\n" + _EMPTY_TEXT + b",")
    data = data.replace(b",\n", b"," + _EMPTY_TEXT + b"\n")
    return data


def _parse_fast(filled: bytes, ncols: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The table by numpy's C parser from the body with its empty cells filled
    (`_fill_empty_cells`), or None when numpy cannot parse it (text cells)."""
    try:
        table = np.loadtxt(io.BytesIO(filled), delimiter=",",
                           dtype=np.float64, ndmin=2, comments=None, encoding=None)
    except ValueError:
        return None
    if table.shape[0] and table.shape[1] != ncols:
        return None
    present = table.view(np.int64) != np.float64(_EMPTY).view(np.int64)
    table[~present] = np.nan  # in place: no second copy of the table
    return table, present


def _parse_slow(path: Path, text: str, ncols: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The table through the csv module (quoted or text cells): text cells count as empty."""
    reader = csv.reader(io.StringIO(text))
    next(reader, None)
    rows = 0
    table = np.full((1024, ncols), np.nan)
    present = np.zeros((1024, ncols), dtype=bool)
    text_cells = 0
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) > ncols:
            raise LogsError(f"{path}:{line_no}: {len(row)} cells but the header has {ncols} "
                            "columns; fix the row or the header")
        if rows == table.shape[0]:
            table = np.concatenate([table, np.full_like(table, np.nan)])
            present = np.concatenate([present, np.zeros_like(present)])
        for j, cell in enumerate(row):
            cell = cell.strip()
            if not cell:
                continue
            try:
                table[rows, j] = float(cell)
                present[rows, j] = True
            except ValueError:
                text_cells += 1
        rows += 1
    notes = [f"{path.name}: {text_cells} non-numeric cell(s) ignored"] if text_cells else []
    return table[:rows], present[:rows], notes


def read_csv(path: Path, name: str, mapping: Mapping[str, str] | None = None,
             source: str = "csv") -> LoggedRun:
    """A CSV file with a header row; `source` is "lightning" for a CSVLogger's metrics.csv."""
    raw = path.read_bytes()
    header_end = raw.find(b"\n")
    header_bytes = raw if header_end < 0 else raw[:header_end]
    header_text = header_bytes.decode("utf-8-sig", errors="replace").strip()
    if not header_text:
        raise LogsError(f"{path}: the file is empty; a CSV log needs a header row naming the "
                        "columns (e.g. step,loss,lr) and one row per logged step")
    columns = [c.strip() for c in next(csv.reader([header_text]))]
    # One copy of the text at a time: the file's bytes go once the body is cut from them, the
    # body once its empty cells are filled (a 2M-row metrics.csv is 80 MB of text).
    body = b"" if header_end < 0 else raw[header_end + 1:]
    del raw, header_bytes
    parsed: tuple[np.ndarray, np.ndarray] | None = (
        np.empty((0, len(columns))), np.zeros((0, len(columns)), bool))
    if body and not body.isspace():
        filled = _fill_empty_cells(body)
        del body
        parsed = _parse_fast(filled, len(columns))
        del filled
    notes: list[str] = []
    if parsed is None:
        table, present, notes = _parse_slow(
            path, path.read_bytes().decode("utf-8-sig", "replace"), len(columns))
    else:
        table, present = parsed
    run = _runs_from_columns(path, name, source, columns, table, present, mapping)
    run.notes[:0] = notes
    if not run.series:
        raise LogsError(f"{path}: no numeric column with values besides the step; "
                        "a CSV log needs columns such as step,loss,lr")
    return _wandb_export(run, path)


_WANDB_COLUMN = re.compile(r"^(.+?) - (.+?)(__MIN|__MAX)?$")


def _wandb_export(run: LoggedRun, path: Path) -> LoggedRun:
    """A Weights & Biases chart exported as CSV names its columns "RUN - TAG", with
    "RUN - TAG__MIN" and "__MAX" beside them (the envelope of a smoothed or grouped line): of
    one run, the columns are read as TAG and the envelope is left out; of several runs in one
    file, as they are, with a note saying how to read one."""
    parts = {tag: _WANDB_COLUMN.match(tag) for tag in run.series}
    if not parts or not all(parts.values()):
        return run
    runs = sorted({m.group(1) for m in parts.values() if m})
    if len(runs) > 1:
        run.notes.append(f"{path.name}: a W&B export of {len(runs)} runs ({', '.join(runs)}); "
                         "export one run per file, or name the columns with --map ROLE=COLUMN")
        return run
    kept = {m.group(2): run.series[t] for t, m in parts.items() if m and not m.group(3)}
    for tag, series in kept.items():
        series.tag = tag
    run.series = kept
    run.notes.append(f"{path.name}: a W&B export of run '{runs[0]}': its columns read as "
                     f"{', '.join(kept)} (the __MIN/__MAX envelope columns left out)")
    return run


def _number(value: object) -> float | None:
    """A JSON value as a float, or None when it is not a number (bools and nulls included)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):  # "nan", "inf", and numbers written as text ("2.31")
        try:
            return float(value)
        except ValueError:
            return None
    return None


class _Pairs(list):
    """A JSON object as the parser hands it over (its (key, value) pairs), never a dict."""

    __slots__ = ()


_SPACE = re.compile(r"[ \t\r\n]*")


@dataclass
class _Rows:
    """JSON Lines rows grouped by their key tuple: each group's values flat in a typed array,
    one row after the other, and the row numbers they came from."""

    groups: dict[tuple[str, ...], tuple[array, array]] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    ignored: dict[str, int] = field(default_factory=dict)  # key -> values not numbers

    def add(self, pairs: _Pairs) -> None:
        if pairs:
            keys, values = zip(*pairs, strict=True)
            if bool not in map(type, values):
                group = self.groups.get(keys)
                if group is None:
                    group = self.groups[keys] = (array("d"), array("q"))
                    for key in keys:
                        self.columns.setdefault(str(key), len(self.columns))
                try:
                    group[0].extend(values)
                except TypeError:  # text, null, a list or an object among the values
                    del group[0][len(group[1]) * len(keys):]
                else:
                    group[1].append(self.rows)
                    self.rows += 1
                    return
            self._cells(pairs, "")
        self.rows += 1

    def _cells(self, pairs: _Pairs, prefix: str) -> None:
        """One cell at a time, as (key,) groups; a nested object's keys as "outer/inner"
        (W&B-style {"train": {"loss": 2.3}} reads as train/loss), other values counted in
        `ignored`."""
        for key, value in pairs:
            name = f"{prefix}{key}"
            if type(value) is _Pairs:
                self._cells(value, f"{name}/")
                continue
            number = _number(value)
            if number is None:
                self.ignored[name] = self.ignored.get(name, 0) + 1
                continue
            cells = self.groups.setdefault((name,), (array("d"), array("q")))
            self.columns.setdefault(name, len(self.columns))
            cells[0].append(number)
            cells[1].append(self.rows)

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        table = np.full((self.rows, len(self.columns)), np.nan)
        present = np.zeros((self.rows, len(self.columns)), dtype=bool)
        for keys, (values, rows) in self.groups.items():
            if not rows:
                continue
            flat = np.frombuffer(values, np.float64).reshape(len(rows), len(keys))
            at = np.frombuffer(rows, np.int64)
            for j, key in enumerate(keys):
                table[at, self.columns[str(key)]] = flat[:, j]
                present[at, self.columns[str(key)]] = True
        return table, present


def read_jsonl(path: Path, name: str, mapping: Mapping[str, str] | None = None) -> LoggedRun:
    """JSON Lines: one object per line, keys are tags; NaN/Infinity tokens are kept.

    The text is parsed value after value in place (`raw_decode`, no string per line), each
    object handed over as its pairs and moved into typed arrays by its key tuple, so a line
    costs no dict and a value no Python object that outlives its line."""
    text = path.read_text(encoding="utf-8")
    decode = json.JSONDecoder(object_pairs_hook=_Pairs).raw_decode
    skip = _SPACE.match
    rows = _Rows()
    pos = skip(text, 0).end()
    while pos < len(text):
        try:
            record, end = decode(text, pos)
        except json.JSONDecodeError as exc:
            raise LogsError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
                            "each line of a JSON Lines log must be one JSON object") from None
        next_pos = skip(text, end).end()
        if type(record) is not _Pairs:
            raise LogsError(f"{path}:{text.count(chr(10), 0, pos) + 1}: a "
                            f"{type(record).__name__}, not an object; each line must be an "
                            "object such as {\"step\": 1, \"loss\": 2.3}")
        if next_pos < len(text) and "\n" not in text[end:next_pos]:
            raise LogsError(f"{path}:{text.count(chr(10), 0, next_pos) + 1}:"
                            f"{next_pos - text.rfind(chr(10), 0, next_pos)}: not valid JSON "
                            "(Extra data); each line of a JSON Lines log must be one JSON object")
        rows.add(record)
        pos = next_pos
    del text
    if not rows.rows:
        raise LogsError(f"{path}: the file is empty; a JSON Lines log has one object per line")
    table, present = rows.table()
    run = _runs_from_columns(path, name, "jsonl", list(rows.columns), table, present, mapping)
    if rows.ignored:
        listed = ", ".join(f"{k} ({n})" for k, n in list(rows.ignored.items())[:8])
        run.notes.append(f"{path.name}: values that are not numbers ignored, by key: {listed}")
    if not run.series:
        raise LogsError(f"{path}: no numeric key besides the step; lines should look like "
                        "{\"step\": 1, \"loss\": 2.3}")
    return run
