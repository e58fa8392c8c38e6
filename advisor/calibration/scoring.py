"""How well the diagnoses of labelled probe reports match the labels.

Per case a verdict (FORMATS.md, issue 9):
  detected       broken case: one of its `expect` ids is among the top-3 warnings/errors
  missed         broken case: none of them is
  healthy-clean  healthy case (`expect: []`): no error and at most one warning
  false-alarm    healthy case: an error, or two or more warnings
  probe-failed   no report, or one that cannot be read (counts as missed / not clean)

Per diagnosis id, over the warnings and errors in each case's top 3: a report of id X is a true
positive when X is among that case's `expect`, a false positive otherwise (healthy cases too),
and a case that expects X without X in its top 3 is a false negative. An accepted alternative
(a case expecting [lr_too_high, loss_diverging] detected by lr_too_high) is a false negative of
loss_diverging: per-id recall measures each id, the detection rate measures cases.

The confusion lists, for each missed case, its first expected id against each id reported in
its place. Every figure is given per part of the split (calibration / evaluation) when a split
is given, overall otherwise; `render_text` prints fixed-width tables a terminal and a Markdown
note both show as they are, `to_json` the same figures as data.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from advisor.calibration.labels import UNASSIGNED, Split
from advisor.calibration.reports import CaseResult, Found

TOP = 3
SEVERITY_ORDER = {"error": 0, "warning": 1}
RANKINGS = ("report", "severity")
NOTHING = "(nothing reported)"
FAILED = "(probe failed)"


def ranked(found: Sequence[Found], ranking: str = "report") -> list[Found]:
    """The diagnoses in the order the top 3 is taken from.

    "report": the report's own order, root causes first and the symptoms a reported cause
    explains after them (what a person reads first). "severity": errors before warnings, then
    by certainty, ignoring which symptom a cause explains.
    """
    if ranking == "severity":
        return sorted(found, key=lambda f: (SEVERITY_ORDER.get(f.severity, 2), -f.certainty))
    return list(found)


def top_ids(result: CaseResult, top: int = TOP, ranking: str = "report") -> list[str]:
    return [f.id for f in ranked(result.diagnoses, ranking)[:top]]


def verdict(result: CaseResult, top: int = TOP, ranking: str = "report") -> str:
    if result.failure:
        return "probe-failed"
    if result.case.healthy:
        errors = sum(1 for f in result.diagnoses if f.severity == "error")
        warnings = sum(1 for f in result.diagnoses if f.severity == "warning")
        return "healthy-clean" if errors == 0 and warnings <= 1 else "false-alarm"
    return "detected" if set(top_ids(result, top, ranking)) & set(result.case.expect) \
        else "missed"


@dataclass
class IdFigures:
    """One diagnosis id's counts over a set of cases."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return precision(self.tp, self.fp)

    @property
    def recall(self) -> float | None:
        return recall(self.tp, self.fn)

    @property
    def f1(self) -> float | None:
        return f1_score(self.tp, self.fp, self.fn)

    def to_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": rounded(self.precision),
                "recall": rounded(self.recall), "f1": rounded(self.f1)}


def precision(tp: int, fp: int) -> float | None:
    """TP / (TP + FP); None when nothing was reported."""
    return tp / (tp + fp) if tp + fp else None


def recall(tp: int, fn: int) -> float | None:
    """TP / (TP + FN); None with no positive case."""
    return tp / (tp + fn) if tp + fn else None


def f1_score(tp: int, fp: int, fn: int) -> float | None:
    """F1 = 2TP / (2TP + FP + FN); None with no positive case and no report."""
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None


