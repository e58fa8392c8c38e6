"""One reader for facts files and stored reports, in two modes.

- strict (`advisor diagnose`): every problem is an error that says where (file:line:col), and
  one ReportError lists them all, so a person fixes the file in one pass.
- lenient (the TUI): what can be read is kept, and each problem is listed beside it (a bad value
  drops only its fact; a fact the knowledge base does not know is set aside and named).

A file is a plain mapping of fact names to values (YAML or JSON), or a report with a `facts`
mapping: a probe report (`advisor-probe-report/1`), a diagnosis (`advisor-diagnosis/1`) or the
TUI's export. JSON is read as JSON (its errors carry JSON's line and column); the YAML parse of
the same text only supplies the line of each fact.

A probe report may hold what `--verify` measured (`trials`, `verification`, and a `trial` on
remedies; advisor.report.trials): a report written before those existed reads as unverified,
and a malformed trial is a problem with its place, like a bad fact.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.kb.model import KnowledgeBase, Location, Problem
from advisor.kb.semantics import check_facts
from advisor.kb.yamlsource import YamlDocument, YamlError, decode_utf8, parse_yaml
from advisor.report.diagnosis import Diagnosis
from advisor.report.runs import RUNS_SCHEMA
from advisor.report.trials import VERDICTS

# the documents this version reads; a newer version is refused rather than misread
KNOWN_SCHEMAS = ("advisor-probe-report/1", "advisor-diagnosis/1")
# the same problem, worded for who meets it: a person writing facts for `advisor diagnose`, or
# opening a report in the TUI
NOT_A_REPORT = {
    True: "expected a mapping of fact names to values (or a probe report with a 'facts' "
          "mapping)",
    False: "expected a JSON object with a 'facts' mapping (a report written by "
           "`advisor probe --json` or exported from this UI)",
}


class ReportError(AdvisorError):
    """A facts file or report that cannot be used; `str(exc)` is the whole message."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


@dataclass
class StoredReport:
    """What a file holds, as far as it could be read."""

    path: Path
    facts: dict[str, Any]
    is_report: bool = False  # a report with a `facts` mapping, not a plain facts file
    schema: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the whole document
    locations: dict[str, Location] = field(default_factory=dict)  # where each fact was written
    series: dict[str, list[float]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # facts the knowledge base does not know
    problems: list[Problem] = field(default_factory=list)  # what was dropped, and why

    def diagnosis(self) -> Diagnosis:
        """The diagnoses stored in the file (as they were written: not recomputed)."""
        return Diagnosis.from_dict(self.data)


def read_report(path: str | Path, kb: KnowledgeBase | None = None, *,
                strict: bool = True) -> StoredReport:
    """Read a facts file or a report; with `kb`, check every fact against it.

    Strict: raise ReportError listing every problem with its file:line:col. Lenient: keep what
    is usable and list the rest in `problems` and `ignored`. A file that cannot be read at all
    (missing, not text, broken syntax, not a mapping) is a ReportError in both modes.
    """
    path = Path(path).expanduser()
    text = _read_text(path)
    data, doc = _parse(text, path)
    report = _contents(path, data, doc, strict)
    if kb is not None:
        check_report(report, kb, strict=strict)
    return report


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file; pass a facts file (YAML/JSON) or a report "
                          "written by `advisor probe --json`") from None
    except IsADirectoryError:
        raise ReportError(f"{path}: is a directory, not a report file") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return decode_utf8(raw, str(path))
    except YamlError as exc:  # not UTF-8: the line and column of the first bad byte
        raise ReportError(str(exc.problem), [exc.problem]) from None


def _parse(text: str, path: Path) -> tuple[Any, YamlDocument | None]:
    """(data, the YAML line map or None). JSON files are read as JSON; the rest as YAML, with
    JSON as the fallback for JSON that YAML refuses (tabs, for instance)."""
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if path.suffix.lower() == ".json":
                raise ReportError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: "
                                  f"{exc.msg}") from None
        else:
            try:
                return data, parse_yaml(text, str(path))  # only for the lines of the facts
            except YamlError:
                return data, None
    try:
        doc = parse_yaml(text, str(path))
    except YamlError as exc:
        if not exc.syntax:  # well-formed YAML that advisor refuses (an alias, a tag): final
            raise ReportError(str(exc.problem), [exc.problem]) from None
        try:
            return json.loads(text), None
        except json.JSONDecodeError:
            raise ReportError(str(exc.problem), [exc.problem]) from None
    return doc.data, doc


