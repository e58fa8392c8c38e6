"""`advisor watch [OPTIONS] SCRIPT [ARGS...]` (or `-m MODULE [ARGS...]`): run the user's own
training script unchanged, watch its loop, diagnose what was seen.

Options for the watch go before the script; everything after the script (or after `--`)
belongs to the script. Importing this module imports no torch. Exit codes are the probe's
(advisor/errors.py): 0 done, 1 when --fail-on is met, 2 for a bad script path or option, 4
when the script raised an error or exited non-zero, 130 when interrupted; the report of what was
seen is written in every case.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
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
    UsageError,
)
from advisor.watching.target import check_target
from advisor.watching.target import split_argv as split_target

OUTPUTS = ("json", "markdown", "html")
WITH_VALUE = {"--steps", "--budget", "--json", "--markdown", "--html", "--fail-on", "--kb",
              "--nproc"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "advisor watch [OPTIONS] SCRIPT.py [SCRIPT ARGS...] | -m MODULE [ARGS...]"
    parser.description = ("Run your training script unchanged (as `python SCRIPT.py ARGS` "
                          "would), watch its own loop through hooks, then diagnose.")
    parser.add_argument("--steps", type=positive_int, default=200,
                        help="training steps to watch (optimizer steps, or backward passes "
                             "where there is no optimizer; default 200); then the script is "
                             "stopped (with --follow it runs on: the steps only set how often "
                             "statistics are sampled)")
    parser.add_argument("--budget", type=positive_seconds, default=None, metavar="SECONDS",
                        help="a cap in seconds (default 300, none with --follow); the steps "
                             "decide, a capped watch says so")
    parser.add_argument("--follow", action="store_true",
                        help="let the script run to its end (sampled statistics), report at "
                             "the end or at the first NaN")
    parser.add_argument("--every-step", action="store_true",
                        help="gradient and update statistics at every step (slower)")
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the report as Markdown")
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
    parser.add_argument("--fail-on", choices=["error", "warning"],
                        help="exit 1 when a diagnosis of this severity (or worse) is found")
    add_kb_option(parser)
    parser.add_argument("--nproc", type=positive_int, metavar="N",
                        help="run the script in N local processes through torchrun (gloo or "
                             "NCCL, as the script chooses); rank 0 merges one report")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no start line on stderr")
    parser.add_argument("-m", dest="module", metavar="MODULE",
                        help="run a module as `python -m MODULE` would")
    parser.add_argument("script", nargs="?", metavar="SCRIPT.py", help="the training script")


def split_argv(argv: Sequence[str]) -> tuple[list[str], Any]:
    """The watch's own words, and the target (script or module with its arguments)."""
    return split_target(argv, WITH_VALUE)


def run(args: argparse.Namespace) -> int:
    return speaking_as("watch", _watch, args)


def _watch(args: argparse.Namespace) -> int:
    target = getattr(args, "target", None)
    if target is None:
        raise UsageError("give the script to watch: `advisor watch train.py [ARGS...]` or "
                         "`advisor watch -m package.module [ARGS...]`")
    for flag in OUTPUTS:
        check_output_path(f"--{flag}", getattr(args, flag, None))
    dirs = kb_dirs(args)
    check_knowledge(dirs)

    check_target(target)   # a wrong path is answered before torch is loaded
    # --nproc N: N processes through torchrun, one watch each; under torchrun, rank 0 speaks
    from advisor.watching.distributed import distribute
    from advisor.watching.options import WatchOptions
    from advisor.watching.script import watch_script

    launched = distribute(args)
    if launched is not None:
        return launched
    options = WatchOptions(steps=args.steps, budget=_budget(args), follow=args.follow,
                           every_step=args.every_step, kb_dirs=tuple(dirs))
    if not args.quiet:
        what = "to its end" if args.follow else f"for {args.steps} training steps"
        print(f"advisor watch: running {target.name} {what}", file=sys.stderr)
    from advisor.watching.progress import progress_from_env

    with progress_from_env(options) as progress:  # ADVISOR_WATCH_PROGRESS: the TUI follows
        run = watch_script(target, options, on_start=progress.attach)
        progress.finish(run.report)
    report = run.report
    sys.stdout.write("\n" + report.text())
    sys.stdout.flush()
    written, failed = write_outputs(args, report)
    for message in failed:
        print(f"advisor watch: {message}", file=sys.stderr)
    return _exit_code(args, run.ending, report, written, failed)


def _budget(args: argparse.Namespace) -> float:
    """--follow runs the script to its end: no cap unless --budget is given."""
    from advisor.watching.options import DEFAULT_BUDGET
    from advisor.watching.script import UNCAPPED

    if args.budget is not None:
        return float(args.budget)
    return UNCAPPED * 10 if args.follow else DEFAULT_BUDGET


def _exit_code(args: argparse.Namespace, ending: Any, report: Any, written: list[str],
               failed: list[str]) -> int:
    where = ", ".join(written) if written else "nothing (no --json/--markdown/--html)"
    steps = report.details.get("watch", {}).get("steps_watched", 0)
    if ending.how == "interrupted":
        at = f" at {ending.where}" if ending.where else ""
        print(f"advisor watch: interrupted{at} after {steps} training steps; partial report "
              f"written to {where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if ending.how in ("crashed", "exited"):
        at = f" at {ending.where}" if ending.where else ""
        print(f"advisor watch: the script ended with an error{at}: {ending.error_message}; "
              f"report of what was seen written to {where}", file=sys.stderr)
        return EXIT_USER_CODE
    if ending.how == "capped" and not steps:
        budget = report.options.get("budget", 0)
        print(f"advisor watch: the budget ({budget:g} s) ran out before any training step"
              ": the script created no optimizer that stepped and called no "
              "backward() by then (raise --budget if its set-up is slow); report of what was "
              f"seen written to {where}", file=sys.stderr)
        return EXIT_USER_CODE
    if ending.how == "capped" and steps:
        print(f"advisor watch: the budget ({report.options.get('budget', 0):g} s) ran out "
              f"after {steps} of {report.options.get('steps')} training steps; partial report "
              f"written to {where}", file=sys.stderr)
    if not steps and ending.how == "finished":
        print("advisor watch: the script ended without a training step (no optimizer stepped, "
              "no backward() was called): there was no loop to watch; give the script that "
              f"trains; report of what was seen written to {where}", file=sys.stderr)
    if failed:
        return EXIT_USAGE
    from advisor.engine.result import fails_on

    if fails_on(report.worst_severity(), args.fail_on):
        return EXIT_FAIL_ON
    return EXIT_OK
