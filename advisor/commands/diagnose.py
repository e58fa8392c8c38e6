"""`advisor diagnose FILE`: the engine on a facts file or a stored probe report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from advisor.commands.options import add_kb_option, check_knowledge, check_output_path, kb_dirs
from advisor.engine.result import fails_on
from advisor.errors import EXIT_FAIL_ON, EXIT_OK, UsageError
from advisor.kb.model import Location
from advisor.kb.semantics import check_facts
from advisor.kb.yamlsource import YamlDocument, YamlError, parse_yaml


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="YAML/JSON file of facts, or a probe report (JSON)")
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    parser.add_argument("--fail-on", choices=["error", "warning"],
                        help="exit 1 when a diagnosis of this severity (or worse) is found")
    parser.add_argument("--explain", action="store_true", help="show how each was concluded")
    parser.add_argument("--output", "-o", metavar="PATH", help="write to PATH (atomically)")
    add_kb_option(parser)


def read_facts(path: Path) -> tuple[dict[str, Any], YamlDocument | None, tuple]:
    """Facts from a YAML/JSON file: a plain mapping, or a report with a `facts` mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; pass a facts file (YAML/JSON) or a probe "
                         "report written by `advisor probe --json`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    try:
        doc = parse_yaml(text, str(path))
        data = doc.data
    except YamlError as exc:
        try:  # JSON that YAML rejects (tabs, for instance) is still fine as JSON
            data, doc = json.loads(text), None
        except json.JSONDecodeError:
            raise UsageError(str(exc.problem)) from None
    prefix: tuple = ()
    if isinstance(data, dict) and isinstance(data.get("facts"), dict):
        data, prefix = data["facts"], ("facts",)
    if not isinstance(data, dict):
        raise UsageError(f"{path}:1:1: expected a mapping of fact names to values (or a probe "
                         "report with a 'facts' mapping)")
    return data, doc, prefix


def run(args: argparse.Namespace) -> int:
    check_output_path("--output", args.output)  # refused before any work, never created
    kb = check_knowledge(kb_dirs(args))  # before the facts: a broken folder is the first problem
    path = Path(args.file)
    facts, doc, prefix = read_facts(path)
    where = Location(str(path), 1, 1)
    locations = {k: doc.at(prefix + (k,), key=True) for k in facts} if doc else {}
    problems = [p for p in check_facts(kb, facts, where, locations)
                if not p.message.startswith("unknown fact") or not prefix]
    if problems:
        raise UsageError("bad facts:\n" + "\n".join(str(p) for p in problems))
    from advisor.engine import Engine
    from advisor.report import render_json, render_markdown, render_text, write_atomic

    result = Engine(kb).diagnose(facts)
    if args.format == "json":
        out = render_json(result)
    elif args.format == "markdown":
        out = render_markdown(result)
    else:
        out = render_text(result, explain=args.explain)
    if args.output:
        try:
            write_atomic(args.output, out)
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write the report: {exc.strerror or exc}; "
                             "choose a writable path") from None
    else:
        sys.stdout.write(out)
    worst = result.worst_severity()
    if fails_on(worst, args.fail_on):
        return EXIT_FAIL_ON
    return EXIT_OK
