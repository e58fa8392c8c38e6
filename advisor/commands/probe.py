"""`advisor probe SETUP`: arguments, running, output files and exit codes.

Importing this module imports no torch: `advisor.cli` calls `add_arguments` to build its parser,
and `advisor --help` must stay instant. `advisor demo` (commands/demo.py) shares these options.
Exit codes (advisor/errors.py): 0 done, 1 when --fail-on is met, 2 for a setup, knowledge or
path error, 130 when interrupted (the requested files are still written, marked partial).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from advisor.commands.options import (
    add_kb_option,
    check_knowledge,
    check_output_path,
    kb_dirs,
    positive_int,
    positive_seconds,
)
from advisor.errors import EXIT_FAIL_ON, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, AdvisorError

OUTPUTS = ("json", "markdown", "html")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `advisor probe`: SETUP, then the options it shares with `advisor demo`."""
    parser.add_argument("setup", metavar="SETUP",
                        help="path/to/file.py[:func] or package.module:func; the function "
                             "(default: setup) returns a dict with model, train_data, "
                             "loss_fn (optional: optimizer, val_data, task, step)")
    add_probe_options(parser, steps=200, budget=30.0)


def add_probe_options(parser: argparse.ArgumentParser, steps: int, budget: float) -> None:
    """The options of a probe run, with the defaults of the command that offers them."""
    parser.add_argument("--steps", type=positive_int, default=steps,
                        help=f"training steps at most (default {steps})")
    parser.add_argument("--budget", type=positive_seconds, default=budget, metavar="SECONDS",
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
    add_kb_option(parser)
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress display on stderr")


def run(args: argparse.Namespace) -> int:
    """Load the setup, probe it, print the summary, write the files; return the exit code."""
    return probe_spec(args, args.setup)


def probe_spec(args: argparse.Namespace, spec: str) -> int:
    """The probe of SPEC with the options in ARGS. Errors keep the `advisor probe:` prefix the
    command has always printed (also under `advisor demo` and `python -m advisor.probing`)."""
    try:
        return _probe(args, spec)
    except AdvisorError as exc:
        print(f"advisor probe: {exc}", file=sys.stderr)
        return exc.exit_code


def _probe(args: argparse.Namespace, spec: str) -> int:
    # Everything that can be refused is refused before the setup's code runs.
    for flag in OUTPUTS:
        check_output_path(f"--{flag}", getattr(args, flag, None))
    dirs = kb_dirs(args)
    check_knowledge(dirs)

    from advisor.probing.api import run_setup
    from advisor.probing.context import ProbeOptions
    from advisor.probing.progress import ProgressDisplay
    from advisor.probing.setup import load_setup

    options = ProbeOptions(steps=args.steps, budget=args.budget, device=args.device,
                           amp=args.amp, seed=args.seed, kb_dirs=tuple(dirs), quiet=args.quiet)
    setup = load_setup(spec)
    with ProgressDisplay(enabled=not args.quiet) as display:
        report = run_setup(setup, options, display.update)
    sys.stdout.write(report.text())
    sys.stdout.flush()
    written, failed = _write_outputs(args, report)
    for message in failed:
        print(f"advisor probe: {message}", file=sys.stderr)
    if report.partial:  # the runner marks a report partial only when Ctrl-C stopped it
        where = ", ".join(written) if written else "nothing (no --json/--markdown/--html)"
        print(f"advisor probe: interrupted during the {interrupted_phase(report)} phase; "
              f"partial report written to {where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if failed:
        return EXIT_USAGE
    from advisor.engine.result import fails_on  # not at import: the parser must stay light

    if fails_on(report.worst_severity(), args.fail_on):
        return EXIT_FAIL_ON
    return EXIT_OK


_INTERRUPTED = re.compile(r"Interrupted during the (\S+) phase")


def interrupted_phase(report: Any) -> str:
    """The phase Ctrl-C stopped, from the runner's note ("Interrupted during the X phase").

    The report carries no field of its own for it yet; the note is what the runner writes.
    """
    for note in getattr(report, "notes", ()):
        match = _INTERRUPTED.search(str(note))
        if match:
            return match.group(1)
    return "unknown"


def _write_outputs(args: argparse.Namespace, report: Any) -> tuple[list[str], list[str]]:
    """Write every requested file; one that cannot be written does not stop the others.

    Returns the paths written and one message per file that failed, for the caller to print.
    """
    written, failed = [], []
    for path, write in ((args.json, report.write_json), (args.markdown, report.write_markdown),
                        (args.html, report.write_html)):
        if not path:
            continue
        try:
            write(path)
        except OSError as exc:
            failed.append(f"{path}: cannot write the report: {exc.strerror or exc}")
        else:
            written.append(str(path))
    return written, failed
