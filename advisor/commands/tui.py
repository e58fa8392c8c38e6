"""`advisor tui [TARGET]`: the interactive terminal UI, on a saved report or a setup to probe.

The knowledge folders and a TARGET that is a folder are refused here, before Textual starts: a
person gets the problem on the terminal (exit 2) instead of inside a screen.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from advisor.commands.options import add_kb_option, check_knowledge, kb_dirs
from advisor.errors import UsageError

EXPECTED = ("a saved report (.json, written by `advisor probe --json`) or a setup: a .py file "
            "that defines setup(), file.py:func, or package.module:func")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?", help="a setup to probe, or a saved report .json")
    add_kb_option(parser)


def run(args: argparse.Namespace) -> int:
    check_target(args.target)
    dirs = kb_dirs(args)
    if dirs or os.environ.get("ADVISOR_KB_PATH", "").strip():
        # Only folders the person named: the built-in base is tested before it ships, and
        # loading it here would cost the first screen its one-second budget.
        check_knowledge(dirs)
    from advisor.tui.launch import run_tui

    return run_tui(args.target, dirs)


def check_target(target: str | None) -> None:
    """A folder is neither a report nor a setup: say so, and what is expected."""
    if target and Path(target).expanduser().is_dir():
        raise UsageError(f"{target}: is a directory; expected {EXPECTED}.")
