"""`advisor diagnose FILE`: the engine on a facts file or a stored probe report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from advisor.commands.options import add_kb_option, check_knowledge, check_output_path, kb_dirs
from advisor.engine.result import fails_on
from advisor.errors import EXIT_FAIL_ON, EXIT_OK, UsageError
from advisor.report.reader import ReportError, StoredReport, check_report, read_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="YAML/JSON file of facts, or a probe report (JSON)")
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    parser.add_argument("--fail-on", choices=["error", "warning"],
                        help="exit 1 when a diagnosis of this severity (or worse) is found")
    parser.add_argument("--explain", action="store_true", help="show how each was concluded")
    parser.add_argument("--output", "-o", metavar="PATH", help="write to PATH (atomically)")
    add_kb_option(parser)


def read_facts(path: Path) -> StoredReport:
    """Facts from a YAML/JSON file: a plain mapping, or a report with a `facts` mapping (read
    strictly: any problem is a usage error that says file:line)."""
    try:
        return read_report(path, strict=True)
    except ReportError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    check_output_path("--output", args.output)  # refused before any work, never created
    kb = check_knowledge(kb_dirs(args))  # before the facts: a broken folder is the first problem
    path = Path(args.file)
    stored = read_facts(path)
    try:
        check_report(stored, kb, strict=True)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    from advisor.engine import Engine
    from advisor.report import Diagnosis, render_json, render_markdown, render_text, write_atomic
    from advisor.report.files import MissingFolderError

    result = Engine(kb).diagnose(stored.facts)
    diagnosis = Diagnosis.from_result(result)
    stored_trials = stored.data.get("trials")
    if isinstance(stored_trials, list) and stored_trials:  # a report made with --verify
        verification = stored.data.get("verification")
        diagnosis = diagnosis.with_trials(
            [t for t in stored_trials if isinstance(t, dict)],
            verification if isinstance(verification, dict) else None)
    if args.format == "json":
        out = render_json(diagnosis)
    elif args.format == "markdown":
        out = render_markdown(diagnosis)
    else:
        out = render_text(diagnosis, explain=args.explain)
    if args.output:
        try:
            write_atomic(args.output, out)
        except (OSError, MissingFolderError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise UsageError(f"{args.output}: cannot write the report: {reason}") from None
    else:
        sys.stdout.write(out)
    worst = diagnosis.worst_severity()
    if fails_on(worst, args.fail_on):
        return EXIT_FAIL_ON
    return EXIT_OK