@dataclass
class Score:
    """Every figure over one part's cases."""

    part: str
    results: list[CaseResult]
    top: int = TOP
    ranking: str = "report"
    verdicts: dict[str, str] = field(default_factory=dict)
    per_id: dict[str, IdFigures] = field(default_factory=dict)
    confusion: Counter = field(default_factory=Counter)  # (expected first id, reported id)
    alarms: dict[str, list[Found]] = field(default_factory=dict)  # healthy case -> its alarms

    @classmethod
    def of(cls, part: str, results: Sequence[CaseResult], top: int = TOP,
           ranking: str = "report") -> Score:
        score = cls(part, list(results), top, ranking)
        for r in results:
            score._count(r)
        return score

    def _count(self, r: CaseResult) -> None:
        v = self.verdicts[r.name] = verdict(r, self.top, self.ranking)
        shown = [] if r.failure else top_ids(r, self.top, self.ranking)
        for i in dict.fromkeys(shown):
            figures = self.per_id.setdefault(i, IdFigures())
            if i in r.case.expect:
                figures.tp += 1
            else:
                figures.fp += 1
        for i in r.case.expect:
            if i not in shown:
                self.per_id.setdefault(i, IdFigures()).fn += 1
        if r.case.healthy:
            self.alarms[r.name] = [] if r.failure else list(r.diagnoses)
        elif v in ("missed", "probe-failed"):
            first = r.case.expect[0]
            if r.failure:
                self.confusion[(first, FAILED)] += 1
            for i in shown or ([] if r.failure else [NOTHING]):
                self.confusion[(first, i)] += 1

    # ---------------------------------------------------------------- totals
    def count(self, v: str) -> int:
        return sum(1 for x in self.verdicts.values() if x == v)

    @property
    def broken(self) -> list[CaseResult]:
        return [r for r in self.results if not r.case.healthy]

    @property
    def healthy(self) -> list[CaseResult]:
        return [r for r in self.results if r.case.healthy]

    def times(self) -> list[float]:
        return [r.seconds for r in self.results if r.seconds is not None]

    def totals(self) -> dict[str, Any]:
        times = self.times()
        return {
            "cases": len(self.results),
            "programs": len({r.case.program for r in self.results}),
            "broken": len(self.broken), "detected": self.count("detected"),
            "healthy": len(self.healthy), "clean": self.count("healthy-clean"),
            "probe_failed": self.count("probe-failed"),
            "detection_rate": _rate(self.count("detected"), len(self.broken)),
            "clean_rate": _rate(self.count("healthy-clean"), len(self.healthy)),
            "time_total": round(sum(times), 1) if times else None,
            "time_median": round(statistics.median(times), 1) if times else None,
            "time_max": round(max(times), 1) if times else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "totals": self.totals(),
            "per_id": {i: f.to_dict() for i, f in sorted(self.per_id.items())},
            "confusion": [{"expected": e, "reported": r, "count": n}
                          for (e, r), n in self.confusion.most_common()],
            "false_alarms": {name: [{"id": f.id, "severity": f.severity,
                                     "certainty": round(f.certainty, 4)} for f in found]
                             for name, found in self.alarms.items()},
            "cases": [case_dict(r, self.verdicts[r.name], self.top, self.ranking)
                      for r in self.results],
        }


def case_dict(r: CaseResult, v: str, top: int, ranking: str) -> dict[str, Any]:
    return {"case": r.name, "program": r.case.program, "operator": r.case.operator,
            "expect": list(r.case.expect), "verdict": v,
            "top": [] if r.failure else top_ids(r, top, ranking),
            "diagnoses": [{"id": f.id, "severity": f.severity, "certainty": round(f.certainty, 4)}
                          for f in r.diagnoses],
            "failure": r.failure, "seconds": r.seconds, "partial": r.partial, "steps": r.steps}


