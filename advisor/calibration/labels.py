"""The label file (`labels.yaml` beside probe reports) and the split file (`split.yaml`).

Both are written by hand or by a tool and read by the scorer and `advisor kb calibrate`; a
mistake in them silently changes every figure, so they are read strictly: an unknown key, a
missing `expect`, a program in both halves, a YAML error is a LabelError that says file:line:col
and what to do (exit 2, never a traceback). The formats are fixed in FORMATS.md (issue 9):

    cases:
      cnn_mnist__lr_x100:
        program: cnn_mnist
        operator: lr_x100
        expect: [lr_too_high, loss_diverging]    # [] = healthy

    calibration: [program, ...]
    evaluation: [program, ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.kb.model import Location
from advisor.kb.structure import describe, suggest
from advisor.kb.yamlsource import YamlDocument, YamlError, read_yaml_file

CASE_KEYS = ("program", "operator", "expect")
PARTS = ("calibration", "evaluation")
UNASSIGNED = "unassigned"  # a program the split file does not name
OPERATOR_SEPARATOR = "__"  # cnn_mnist__lr_x100: program, then the fault operator


class LabelError(AdvisorError):
    """A label or split file that cannot be used; the message says where and what to do."""


@dataclass(frozen=True)
class Case:
    """One labelled case: a report `NAME.json`, the program it was made from, the fault
    operator that made it (empty for a healthy program) and the diagnosis ids an expert
    accepts for it (empty: the program is healthy)."""

    name: str
    program: str
    expect: tuple[str, ...] = ()
    operator: str = ""
    location: Location | None = None

    @property
    def healthy(self) -> bool:
        return not self.expect


def program_of(name: str) -> str:
    """The program a case name was made from: `cnn_mnist__lr_x100` -> `cnn_mnist`."""
    return name.split(OPERATOR_SEPARATOR, 1)[0]


def _read(path: Path, what: str) -> YamlDocument:
    try:
        return read_yaml_file(path)
    except FileNotFoundError:
        raise LabelError(f"{path}: no such {what} file; write one (format: docs/calibration.md) "
                         "or pass its path") from None
    except IsADirectoryError:
        raise LabelError(f"{path}: is a directory; pass the {what} file itself") from None
    except OSError as exc:
        raise LabelError(f"{path}: cannot read the {what} file: {exc.strerror or exc}") from None
    except YamlError as exc:
        raise LabelError(f"{exc.problem}; fix the {what} file") from None


def read_labels(path: str | Path) -> dict[str, Case]:
    """Every case of a label file, in file order; LabelError listing every problem."""
    path = Path(path)
    doc = _read(path, "label")
    problems: list[str] = []
    data = doc.data
    if not isinstance(data, dict) or "cases" not in data:
        raise LabelError(f"{doc.at(())}: a label file is a mapping with one key 'cases' "
                         "(cases: {NAME: {program: P, operator: OP, expect: [ids]}}); got "
                         f"{describe(data)}")
    for key in data:
        if key != "cases":
            problems.append(f"{doc.at((key,), key=True)}: unknown key '{key}'"
                            f"{suggest(key, ['cases'])}; a label file has only 'cases'")
    raw_cases = data["cases"]
    if not isinstance(raw_cases, dict):
        problems.append(f"{doc.at(('cases',))}: 'cases' must map each case name (its report "
                        f"NAME.json) to its labels; got {describe(raw_cases)}")
        raise LabelError("\n".join(problems))
    cases = {}
    for name, raw in raw_cases.items():
        case = _case(doc, str(name), raw, problems)
        if case is not None:
            cases[case.name] = case
    if problems:
        raise LabelError("\n".join(problems))
    return cases


def _case(doc: YamlDocument, name: str, raw: Any, problems: list[str]) -> Case | None:
    at = ("cases", name)
    where = doc.at(at, key=True)
    if not isinstance(raw, dict):
        problems.append(f"{doc.at(at)}: case '{name}' must be a mapping with 'expect' (and "
                        f"'program', 'operator'); got {describe(raw)}")
        return None
    ok = True
    for key in raw:
        if key not in CASE_KEYS:
            problems.append(f"{doc.at(at + (key,), key=True)}: unknown key '{key}' in case "
                            f"'{name}'{suggest(str(key), list(CASE_KEYS))}; allowed: "
                            f"{', '.join(CASE_KEYS)}")
            ok = False
    if "expect" not in raw:
        problems.append(f"{where}: case '{name}' has no 'expect'; add `expect: [ids]` (the "
                        "diagnosis ids an expert accepts), or `expect: []` for a healthy program")
        return None
    expect = raw["expect"]
    if expect is None:
        expect = []
    if not isinstance(expect, list) or not all(isinstance(i, str) and i for i in expect):
        problems.append(f"{doc.at(at + ('expect',))}: 'expect' of case '{name}' must be a list "
                        f"of diagnosis ids such as [lr_too_high]; got {describe(expect)}")
        ok = False
    texts = {}
    for key in ("program", "operator"):
        value = raw.get(key, "")
        if not isinstance(value, str):
            problems.append(f"{doc.at(at + (key,))}: '{key}' of case '{name}' must be a name; "
                            f"got {describe(value)}")
            ok = False
        texts[key] = value if isinstance(value, str) else ""
    if not ok:
        return None
    return Case(name, texts["program"] or program_of(name), tuple(expect), texts["operator"],
                where)


@dataclass(frozen=True)
class Split:
    """Which half each program belongs to; every case goes with the program it was made from,
    so no program's variants are seen by both the fit and the evaluation."""

    parts: dict[str, tuple[str, ...]]
    path: Path | None = None

    def part_of(self, program: str) -> str:
        for part, programs in self.parts.items():
            if program in programs:
                return part
        return UNASSIGNED


def read_split(path: str | Path) -> Split:
    """The split file; LabelError listing every problem (unknown key, not a list, a program
    named twice)."""
    path = Path(path)
    doc = _read(path, "split")
    data = doc.data
    if not isinstance(data, dict):
        raise LabelError(f"{doc.at(())}: a split file maps 'calibration' and 'evaluation' to "
                         f"lists of program names; got {describe(data)}")
    problems = []
    parts: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for key, programs in data.items():
        if key not in PARTS:
            problems.append(f"{doc.at((key,), key=True)}: unknown key '{key}'"
                            f"{suggest(str(key), list(PARTS))}; a split file has "
                            f"{' and '.join(PARTS)}")
            continue
        programs = programs or []
        if not isinstance(programs, list) or not all(isinstance(p, str) for p in programs):
            problems.append(f"{doc.at((key,))}: '{key}' must be a list of program names; got "
                            f"{describe(programs)}")
            continue
        for i, program in enumerate(programs):
            if program in seen:
                problems.append(f"{doc.at((key, i))}: program '{program}' is already in "
                                f"'{seen[program]}'; a program belongs to one half only")
            seen[program] = key
        parts[key] = tuple(programs)
    if problems:
        raise LabelError("\n".join(problems))
    return Split(parts, path)
