"""`advisor logs PATH [PATH_B]`: diagnose a finished run from its logs (TensorBoard event files,
a Hugging Face trainer_state.json, a Lightning metrics.csv, a CSV or JSON Lines table), or
compare two runs.

Importing this module imports no torch, and neither does reading a log. Exit codes are the
probe's (advisor/errors.py): 0 done, 1 when --fail-on is met, 2 for a path that holds no
readable log, a bad mapping or option, or a report that cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from advisor.commands.options import (
    add_kb_option,
    add_log_selection,
    check_knowledge,
    check_output_path,
    kb_dirs,
    speaking_as,
    write_outputs,
)
from advisor.errors import EXIT_FAIL_ON, EXIT_OK, EXIT_USAGE, UsageError

OUTPUTS = ("json", "markdown", "html")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "advisor logs [OPTIONS] PATH [PATH_B]"
    parser.description = (
        "Diagnose a finished training run from its logs: TensorBoard event files or folders, "
        "a Hugging Face output_dir or trainer_state.json, a Lightning lightning_logs/ folder or "
        "metrics.csv, a CSV or JSON Lines file. With two paths, say where and how the second "
        "run departs from the first.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a log file or folder; a second PATH compares two runs")
    add_log_selection(parser, several="every run is diagnosed")
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the report as Markdown")
    parser.add_argument("--html", metavar="PATH",
                        help="write a self-contained HTML report with the plots")
    parser.add_argument("--fail-on", choices=["error", "warning"],
                        help="exit 1 when a diagnosis of this severity (or worse) is found")
    add_kb_option(parser)


def run(args: argparse.Namespace) -> int:
    return speaking_as("logs", _logs, args)


def _logs(args: argparse.Namespace) -> int:
    if len(args.paths) > 2:
        raise UsageError(f"give one log PATH, or two to compare them (got {len(args.paths)}: "
                         f"{' '.join(args.paths)})")
    for flag in OUTPUTS:
        check_output_path(f"--{flag}", getattr(args, flag, None))
    dirs = kb_dirs(args)
    kb = check_knowledge(dirs)   # loaded once, for every run diagnosed
    from advisor.logs.run import parse_mapping

    mapping = parse_mapping(args.map)
    if len(args.paths) == 2:
        return _compare(args, mapping, kb)
    from advisor.logs.analyse import analyse_logs
    from advisor.report.runs import for_runs

    report = for_runs(analyse_logs(args.paths[0], run=args.run, mapping=mapping, kb=kb))
    sys.stdout.write(report.text())
    sys.stdout.flush()
    return _finish(args, report)


def _compare(args: argparse.Namespace, mapping: dict[str, str], kb: Any) -> int:
    from advisor.logs.analyse import analyse_run
    from advisor.logs.compare import compare_runs
    from advisor.report.compare import ComparisonReport

    runs = [_one_run(path, args.run, mapping) for path in args.paths]
    report = ComparisonReport(
        comparison=compare_runs(*runs),
        reports=[analyse_run(r, kb=kb, options={"run": args.run, "map": mapping})
                 for r in runs],
        runs=runs)
    sys.stdout.write(report.text())
    sys.stdout.flush()
    return _finish(args, report)


def _one_run(path: str, run: str | None, mapping: dict[str, str]) -> Any:
    """The one run a compared PATH holds; several is a usage error naming them."""
    from advisor.logs.discover import read_logs

    runs = read_logs(path, run=run, mapping=mapping)
    if len(runs) > 1:
        names = ", ".join(r.name for r in runs)
        raise UsageError(f"{path}: holds {len(runs)} runs ({names}); to compare, give each "
                         "run's own folder or file, or pick one with --run NAME")
    return runs[0]


def _finish(args: argparse.Namespace, report: Any) -> int:
    written, failed = write_outputs(args, report)
    for message in failed:
        print(f"advisor logs: {message}", file=sys.stderr)
    if failed:
        return EXIT_USAGE
    from advisor.engine.result import fails_on

    if fails_on(report.worst_severity(), args.fail_on):
        return EXIT_FAIL_ON
    return EXIT_OK
