"""`advisor diagnose FILE`: the engine on a facts file or a stored probe report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from advisor.cli import EXIT_FAIL_ON, EXIT_OK, UsageError
from advisor.engine.result import fails_on
from advisor.kb import KBError, load_kb
from advisor.report.reader import ReportError, StoredReport, check_report, read_report


def read_facts(path: Path) -> StoredReport:
    """Facts from a YAML/JSON file: a plain mapping, or a report with a `facts` mapping (read
    strictly: any problem is a usage error that says file:line)."""
    try:
        return read_report(path, strict=True)
    except ReportError as exc:
        raise UsageError(str(exc)) from None


def run_diagnose(args: argparse.Namespace, dirs: list[str]) -> int:
    path = Path(args.file)
    stored = read_facts(path)
    try:
        kb = load_kb(dirs, check_examples=False)
    except KBError as exc:
        raise UsageError("the knowledge base has problems:\n"
                         + "\n".join(str(p) for p in exc.problems)) from None
    try:
        check_report(stored, kb, strict=True)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    from advisor.engine import Engine
    from advisor.report import Diagnosis, render_json, render_markdown, render_text, write_atomic
    from advisor.report.files import MissingFolderError

    result = Engine(kb).diagnose(stored.facts)
    diagnosis = Diagnosis.from_result(result)
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