def _rate(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def rounded(x: float | None) -> float | None:
    """A figure for JSON: four decimals, None kept."""
    return None if x is None else round(x, 4)


def score_parts(results: Sequence[CaseResult], split: Split | None = None, top: int = TOP,
                ranking: str = "report") -> list[Score]:
    """One Score per part of the split (in the split's order, then unassigned programs), or one
    "all" score without a split."""
    if split is None:
        return [Score.of("all", results, top, ranking)]
    groups: dict[str, list[CaseResult]] = {p: [] for p in split.parts}
    for r in results:
        groups.setdefault(split.part_of(r.case.program), []).append(r)
    return [Score.of(part, rs, top, ranking) for part, rs in groups.items()
            if rs or part != UNASSIGNED]


# -------------------------------------------------------------------- rendering
def table(header: Sequence[str], rows: Iterable[Sequence[Any]],
          align: str | None = None) -> list[str]:
    """Fixed-width columns separated by two spaces; `align` has one l/r per column."""
    rows = [[_cell(c) for c in row] for row in rows]
    align = align or "l" * len(header)
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w)
                         for c, w, a in zip(cells, widths, align, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _seconds(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _pct(n: int, total: int) -> str:
    return f"{n}/{total} = {100.0 * n / total:.0f}%" if total else "-"


def summary_lines(scores: Sequence[Score]) -> list[str]:
    rows = []
    for s in scores:
        t = s.totals()
        rows.append([s.part, t["programs"], _pct(t["detected"], t["broken"]),
                     _pct(t["clean"], t["healthy"]), t["probe_failed"],
                     _seconds(t["time_median"]), _seconds(t["time_max"]),
                     _seconds(t["time_total"])])
    return table(["part", "programs", "broken detected (top 3)", "healthy clean",
                  "probe failed", "median s", "max s", "total s"], rows, "lrrrrrrr")


def per_id_lines(score: Score) -> list[str]:
    rows = [[i, f.tp, f.fp, f.fn, f.precision, f.recall, f.f1]
            for i, f in sorted(score.per_id.items(), key=lambda kv: (-(kv[1].tp + kv[1].fn),
                                                                      kv[0]))]
    return table(["id", "tp", "fp", "fn", "precision", "recall", "f1"], rows, "lrrrrrr")


def confusion_lines(score: Score) -> list[str]:
    if not score.confusion:
        return ["  none"]
    rows = [[e, r, n] for (e, r), n in sorted(score.confusion.items(),
                                              key=lambda kv: (-kv[1], kv[0]))]
    return table(["expected (first id)", "reported instead", "cases"], rows, "llr")


def alarm_lines(score: Score) -> list[str]:
    if not score.alarms:
        return ["  no healthy case"]
    rows = []
    for name, found in score.alarms.items():
        shown = ", ".join(f"{f.id}({f.severity})" for f in found) or "-"
        rows.append([name, score.verdicts[name], len(found), shown])
    lines = table(["healthy case", "verdict", "alarms", "warnings/errors"], rows, "llrl")
    by_id = Counter(f.id for found in score.alarms.values() for f in found)
    if by_id:
        lines += ["", "  by id: " + ", ".join(f"{i} {n}" for i, n in by_id.most_common())]
    return lines


def case_lines(score: Score) -> list[str]:
    rows = []
    for r in score.results:
        expected = "healthy" if r.case.healthy else " | ".join(r.case.expect)
        if r.failure:
            found = r.failure
        else:
            found = ", ".join(f"{f.id}{'!' if f.severity == 'error' else ''}"
                              f"({f.certainty:.2f})"
                              for f in ranked(r.diagnoses, score.ranking)[:score.top]) or "-"
        if r.partial:
            found += " [partial]"
        rows.append([r.name, expected, found, score.verdicts[r.name], _seconds(r.seconds)])
    return table(["case", "expected", f"top-{score.top} warnings/errors (! = error)", "verdict",
                  "time s"], rows, "llllr")


def render_text(scores: Sequence[Score], cases: bool = True) -> str:
    """Every table, part by part, then the summary of all parts."""
    out: list[str] = []
    for s in scores:
        t = s.totals()
        out += [f"== {s.part}: {t['cases']} cases from {t['programs']} programs "
                f"(top {s.top}, {s.ranking} order) =="]
        if cases:
            out += ["", *case_lines(s)]
        out += ["", "per diagnosis id (top-3 warnings/errors; tp/fp/fn over cases):",
                *per_id_lines(s)]
        out += ["", "confusion (missed cases: first expected id -> id reported instead):",
                *confusion_lines(s)]
        out += ["", "false alarms per healthy program (every warning/error):", *alarm_lines(s)]
        out += [""]
    out += ["summary:", *summary_lines(scores)]
    return "\n".join(out) + "\n"


def to_json(scores: Sequence[Score]) -> dict[str, Any]:
    return {"schema": "advisor-accuracy/1",
            "parts": {s.part: s.to_dict() for s in scores}}