def _contents(path: Path, data: Any, doc: YamlDocument | None, strict: bool) -> StoredReport:
    where = Location(str(path), 1, 1)
    if not isinstance(data, dict):
        raise ReportError(f"{where}: {NOT_A_REPORT[strict]}")
    schema = data.get("schema")
    if schema == RUNS_SCHEMA:
        runs = [r.get("setup", {}).get("name") for r in data.get("runs") or []
                if isinstance(r, dict)]
        raise ReportError(f"{where}: holds the reports of {len(runs)} runs "
                          f"({', '.join(map(str, runs))}) written by `advisor logs`; write one "
                          "run's report with `advisor logs PATH --run NAME --json FILE`")
    if isinstance(schema, str) and schema not in KNOWN_SCHEMAS and \
            schema.rpartition("/")[0] in {k.rpartition("/")[0] for k in KNOWN_SCHEMAS}:
        raise ReportError(f"{_at(doc, ('schema',), where)}: this version of advisor reads "
                          f"{', '.join(KNOWN_SCHEMAS)}, not {schema!r}; upgrade advisor")
    facts = data.get("facts")
    is_report = isinstance(facts, dict)
    if not is_report:
        if "facts" in data or "schema" in data or not data:
            raise ReportError(f"{_at(doc, ('facts',), where)}: {NOT_A_REPORT[strict]}")
        facts = data  # a plain facts file
    prefix: tuple = ("facts",) if is_report else ()
    locations = {name: _at(doc, prefix + (name,), where, key=True) for name in facts}
    report = StoredReport(path, dict(facts), is_report,
                          schema if isinstance(schema, str) else None,
                          data if is_report else {}, locations,
                          parse_series(data.get("series")) if is_report else {})
    if is_report:
        problems = check_trials(data, doc, where)
        if strict and problems:
            raise ReportError("bad trials:\n" + "\n".join(str(p) for p in problems), problems)
        report.problems += problems
    return report


def check_trials(data: dict[str, Any], doc: YamlDocument | None,
                 where: Location) -> list[Problem]:
    """What is wrong with a report's verified remedies, each at its place; a report without
    them (written before `--verify`, or without it) has nothing wrong."""
    problems: list[Problem] = []

    def bad(path: tuple, message: str) -> None:
        problems.append(Problem(_at(doc, path, where), message))

    def check_one(trial: Any, path: tuple) -> None:
        if not isinstance(trial, dict):
            bad(path, f"a trial must be a mapping, got {type(trial).__name__}")
            return
        if not isinstance(trial.get("transform"), str) or not trial["transform"]:
            bad(path, "a trial needs a 'transform' (the change it tried)")
        if trial.get("verdict") not in VERDICTS:
            bad(path + ("verdict",), f"verdict {trial.get('verdict')!r} is not one of "
                                     f"{', '.join(VERDICTS)}")

    trials = data.get("trials")
    if trials is not None and not isinstance(trials, list):
        bad(("trials",), "'trials' must be a list of trials")
    for i, trial in enumerate(trials if isinstance(trials, list) else []):
        check_one(trial, ("trials", i))
    verification = data.get("verification")
    if verification is not None and not isinstance(verification, dict):
        bad(("verification",), "'verification' must be a mapping or null")
    diagnoses = data.get("diagnoses")
    for i, d in enumerate(diagnoses if isinstance(diagnoses, list) else []):
        remedies = d.get("remedies") if isinstance(d, dict) else None
        for j, r in enumerate(remedies if isinstance(remedies, list) else []):
            if isinstance(r, dict) and r.get("trial") is not None:
                check_one(r["trial"], ("diagnoses", i, "remedies", j, "trial"))
    return problems


def _at(doc: YamlDocument | None, key_path: tuple, default: Location,
        key: bool = False) -> Location:
    return doc.at(key_path, key=key) if doc is not None else default


def check_report(report: StoredReport, kb: KnowledgeBase, *, strict: bool) -> None:
    """Check the facts against the knowledge base, one at a time so a bad value drops only
    its own fact. A report's unknown facts (measured by a newer probe, say) are set aside; in a
    plain facts file, written by hand, an unknown name is a typo and an error when strict."""
    where = Location(str(report.path), 1, 1)
    report.ignored = sorted(k for k in report.facts if k not in kb.facts)
    problems: list[Problem] = []
    usable: dict[str, Any] = {}
    for name, value in report.facts.items():
        if name not in kb.facts and (report.is_report or not strict):
            continue  # set aside in `ignored`
        found = check_facts(kb, {name: value}, where, report.locations)
        if found:
            problems += found
        else:
            usable[name] = value
    if strict and problems:
        raise ReportError("bad facts:\n" + "\n".join(str(p) for p in problems), problems)
    if not strict:
        report.facts = usable
    report.problems += problems


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
