"""Compare two folders of probe reports (JSON, same file names): facts and diagnoses.

Used to show that a refactoring changes nothing (or to list each change): record the reports of
every example and benchmark setup before the change, again after, then

    python benchmarks/compare_reports.py BEFORE_DIR AFTER_DIR [--rtol 1e-6]

It prints, per setup, the facts that differ (numbers beyond the relative tolerance; perf.* and
timings are ignored: they measure the machine), the diagnosis ids added or dropped from the top
three, and a summary line. It prints; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

IGNORED = ("perf.",)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def value(v):
    return v.get("value") if isinstance(v, dict) and "value" in v else v


def differs(a, b, rtol: float) -> bool:
    a, b = value(a), value(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return not math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=1e-12)
    return a != b


def top(report: dict, n: int = 3) -> list[str]:
    return [d["id"] for d in report.get("diagnoses", [])
            if d.get("severity") in ("error", "warning")][:n]


def compare(before: Path, after: Path, rtol: float) -> tuple[list[str], bool, bool]:
    a, b = load(before), load(after)
    fa, fb = a.get("facts", {}), b.get("facts", {})
    lines = []
    for name in sorted(set(fa) | set(fb)):
        if name.startswith(IGNORED):
            continue
        if name not in fb:
            lines.append(f"  - {name}: {value(fa[name])!r} -> (absent)")
        elif name not in fa:
            lines.append(f"  + {name}: (absent) -> {value(fb[name])!r}")
        elif differs(fa[name], fb[name], rtol):
            lines.append(f"  ~ {name}: {value(fa[name])!r} -> {value(fb[name])!r}")
    ta, tb = top(a), top(b)
    same_top = ta == tb
    if not same_top:
        lines.append(f"  top-3 {ta} -> {tb}")
    return lines, not lines, same_top


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--rtol", type=float, default=1e-6)
    args = p.parse_args()
    names = sorted(f.name for f in args.before.glob("*.json"))
    same = same_top = missing = 0
    for name in names:
        other = args.after / name
        if not other.exists():
            print(f"{name}: no report after")
            missing += 1
            continue
        lines, equal, top_equal = compare(args.before / name, other, args.rtol)
        same += equal
        same_top += top_equal
        print(f"{name}: {'same' if equal else 'differs'}")
        for line in lines:
            print(line)
    print(f"\n{len(names)} reports: {same} identical facts and top-3, {same_top} same top-3 "
          f"diagnoses, {missing} missing after")


if __name__ == "__main__":
    main()
