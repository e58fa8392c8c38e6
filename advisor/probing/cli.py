"""`advisor probe SETUP` and `advisor demo`: arguments, running, output files and exit codes.

This module imports no torch at import time: `advisor.cli` imports it to build its parser.
Exit codes: 0 done, 1 when --fail-on is met, 2 for a setup or usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from advisor.cli import EXIT_FAIL_ON, EXIT_OK, EXIT_USAGE

DEMO_SETUP = "advisor.probing.demo_setup:setup"


def add_probe_arguments(parser: argparse.ArgumentParser, demo: bool = False) -> None:
    """The flags of `advisor probe` (and of `advisor demo`, which has no SETUP)."""
    if not demo:
        parser.add_argument("setup", metavar="SETUP",
                            help="path/to/file.py[:func] or package.module:func; the function "
                                 "(default: setup) returns a dict with model, train_data, "
                                 "loss_fn (optional: optimizer, val_data, task, step)")
    steps, budget = (100, 10.0) if demo else (200, 30.0)
    parser.add_argument("--steps", type=_positive_int, default=steps,
                        help=f"training steps at most (default {steps})")
    parser.add_argument("--budget", type=_positive_float, default=budget, metavar="SECONDS",
                        help=f"time budget of the probe's runs in seconds (default {budget:g})")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda, cuda:N or mps (default: CUDA, then MPS, else CPU)")
    parser.add_argument("--amp", action="store_true",
                        help="probe mixed precision (fp16 autocast + GradScaler)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the report as Markdown")
    parser.add_argument("--html", metavar="PATH",
                        help="write a self-contained HTML report with plots")
    parser.add_argument("--fail-on", choices=["error", "warning"],
                        help="exit 1 when a diagnosis of this severity (or worse) is found")
    if not any(a.dest == "kb" for a in parser._actions):
        parser.add_argument("--kb", action="append", default=[], metavar="DIR",
                            help="extra knowledge directory or file (repeatable)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress display on stderr")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def run_probe(args: argparse.Namespace) -> int:
    """Load the setup, probe it, print the summary, write the files; return the exit code."""
    return _run(args, args.setup)


def run_demo(args: argparse.Namespace) -> int:
    """The probe on a bundled example with a real fault (no files needed)."""
    if not getattr(args, "quiet", False):
        print("advisor demo: probing a bundled digits classifier that has a real fault "
              "(see advisor/probing/demo_setup.py)", file=sys.stderr)
    return _run(args, DEMO_SETUP)


def _run(args: argparse.Namespace, spec: str) -> int:
    from advisor.probing.setup import ProbeSetupError

    try:
        return _probe(args, spec)
    except ProbeSetupError as exc:
        print(f"advisor probe: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _probe(args: argparse.Namespace, spec: str) -> int:
    from advisor.probing.api import run_setup
    from advisor.probing.context import ProbeOptions
    from advisor.probing.progress import ProgressDisplay
    from advisor.probing.setup import load_setup

    kb_dirs = tuple(getattr(args, "kb", []) or [])
    _check_outputs(args)
    options = ProbeOptions(steps=args.steps, budget=args.budget, device=args.device,
                           amp=args.amp, seed=args.seed, kb_dirs=kb_dirs, quiet=args.quiet)
    setup = load_setup(spec)
    with ProgressDisplay(enabled=not args.quiet) as display:
        report = run_setup(setup, options, display.update)
    sys.stdout.write(report.text())
    sys.stdout.flush()
    failed = _write_outputs(args, report)
    for message in failed:
        print(f"advisor probe: {message}", file=sys.stderr)
    if failed:
        return EXIT_USAGE
    from advisor.engine.result import fails_on  # not at import: the parser must stay light

    worst = report.worst_severity()
    if fails_on(worst, args.fail_on):
        return EXIT_FAIL_ON
    return EXIT_OK


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before a long run, not after it, when an output folder does not exist."""
    from advisor.probing.setup import ProbeSetupError

    for flag in ("json", "markdown", "html"):
        path = getattr(args, flag, None)
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise ProbeSetupError(f"--{flag} {path}: the folder {folder} does not exist")


def _write_outputs(args: argparse.Namespace, report: Any) -> list[str]:
    """Write every requested file; one that cannot be written does not stop the others.

    Returns one message per file that failed, for the caller to print.
    """
    failed = []
    for path, write in ((args.json, report.write_json), (args.markdown, report.write_markdown),
                        (args.html, report.write_html)):
        if not path:
            continue
        try:
            write(path)
        except OSError as exc:
            failed.append(f"{path}: cannot write the report: {exc.strerror or exc}")
    return failed


def main(argv: list[str] | None = None) -> int:
    """`python -m advisor.probing SETUP ...` (the same as `advisor probe`)."""
    parser = argparse.ArgumentParser(prog="advisor probe",
                                     description="Probe a training setup and diagnose it.")
    add_probe_arguments(parser)
    return run_probe(parser.parse_args(argv))
