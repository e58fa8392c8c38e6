"""Diagnosis accuracy of `advisor probe` on labelled broken and healthy setups.

Runs `python -m advisor probe SETUP --json REPORT` for every setup listed in
benchmarks/setups/manifest.yaml (or every program of a corpus folder), or scores reports made
elsewhere (`--reports DIR`, e.g. the mutation tool's folder of reports + labels.yaml), and
prints per case the expected ids, the top-3 warning/error diagnoses, a verdict and the probe's
time; then, from advisor.calibration.scoring, per diagnosis id precision and recall, the
confusion between ids, the false alarms per healthy program, the time per probe, and the totals
per half of a split (calibration / evaluation) when `--split FILE` is given. It prints; it
never asserts.

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
      (cases from DIR/labels.yaml when present, or --labels FILE; else from the manifest)
  python benchmarks/diagnosis_accuracy.py --reports DIR --split benchmarks/corpus/split.yaml
  python benchmarks/diagnosis_accuracy.py --reports DIR --rediagnose --kb overlay.yaml
      (re-run the engine on the stored facts: score a changed knowledge base without probing)
  python benchmarks/diagnosis_accuracy.py lr_ dead        # cases whose name contains lr_ or dead
  python benchmarks/diagnosis_accuracy.py --steps 100 --keep /tmp/reports
  python benchmarks/diagnosis_accuracy.py --reports DIR --json   # the figures as JSON
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
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SETUPS = HERE / "setups"
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from advisor.calibration.dataset import default_labels, open_reports  # noqa: E402
from advisor.calibration.labels import Case, program_of, read_split  # noqa: E402
from advisor.calibration.reports import CaseResult, read_case  # noqa: E402
from advisor.calibration.scoring import (  # noqa: E402
    RANKINGS,
    ranked,
    render_text,
    score_parts,
    to_json,
    verdict,
)
from advisor.errors import AdvisorError  # noqa: E402


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
    p.add_argument("--rank", choices=RANKINGS, default="report",
                   help="order the top 3 is taken from: the report's own (root causes first, "
                        "default) or errors before warnings then certainty")
    p.add_argument("--corpus", type=Path, metavar="DIR",
                   help="score the healthy real programs of DIR (e.g. benchmarks/corpus: every "
                        "*.py there is a healthy case) instead of the manifest")
    p.add_argument("--reports", type=Path, metavar="DIR",
                   help="score the reports already in DIR (CASE.json) instead of probing")
    p.add_argument("--labels", type=Path, metavar="FILE",
                   help="label file of the reports (default: DIR/labels.yaml when present)")
    p.add_argument("--split", type=Path, metavar="FILE",
                   help="split file (calibration/evaluation programs): figures per half")
    p.add_argument("--rediagnose", action="store_true",
                   help="with --reports: re-run the engine (built-in base + --kb) on each "
                        "report's facts instead of scoring its stored diagnoses")
    p.add_argument("--kb", action="append", default=[], metavar="DIR",
                   help="extra knowledge folder or file for --rediagnose (repeatable)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--no-cases", action="store_true",
                   help="leave out the per-case table of a scored folder")
    return p.parse_args(argv)


def load_manifest(path: Path) -> dict[str, Case]:
    data = yaml.safe_load(path.read_text()) or {}
    cases = {}
    for name, entry in data.items():
        entry = entry or {}
        stem = name[:-3] if name.endswith(".py") else name
        expect = () if entry.get("healthy") else tuple(entry.get("expect") or [])
        cases[stem] = Case(stem, program_of(stem), expect)
    return cases


def setup_file(folder: Path, name: str) -> Path:
    return folder / f"{name}.py"


def corpus_cases(folder: Path) -> dict[str, Case]:
    """Every program of the corpus is healthy; its CORPUS dict (read without importing the
    file) names its family, shown in the operator column of the JSON."""
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
        cases[path.stem] = Case(path.stem, path.stem, (), family)
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


def probe_case(case: Case, setup: Path, args: argparse.Namespace,
               report_path: Path) -> CaseResult:
    """Probe one setup in a subprocess and score the report it wrote."""
    cmd = [sys.executable, "-m", "advisor", "probe", str(setup), "--json",
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
    elapsed = time.perf_counter() - t0
    result = read_case(report_path, case)
    if rc not in (0, 1) or not report_path.exists():
        result = CaseResult(case, failure=f"rc={rc}: {last_line(stderr) or 'no report written'}")
    if result.seconds is None:
        result.seconds = elapsed
    return result


def rediagnosing_engine(args: argparse.Namespace):
    from advisor.commands.options import check_knowledge
    from advisor.engine import Engine

    kb = check_knowledge(args.kb)
    return kb, Engine(kb)


def score_folder(args: argparse.Namespace) -> int:
    """Score the labelled reports of a folder (no probing)."""
    data = open_reports(args.reports, args.labels, None)
    if args.split:
        data.split = read_split(args.split)
    cases = {n: c for n, c in data.cases.items() if selected(n, args.filters)}
    if not cases:
        print("no case matches", file=sys.stderr)
        return 2
    kb, engine = rediagnosing_engine(args) if args.rediagnose else (None, None)
    from advisor.commands.options import check_knowledge

    for warning in data.unknown_ids(kb or check_knowledge(args.kb)):
        print(f"warning: {warning}", file=sys.stderr)
    results = data.results(cases, kb, engine)
    for program in data.unassigned_programs():
        print(f"warning: program '{program}' is in neither half of {args.split}",
              file=sys.stderr)
    scores = score_parts(results, data.split, args.top, args.rank)
    if args.json:
        print(json.dumps(to_json(scores), indent=2))
    else:
        sys.stdout.write(render_text(scores, cases=not args.no_cases))
    return 0


def width(cases: dict[str, Case]) -> int:
    return max(len(n) for n in cases)


def live_header(cases: dict[str, Case], top: int) -> str:
    header = (f"{'case':<{width(cases)}}  {'expected':<44}  "
              f"{f'top-{top} warnings/errors (! = error)':<70}  {'verdict':<13}  steps   time")
    return header + "\n" + "-" * len(header)


def live_row(result: CaseResult, args: argparse.Namespace, name_width: int) -> str:
    """One case as soon as it is probed (fixed widths: the rows of a long run line up)."""
    case = result.case
    expected = (f"healthy {case.operator}".strip() if case.healthy else " | ".join(case.expect))
    if result.failure:
        found = result.failure if len(result.failure) <= 70 else result.failure[:67] + "..."
    else:
        found = ", ".join(f"{f.id}{'!' if f.severity == 'error' else ''}({f.certainty:.2f})"
                          for f in ranked(result.diagnoses, args.rank)[:args.top]) or "-"
    if result.partial:
        found += " [partial]"
    steps = "-" if result.steps is None else str(result.steps)
    seconds = "-" if result.seconds is None else f"{result.seconds:5.1f}s"
    return (f"{case.name:<{name_width}}  {expected:<44}  {found:<70}  "
            f"{verdict(result, args.top, args.rank):<13}  {steps:>5}  {seconds}")


def probe_all(args: argparse.Namespace, cases: dict[str, Case], folder: Path) -> int:
    """Probe every case (or read its stored report), printing each row as it is scored."""
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    results = []
    for name, case in cases.items():
        report_path = (args.reports or args.keep or tmpdir) / f"{name}.json"
        if args.reports:
            result = read_case(report_path, case)
        else:
            result = probe_case(case, setup_file(folder, name), args, report_path)
        results.append(result)
        if not args.json:
            if len(results) == 1:
                print(live_header(cases, args.top))
            print(live_row(result, args, width(cases)), flush=True)
    split = read_split(args.split) if args.split else None
    scores = score_parts(results, split, args.top, args.rank)
    if args.json:
        print(json.dumps(to_json(scores), indent=2))
    else:
        print()
        sys.stdout.write(render_text(scores, cases=False))
        if args.keep:
            print(f"\nreports kept in {args.keep}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.reports and (args.labels or default_labels(args.reports).exists()):
            return score_folder(args)
        if args.rediagnose or args.labels:
            print(f"{'--rediagnose' if args.rediagnose else '--labels'} needs --reports DIR "
                  "(with a label file)", file=sys.stderr)
            return 2
        folder = args.corpus if args.corpus else args.manifest.parent
        source = corpus_cases(args.corpus) if args.corpus else load_manifest(args.manifest)
        cases = {n: c for n, c in source.items() if selected(n, args.filters)}
        if not cases:
            print("no case matches", file=sys.stderr)
            return 2
        return probe_all(args, cases, folder)
    except AdvisorError as exc:
        print(f"diagnosis_accuracy: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
