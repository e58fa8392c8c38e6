"""Diagnosis accuracy of `advisor probe` on a held-out set of broken and healthy setups.

Runs `python -m advisor probe SETUP --json REPORT` for every setup listed in
benchmarks/setups/manifest.yaml and prints, per case, the expected ids, the top-3 warning/error
diagnoses found, a verdict and the time taken; then the detection rate on broken cases, the clean
rate on healthy cases and the false alarms by id. It prints; it never asserts.

Verdicts:
  detected       broken case, one of its `expect` ids is among the top-3 warnings/errors
  missed         broken case, none of them is
  healthy-clean  healthy case with no error and at most one warning
  false-alarm    healthy case with an error or two or more warnings
  probe-failed   the probe crashed, exited 2 (or 3) or wrote no report (stderr's last line kept)

Usage:
  python benchmarks/diagnosis_accuracy.py                 # every case
  python benchmarks/diagnosis_accuracy.py --corpus benchmarks/corpus   # real healthy programs
  python benchmarks/diagnosis_accuracy.py --reports DIR   # score stored reports, no probing
  python benchmarks/diagnosis_accuracy.py lr_ dead        # cases whose name contains lr_ or dead
  python benchmarks/diagnosis_accuracy.py --steps 100 --keep /tmp/reports
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SETUPS = HERE / "setups"
SEVERITY_RANK = {"error": 0, "warning": 1}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("filters", nargs="*", metavar="NAME",
                   help="run only cases whose name contains NAME (or matches it as a glob)")
    p.add_argument("--steps", type=int, help="passed to `advisor probe --steps`")
    p.add_argument("--budget", type=float, help="passed to `advisor probe --budget`")
    p.add_argument("--manifest", type=Path, default=SETUPS / "manifest.yaml")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds before one probe is killed and counted as failed (default 300)")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep each JSON report as DIR/CASE.json (to inspect the facts)")
    p.add_argument("--top", type=int, default=3, help="how many diagnoses count (default 3)")
    p.add_argument("--corpus", type=Path, metavar="DIR",
                   help="score the healthy real programs of DIR (e.g. benchmarks/corpus: every "
                        "*.py there is a healthy case) instead of the manifest")
    p.add_argument("--reports", type=Path, metavar="DIR",
                   help="score the reports already in DIR (CASE.json) instead of probing")
    return p.parse_args(argv)


def load_manifest(path: Path) -> dict[str, dict]:
    data = yaml.safe_load(path.read_text()) or {}
    cases = {}
    for name, entry in data.items():
        entry = entry or {}
        cases[name[:-3] if name.endswith(".py") else name] = {
            "file": path.parent / (name if name.endswith(".py") else name + ".py"),
            "expect": list(entry.get("expect") or []),
            "healthy": bool(entry.get("healthy", False)),
        }
    return cases


def corpus_cases(folder: Path) -> dict[str, dict]:
    """Every program of the corpus is healthy; its CORPUS dict (read without importing the
    file) names its family, shown in the expected column."""
    import ast

    cases = {}
    for path in sorted(folder.glob("[a-z]*.py")):
        family = ""
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "CORPUS"
                                                    for t in node.targets):
                try:
                    family = str(ast.literal_eval(node.value).get("family", ""))
                except ValueError:
                    family = ""
        cases[path.stem] = {"file": path, "expect": [], "healthy": True, "family": family}
    return cases


def selected(name: str, filters: list[str]) -> bool:
    return not filters or any(f in name or fnmatch.fnmatch(name, f) for f in filters)


def last_line(text: str) -> str:
    """The stderr's last line; for an internal error (exit 3) the line that names the error."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "internal error" in ln:
            return ln
    return lines[-1] if lines else ""


def run_case(case: dict, args: argparse.Namespace, report_path: Path) -> dict:
    if args.reports:
        return read_case(report_path, None, "", 0.0)
    cmd = [sys.executable, "-m", "advisor", "probe", str(case["file"]), "--json",
           str(report_path), "--quiet"]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    if args.budget:
        cmd += ["--budget", str(args.budget)]
    if report_path.exists():
        report_path.unlink()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                              timeout=args.timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        rc, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc = None
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        stderr = err + f"\ntimed out after {args.timeout:.0f} s"
    return read_case(report_path, rc, stderr, time.perf_counter() - t0)


