"""`advisor tui [TARGET]`: the interactive terminal UI, on a saved report or a setup to probe;
`advisor tui --watch SCRIPT.py [ARGS...]`: the same UI following a watch of your own script.

The knowledge folders, a TARGET that is a folder and a script to watch that is not there are
refused here, before Textual starts: a person gets the problem on the terminal (exit 2) instead
of inside a screen.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from advisor.commands.options import add_kb_option, check_knowledge, kb_dirs, positive_int
from advisor.errors import UsageError

EXPECTED = ("a saved report (.json, written by `advisor probe --json`) or a setup: a .py file "
            "that defines setup(), file.py:func, or package.module:func")
WATCH_HELP = """\
watching your own script:
  advisor tui --watch train.py --epochs 3
  advisor tui --steps 100 --watch -m mypackage.train --lr 0.1

  The script runs unchanged (as `python train.py --epochs 3` would, from the current folder)
  under `advisor watch`, in its own process. The screen shows the steps watched out of --steps,
  the training loss as it is read, and the script's output; then the diagnoses of what the
  watch saw open on the results screen (escape returns to the output, r opens the results
  again, c stops the script early and keeps a partial report). Options of `advisor tui` go
  before --watch: everything after the script belongs to the script. On the home screen, w
  asks for the same line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = ("advisor tui [--kb DIR] [TARGET]\n"
                    "       advisor tui [--kb DIR] [--steps N] --watch SCRIPT.py [ARGS...]")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = WATCH_HELP
    parser.add_argument("target", nargs="?", help="a setup to probe, or a saved report .json")
    parser.add_argument("--watch", metavar="SCRIPT.py [ARGS...]",
                        help="run your training script unchanged under `advisor watch` and "
                             "follow its loss live, then show the diagnoses (or -m MODULE "
                             "[ARGS...]); must come last: the words after it are the script's")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="with --watch: training steps to watch (default 200)")
    add_kb_option(parser)


def split_argv(argv: Sequence[str]) -> tuple[list[str], None]:
    """`--watch` takes the rest of the line: the script and its own arguments (which may look
    like options) travel to argparse as one word, the line as a shell would quote it."""
    words = list(argv)
    for i, word in enumerate(words):
        if word == "--":
            return words, None
        if word == "--watch" and i + 1 < len(words):
            return words[:i] + ["--watch", shlex.join(words[i + 1:])], None
        if word.startswith("--watch="):
            rest = [word.split("=", 1)[1], *words[i + 1:]]
            return words[:i] + ["--watch", shlex.join(rest)], None
    return words, None


def run(args: argparse.Namespace) -> int:
    check_target(args.target)
    if args.watch is not None and args.target:
        raise UsageError(f"give either a TARGET ({args.target}) or --watch SCRIPT.py, not both")
    if args.steps is not None and args.watch is None:
        raise UsageError("--steps goes with --watch SCRIPT.py (the steps of the watch)")
    if args.watch is not None:
        check_watch(args.watch)
    dirs = kb_dirs(args)
    if dirs or os.environ.get("ADVISOR_KB_PATH", "").strip():
        # Only folders the person named: the built-in base is tested before it ships, and
        # loading it here would cost the first screen its one-second budget.
        check_knowledge(dirs)
    from advisor.tui.launch import run_tui

    if args.watch is not None:
        options = {"steps": args.steps} if args.steps else {}
        return run_tui(None, dirs, watch=args.watch, watch_options=options)
    return run_tui(args.target, dirs)


def check_target(target: str | None) -> None:
    """A folder is neither a report nor a setup: say so, and what is expected."""
    if target and Path(target).expanduser().is_dir():
        raise UsageError(f"{target}: is a directory; expected {EXPECTED}.")


def check_watch(line: str) -> None:
    """A script to watch that is not there (or a line that cannot be split) is refused now."""
    from advisor.tui.watching import problem_with

    problem = problem_with(line)
    if problem:
        raise UsageError(f"--watch {problem}")
