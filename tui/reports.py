"""Opening a saved report (`advisor tui REPORT.json`, or "Open a report" on the home screen).

A report is JSON with a top-level `facts` mapping (what `advisor probe --json` and the TUI's
own JSON export write), possibly with `diagnoses` (recomputed here, never trusted) and `series`
(loss curves). Anything wrong becomes one `ReportError` whose message names the file, and the
line and column for bad JSON, so the UI can show it instead of crashing. Values a fact cannot
take are dropped with a warning rather than refusing the whole file: the rest is still useful.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.kb.model import KnowledgeBase, Location
from advisor.kb.semantics import check_facts


class ReportError(AdvisorError):
    """A report that cannot be used; `str(exc)` is the message for the person."""


@dataclass
class LoadedReport:
    path: Path
    facts: dict[str, Any]
    series: dict[str, list[float]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # facts this knowledge base does not know
    problems: list[str] = field(default_factory=list)  # values dropped, with the reason

    @property
    def warning(self) -> str:
        """One line for the UI summarising what was left out, or "" when nothing was."""
        parts = []
        if self.problems:
            parts.append(f"{len(self.problems)} value(s) dropped: " + "; ".join(self.problems))
        if self.ignored:
            parts.append(f"{len(self.ignored)} fact(s) unknown to the knowledge base ignored: "
                         + ", ".join(self.ignored))
        return ". ".join(parts)


def parse_series(raw: Any) -> dict[str, list[float]]:
    """Numeric curves from a report's `series`: `{name: [..]}`, `{name: {values: [..]}}` or a
    list of numbers (taken as the training loss). Anything else is ignored: curves are a bonus."""
    if isinstance(raw, list):
        raw = {"loss": raw}
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, values in raw.items():
        if isinstance(values, dict):
            values = values.get("values", values.get("loss"))
        if not isinstance(values, list):
            continue
        numbers = [float(v) for v in values
                   if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            out[str(name)] = numbers
    return out


def loss_curve(series: dict[str, list[float]]) -> list[float]:
    """The curve to draw: the training loss if present, finite values only."""
    for key in ("loss", "train_loss", "train.loss", "training_loss"):
        if key in series:
            return [v for v in series[key] if math.isfinite(v)]
    for values in series.values():
        return [v for v in values if math.isfinite(v)]
    return []


def load_report(path: str | Path, kb: KnowledgeBase) -> LoadedReport:
    """Read a report's facts, keeping those the knowledge base knows with legal values."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReportError(f"{path}: is a directory, not a report file") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: not a text file (a report is JSON)") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    expected = ("expected a JSON object with a 'facts' mapping (a report written by "
                "`advisor probe --json` or exported from this UI)")
    if not isinstance(data, dict):
        raise ReportError(f"{path}: {expected}")
    facts = data.get("facts")
    if facts is None and data and all(k in kb.facts for k in data):
        facts = data  # a plain facts file
    if not isinstance(facts, dict):
        raise ReportError(f"{path}: {expected}")
    known = {k: v for k, v in facts.items() if k in kb.facts}
    ignored = sorted(k for k in facts if k not in kb.facts)
    where = Location(str(path))
    usable, messages = {}, []
    for name, value in known.items():  # one at a time, so a bad value drops only its fact
        problems = check_facts(kb, {name: value}, where)
        if problems:
            messages += [p.message for p in problems]
        else:
            usable[name] = value
    return LoadedReport(path, usable, parse_series(data.get("series")), ignored, messages)
