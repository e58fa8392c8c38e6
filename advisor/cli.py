"""The `advisor` command line: one table of commands, one place that turns errors into exit codes.

Each command is a module in advisor/commands/ with `add_arguments(parser)` and `run(args)`; this
module imports a command's module only to call it, for the one command being run. Command
modules import nothing heavy at module level either: `advisor --help`, `advisor kb` and
`advisor diagnose` never import torch or textual, and start instantly. Exit codes and error
types live in advisor/errors.py.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import ModuleType

from advisor import __version__
from advisor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, AdvisorError

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@dataclass(frozen=True)
class Command:
    """One sub-command: its name, its one-line help, and the module that implements it."""

    name: str
    help: str
    module: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


COMMANDS: tuple[Command, ...] = (
    Command("kb", "inspect, validate and test the knowledge base", "advisor.commands.kb"),
    Command("diagnose", "run the engine on a facts file or probe report",
            "advisor.commands.diagnose"),
    Command("probe", "run a short instrumented training of your setup", "advisor.commands.probe"),
    Command("demo", "probe a bundled example with a real fault", "advisor.commands.demo"),
    Command("tui", "the interactive terminal UI", "advisor.commands.tui"),
    Command("watch", "run your own training script and diagnose its loop",
            "advisor.commands.watch"),
    Command("logs", "diagnose a finished run from its logs, or compare two runs",
            "advisor.commands.logs"),
)


def build_parser(load: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The parser: one sub-parser per row of COMMANDS, named and described by the table.

    Only the commands named in LOAD (all of them when None) import their module to add their
    arguments. `main` names just the command it runs, so `advisor --help` imports no command
    module at all and `advisor kb` never imports the probe's.
    """
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Troubleshoot deep-learning training: probe a model, diagnose, remedy.",
    )
    parser.add_argument("--version", action="version", version=f"advisor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command_parser = sub.add_parser(command.name, help=command.help)
        if load is None or command.name in load:
            command.load().add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code; never a traceback for a user's mistake."""
    argv = list(sys.argv[1:] if argv is None else argv)
    named = _command_in(argv)
    parser = build_parser([named] if named else [])
    argv, target = _split_target(named, argv)
    args = parser.parse_args(argv)
    if target is not None:
        args.target = target
    try:
        return _dispatch(parser, args)
    except AdvisorError as exc:
        print(f"advisor: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("advisor: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # pragma: no cover - e.g. `advisor kb list | head`
        return EXIT_OK
    except Exception as exc:  # never show a traceback for a problem we did not foresee
        if os.environ.get("ADVISOR_DEBUG", "") not in ("", "0"):
            raise
        print(f"advisor: internal error: {type(exc).__name__}: {exc}\n"
              "Run again with ADVISOR_DEBUG=1 for the traceback, and please report it.",
              file=sys.stderr)
        return EXIT_INTERNAL


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command ARGV names: its first word that is not an option (the top level has only
    -h/--help and --version, which take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _split_target(named: str | None, argv: list[str]) -> tuple[list[str], object]:
    """A command that runs another program (`advisor watch SCRIPT ARGS...`) takes the words
    after that program as the program's own: its `split_argv` separates them before parsing."""
    command = next((c for c in COMMANDS if c.name == named), None)
    split = getattr(command.load(), "split_argv", None) if command else None
    if split is None:
        return argv, None
    at = argv.index(named)
    own, target = split(argv[at + 1:])
    return argv[:at + 1] + own, target


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    for command in COMMANDS:
        if command.name == args.command:
            return command.load().run(args)
    parser.print_help()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
