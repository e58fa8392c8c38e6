"""`advisor tui [TARGET]`: the interactive terminal UI, on a saved report, a finished run's logs
(`advisor logs`' PATH: a log folder or file) or a setup to probe; `advisor tui --watch SCRIPT.py
[ARGS...]`: the same UI following a watch of your own script.

The knowledge folders, a log path that holds no log (or no run named --run, or a bad --map) and
a script to watch that is not there are refused here, before Textual starts: a person gets the
problem on the terminal (exit 2) instead of inside a screen. Finding the runs under a log path
reads none of them, so this check stays quick on a big log.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from advisor.commands.options import (
    add_kb_option,
    add_log_selection,
    check_knowledge,
    kb_dirs,
    positive_int,
)
from advisor.errors import UsageError

NOT_A_LOG = ("a saved report (.json, written by `advisor probe --json`) or a setup: a .py file "
             "that defines setup(), file.py:func, or package.module:func")
EXPECTED = f"a training log (a folder or file, as `advisor logs` reads), {NOT_A_LOG}"
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
                    "       advisor tui [--kb DIR] [--run NAME] [--map ROLE=TAG,...] LOG_PATH\n"
                    "       advisor tui [--kb DIR] [--steps N] --watch SCRIPT.py [ARGS...]")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = WATCH_HELP
    parser.add_argument("target", nargs="?",
                        help="a setup to probe, a saved report .json, or a training log: a "
                             "TensorBoard folder or event file, a Hugging Face output_dir or "
                             "trainer_state.json, a Lightning lightning_logs/ or metrics.csv, a "
                             ".csv/.jsonl table (as `advisor logs PATH` reads)")
    add_log_selection(parser, several="the TUI lists them to pick one")
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
    logs_options = check_target(args.target, args.run, args.map)
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
    return run_tui(args.target, dirs, logs_options=logs_options)


def check_target(target: str | None, run: str | None = None, map_text: str | None = None
                 ) -> dict[str, object] | None:
    """A log TARGET must hold a log (and the run named by --run, and a good --map): the
    LogsError says what to give instead. Returns the log's options for the TUI, None when
    TARGET is no log (--run and --map then are refused)."""
    from advisor.tui.logs import is_log_path

    if not target or not is_log_path(target):
        for flag, value in (("--run", run), ("--map", map_text)):
            if value is not None:
                raise UsageError(f"{flag} goes with a training log TARGET (a log folder or "
                                 f"file, as `advisor logs` reads); expected {EXPECTED}.")
        return None
    from advisor.logs.errors import LogsError
    from advisor.logs.run import parse_mapping
    from advisor.tui.logs import check_run, find_runs

    mapping = parse_mapping(map_text)
    path = Path(target).expanduser()
    try:
        runs = find_runs(path, mapping)
    except LogsError as exc:
        if not path.is_dir():
            raise
        raise LogsError(f"{exc}. ({target} is a directory, so it was read as a training log; "
                        f"`advisor tui` also takes {NOT_A_LOG}.)") from None
    if run is not None:
        check_run(runs, run, target)
    return {"run": run, "mapping": mapping}


def check_watch(line: str) -> None:
    """A script to watch that is not there (or a line that cannot be split) is refused now."""
    from advisor.tui.watching import problem_with

    problem = problem_with(line)
    if problem:
        raise UsageError(f"--watch {problem}")
