"""The `advisor` command line.

Heavy modules are imported inside the commands that need them: `advisor --help`, `advisor kb`
and `advisor diagnose` never import torch or textual, so they start instantly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from advisor.errors import EXIT_FAIL_ON, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["EXIT_FAIL_ON", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "UsageError", "main"]


def _add_kb_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kb", action="append", default=[], metavar="DIR",
                        help="extra knowledge directory or file (repeatable; also "
                             "ADVISOR_KB_PATH, separated by ':')")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Troubleshoot deep-learning training: probe a model, diagnose, remedy.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    kb = sub.add_parser("kb", help="inspect, validate and test the knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    validate = kb_sub.add_parser("validate", help="check the KB (and DIRs) and report problems")
    validate.add_argument("dirs", nargs="*", metavar="DIR")
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    listing = kb_sub.add_parser("list", help="list the rules")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    show = kb_sub.add_parser("show", help="show one rule or fact")
    show.add_argument("id")
    graph = kb_sub.add_parser("graph", help="export the rule graph")
    graph.add_argument("--format", choices=["dot", "json"], default="dot")
    test = kb_sub.add_parser("test", help="run every rule's examples")
    test.add_argument("dirs", nargs="*", metavar="DIR")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing examples too")
    kb_sub.add_parser("schema", help="print the JSON Schema of knowledge files")
    for p in (kb, validate, listing, show, graph, test):
        _add_kb_option(p)

    diagnose = sub.add_parser("diagnose", help="run the engine on a facts file or probe report")
    diagnose.add_argument("file", help="YAML/JSON file of facts, or a probe report (JSON)")
    diagnose.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    diagnose.add_argument("--fail-on", choices=["error", "warning"],
                          help="exit 1 when a diagnosis of this severity (or worse) is found")
    diagnose.add_argument("--explain", action="store_true", help="show how each was concluded")
    diagnose.add_argument("--output", "-o", metavar="PATH", help="write to PATH (atomically)")
    _add_kb_option(diagnose)

    probe = sub.add_parser("probe", help="run a short instrumented training of your setup")
    demo = sub.add_parser("demo", help="probe a bundled example with a real fault")
    try:
        from advisor.probing.cli import add_probe_arguments  # imports no torch at module level
    except ImportError:  # pragma: no cover - partial installs
        add_probe_arguments = None
    if add_probe_arguments is not None:
        add_probe_arguments(probe)
        add_probe_arguments(demo, demo=True)

    tui = sub.add_parser("tui", help="the interactive terminal UI")
    tui.add_argument("target", nargs="?", help="a setup to probe, or a saved report .json")
    _add_kb_option(tui)
    return parser


def _kb_dirs(args: argparse.Namespace) -> list[str]:
    return list(getattr(args, "kb", [])) + list(getattr(args, "dirs", []) or [])


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(parser, args)
    except UsageError as exc:
        print(f"advisor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("advisor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # pragma: no cover - e.g. `advisor kb list | head`
        return EXIT_OK
    except Exception as exc:  # never show a traceback for a problem we did not foresee
        if os.environ.get("ADVISOR_DEBUG"):
            raise
        print(f"advisor: internal error: {type(exc).__name__}: {exc}\n"
              "Run again with ADVISOR_DEBUG=1 for the traceback, and please report it.",
              file=sys.stderr)
        return EXIT_INTERNAL


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "kb":
        from advisor.commands.kb import run_kb

        return run_kb(args, _kb_dirs(args))
    if args.command == "diagnose":
        from advisor.commands.diagnose import run_diagnose

        return run_diagnose(args, _kb_dirs(args))
    if args.command in ("probe", "demo"):
        from advisor.probing import cli as probe_cli

        runner = probe_cli.run_probe if args.command == "probe" else probe_cli.run_demo
        return runner(args)
    if args.command == "tui":
        from advisor.tui.launch import run_tui

        return run_tui(args.target, _kb_dirs(args))
    parser.print_help()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