def read_case(report_path: Path, rc: int | None, stderr: str, elapsed: float) -> dict:
    """The verdict's inputs from a written report (rc None: scored from a stored report)."""
    result = {"rc": rc, "time": elapsed, "failure": None, "diagnoses": [], "partial": None,
              "steps": None}
    if rc is None and report_path.exists():
        rc = 0
    if rc not in (0, 1) or not report_path.exists():
        result["failure"] = f"rc={rc}: {last_line(stderr) or 'no report written'}"
        return result
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError) as exc:
        result["failure"] = f"rc={rc}: unreadable report ({exc})"
        return result
    result["partial"] = report.get("partial")
    details = (report.get("observations") or {}).get("details") or {}
    steps = details.get("training_steps")
    if steps is None:
        steps = len((report.get("series") or {}).get("loss") or []) or None
    result["steps"] = steps
    diags = [d for d in report.get("diagnoses", []) if d.get("severity") in SEVERITY_RANK]
    # the report's own order: root causes first, then the symptoms they explain (see README)
    result["diagnoses"] = [(d["id"], d["severity"], float(d.get("certainty", 0))) for d in diags]
    return result


def verdict(case: dict, result: dict, top: int) -> str:
    if result["failure"]:
        return "probe-failed"
    if case["healthy"]:
        errors = sum(1 for _, sev, _ in result["diagnoses"] if sev == "error")
        warnings = sum(1 for _, sev, _ in result["diagnoses"] if sev == "warning")
        return "healthy-clean" if errors == 0 and warnings <= 1 else "false-alarm"
    top_ids = [i for i, _, _ in result["diagnoses"][:top]]
    return "detected" if set(top_ids) & set(case["expect"]) else "missed"


def fmt_diags(diags: list[tuple[str, str, float]], top: int) -> str:
    shown = [f"{i}{'!' if sev == 'error' else ''}({cf:.2f})" for i, sev, cf in diags[:top]]
    return ", ".join(shown) if shown else "-"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    source = corpus_cases(args.corpus) if args.corpus else load_manifest(args.manifest)
    cases = {n: c for n, c in source.items() if selected(n, args.filters)}
    if not cases:
        print("no case matches", file=sys.stderr)
        return 2
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    width = max(len(n) for n in cases)
    header = (f"{'case':<{width}}  {'expected':<44}  "
              f"{'top-3 warnings/errors (! = error)':<70}  {'verdict':<13}  steps   time")
    print(header)
    print("-" * len(header))
    rows = []
    for name, case in cases.items():
        report_path = (args.reports or args.keep or tmpdir) / f"{name}.json"
        result = run_case(case, args, report_path)
        v = verdict(case, result, args.top)
        expected = (f"healthy {case.get('family', '')}".strip() if case["healthy"]
                    else " | ".join(case["expect"]))
        if result["failure"]:
            found = result["failure"]
            found = found if len(found) <= 70 else found[:67] + "..."
        else:
            found = fmt_diags(result["diagnoses"], args.top)
        if result.get("partial"):
            found += " [partial]"
        steps = "-" if result["steps"] is None else str(result["steps"])
        print(f"{name:<{width}}  {expected:<44}  {found:<70}  {v:<13}  {steps:>5}  "
              f"{result['time']:5.1f}s", flush=True)
        rows.append((name, case, result, v))

    broken = [r for r in rows if not r[1]["healthy"]]
    healthy = [r for r in rows if r[1]["healthy"]]
    detected = sum(1 for r in broken if r[3] == "detected")
    clean = sum(1 for r in healthy if r[3] == "healthy-clean")
    failed = [r for r in rows if r[3] == "probe-failed"]
    print()
    if broken:
        print(f"detection rate (broken cases): {detected}/{len(broken)} "
              f"= {100.0 * detected / len(broken):.0f}%")
    if healthy:
        print(f"clean rate (healthy cases):    {clean}/{len(healthy)} "
              f"= {100.0 * clean / len(healthy):.0f}%")
    print(f"probe failures:                {len(failed)}")
    print(f"total time:                    {sum(r[2]['time'] for r in rows):.0f}s")

    alarms: Counter[str] = Counter()
    alarm_cases: dict[str, list[str]] = {}
    for name, _case, result, _v in healthy:
        for i, sev, _cf in result["diagnoses"]:
            alarms[i] += 1
            alarm_cases.setdefault(i, []).append(f"{name}({sev})")
    print("\nwarnings/errors raised on healthy cases (false alarms), by id:")
    if not alarms:
        print("  none")
    for i, n in alarms.most_common():
        print(f"  {i:<36} {n}  {', '.join(alarm_cases[i])}")

    others: Counter[str] = Counter()
    for _name, case, result, _v in broken:
        for i, _sev, _cf in result["diagnoses"][: args.top]:
            if i not in case["expect"]:
                others[i] += 1
    if others:
        print("\nother ids in the top-3 of broken cases (not counted; often true side effects):")
        for i, n in others.most_common():
            print(f"  {i:<36} {n}")
    missed = [r[0] for r in broken if r[3] == "missed"]
    if missed:
        print("\nmissed: " + ", ".join(missed))
    if failed:
        print("\nprobe failures:")
        for name, _c, result, _v in failed:
            print(f"  {name}: {result['failure']}")
    if args.keep:
        print(f"\nreports kept in {args.keep}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
