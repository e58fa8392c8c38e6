"""`advisor probe SETUP`: arguments, running, output files and exit codes.

Importing this module imports no torch: `advisor.cli` calls `add_arguments` to build its parser,
and `advisor --help` must stay instant. `advisor demo` (commands/demo.py) shares these options.
Exit codes (advisor/errors.py): 0 done, 1 when --fail-on is met, 2 for a setup, knowledge or
path error, 4 when the setup's code hung or ended the process, 130 when interrupted (in both
cases the requested files are still written, marked partial).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from advisor.commands.options import (
    add_kb_option,
    check_knowledge,
    check_output_path,
    kb_dirs,
    positive_int,
    positive_seconds,
    speaking_as,
    write_outputs,
)
from advisor.errors import (
    EXIT_FAIL_ON,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_USER_CODE,
)

OUTPUTS = ("json", "markdown", "html")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `advisor probe`: SETUP, then the options it shares with `advisor demo`."""
    parser.add_argument("setup", metavar="SETUP",
                        help="path/to/file.py[:func] or package.module:func; the function "
                             "(default: setup) returns a dict with model, train_data, "
                             "loss_fn (optional: optimizer, val_data, task, step, train_step, "
                             "scheduler, scaler)")
    add_probe_options(parser, steps=200, budget=120.0)


def add_probe_options(parser: argparse.ArgumentParser, steps: int, budget: float) -> None:
    """The options of a probe run, with the defaults of the command that offers them."""
    parser.add_argument("--steps", type=positive_int, default=steps,
                        help=f"training steps (default {steps}); the steps bound every run")
    parser.add_argument("--budget", type=positive_seconds, default=budget, metavar="SECONDS",
                        help=f"a cap on the whole probe in seconds (default {budget:g}); a run "
                             "cut short by it says so")
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
    add_verify_options(parser)


def add_verify_options(parser: argparse.ArgumentParser) -> None:
    """--verify and its knobs: remedy trials after the diagnosis (advisor/trials)."""
    group = parser.add_argument_group(
        "verified remedies", "after diagnosing, try the remedies of the top diagnoses on "
        "copies in matched short runs and say which measurably helped")
    group.add_argument("--verify", action="store_true",
                       help="run the remedy trials (about ten probes' worth of steps)")
    group.add_argument("--seeds", type=positive_int, default=5, metavar="K",
                       help="matched seeds per arm (default 5, the fewest for which the exact "
                            "test can reach p < 0.05)")
    group.add_argument("--verify-top", type=positive_int, default=3, metavar="N",
                       help="try the remedies of this many top diagnoses (default 3)")
    group.add_argument("--verify-budget", type=positive_seconds, default=300.0,
                       metavar="SECONDS",
                       help="a cap on the trials in seconds (default 300); trials it cuts "
                            "are reported as not run")
    group.add_argument("--trial-steps", type=positive_int, default=None, metavar="N",
                       help="steps per trial run (default: --steps, at most 100)")


def run(args: argparse.Namespace) -> int:
    """Load the setup, probe it, print the summary, write the files; return the exit code."""
    return probe_spec(args, args.setup)


def probe_spec(args: argparse.Namespace, spec: str) -> int:
    """The probe of SPEC with the options in ARGS. Errors keep the `advisor probe:` prefix the
    command has always printed (also under `advisor demo` and `python -m advisor.probing`)."""
    return speaking_as("probe", lambda a: _probe(a, spec), args)


def _probe(args: argparse.Namespace, spec: str) -> int:
    # Everything that can be refused is refused before the setup's code runs.
    for flag in OUTPUTS:
        check_output_path(f"--{flag}", getattr(args, flag, None))
    dirs = kb_dirs(args)
    check_knowledge(dirs)

    from advisor.probing.options import ProbeOptions
    from advisor.probing.progress import ProgressDisplay

    options = ProbeOptions(steps=args.steps, budget=args.budget, device=args.device,
                           amp=args.amp, seed=args.seed, kb_dirs=tuple(dirs), quiet=args.quiet,
                           verify=args.verify, seeds=args.seeds, verify_top=args.verify_top,
                           verify_budget=args.verify_budget, trial_steps=args.trial_steps)
    with ProgressDisplay(enabled=not args.quiet) as display:
        report, ending = _run(spec, options, display.update)
    sys.stdout.write(report.text())
    sys.stdout.flush()
    written, failed = write_outputs(args, report)
    for message in failed:
        print(f"advisor probe: {message}", file=sys.stderr)
    where = ", ".join(written) if written else "nothing (no --json/--markdown/--html)"
    if ending is not None:
        message, code = ending
        print(f"advisor probe: {message}; partial report written to {where}", file=sys.stderr)
        return code
    if failed:
        return EXIT_USAGE
    from advisor.engine.result import fails_on  # not at import: the parser must stay light

    if fails_on(report.worst_severity(), args.fail_on):
        return EXIT_FAIL_ON
    return EXIT_OK


def _run(spec: str, options: Any, progress: Any) -> tuple[Any, tuple[str, int] | None]:
    """The report, and how the run ended when it did not simply finish: (message, exit code).

    The probe runs in a worker process that advisor outlives (`os._exit`, a segfault or code
    stuck in C cannot take the report with them); where a worker cannot run, in this process."""
    from advisor.probing import worker
    from advisor.probing.watchdog import HANG_DETAIL
    from advisor.report.probe import ProbeReport

    if worker.supported():
        outcome = worker.run_in_worker(spec, options, progress)
        if outcome.ending == "interrupted" and outcome.phase == "setup":
            raise KeyboardInterrupt  # Ctrl-C while the setup loaded: nothing was probed
        report = ProbeReport.from_dict(outcome.report)
        code = outcome.exit_status()
        if code is not None and outcome.ending != "interrupted":
            return report, (outcome.message, code)
    else:  # pragma: no cover - platforms without the worker (Windows)
        from advisor.probing.api import run_setup
        from advisor.probing.setup import load_setup

        report = run_setup(load_setup(spec), options, progress)
    hang = report.details.get(HANG_DETAIL)
    if isinstance(hang, dict):  # the in-process watchdog stopped code that did not return
        return report, (str(hang.get("message", "the setup's code did not return")),
                        EXIT_USER_CODE)
    if report.partial:  # Ctrl-C
        phase = report.details.get("interrupted_in") or "unknown"
        return report, (f"interrupted during the {phase} phase", EXIT_INTERRUPTED)
    return report, None
