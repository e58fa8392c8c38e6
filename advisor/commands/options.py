"""What several commands share: the `--kb` option, knowledge folders checked before any work,
output paths checked before any work, and number arguments that must be positive and finite.

Imports nothing heavy (no torch, no textual): every command's `add_arguments` uses it.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from advisor.errors import AdvisorError, UsageError

if TYPE_CHECKING:
    from advisor.kb import KnowledgeBase


def add_kb_option(parser: argparse.ArgumentParser) -> None:
    """`--kb DIR` (repeatable). Each command adds it once, here, so it reads the same everywhere."""
    parser.add_argument("--kb", action="append", default=[], metavar="DIR",
                        help="extra knowledge directory or file (repeatable; also "
                             "ADVISOR_KB_PATH, separated by ':')")


def kb_dirs(args: argparse.Namespace) -> list[str]:
    """The knowledge folders a command was given: every `--kb`, then positional DIRs if any."""
    return list(getattr(args, "kb", None) or []) + list(getattr(args, "dirs", None) or [])


def check_knowledge(dirs: Sequence[str]) -> KnowledgeBase:
    """Load the knowledge base (built-in, DIRS and ADVISOR_KB_PATH) before a command does any
    work, so that a missing or broken folder stops it at once (exit 2, every problem with its
    file:line) instead of after a whole probe that then cannot diagnose. Returns the base, for
    a command that diagnoses at once."""
    from advisor.kb import KBError, load_kb

    try:
        return load_kb(list(dirs), check_examples=False)
    except KBError as exc:
        raise UsageError("the knowledge base has problems:\n"
                         + "\n".join(str(p) for p in exc.problems)
                         + "\nFix them (`advisor kb validate DIR` lists them) or leave the "
                           "folder out of --kb / ADVISOR_KB_PATH.") from None


def check_output_path(option: str, path: str | os.PathLike[str] | None) -> None:
    """One rule for every file a command writes: its folder must already exist. Refused before
    any work (a long probe must not end in "cannot write"), and never created silently (a typo
    in a path would otherwise scatter folders)."""
    if not path:
        return
    text = os.fspath(path)
    if os.path.isdir(text):
        raise UsageError(f"{option} {text}: is a directory; give a file path inside it, "
                         f"e.g. {os.path.join(text, 'report')}")
    folder = os.path.dirname(os.path.abspath(text))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"{option} {text}: {folder} is a file, not a folder; choose a path "
                         "in an existing folder")
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {text}: the folder {folder} does not exist; create it "
                         "first (mkdir -p) or choose a path in an existing folder")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (`--steps`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give a positive "
                                         "integer such as 100") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def positive_seconds(text: str) -> float:
    """argparse type: a finite number of seconds above 0 (`--budget`). `inf` and `nan` are
    refused here: the probe divides its budget between phases and cannot share out infinity."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; give a "
                                         "positive number such as 30") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds (got {text}); "
                                         "give a positive number such as 30")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive (got {text}); give a number of "
                                         "seconds such as 30")
    return value


def write_outputs(args: argparse.Namespace, report: Any) -> tuple[list[str], list[str]]:
    """Write every file asked for (--json, --markdown, --html); one that cannot be written
    does not stop the others.

    Returns the paths written and one message per file that failed, for the caller to print.
    """
    written, failed = [], []
    for path, write in ((args.json, report.write_json), (args.markdown, report.write_markdown),
                        (args.html, report.write_html)):
        if not path:
            continue
        try:
            write(path)
        except OSError as exc:
            failed.append(f"{path}: cannot write the report: {exc.strerror or exc}")
        else:
            written.append(str(path))
    return written, failed


def speaking_as(name: str, body: Callable[[argparse.Namespace], int],
                args: argparse.Namespace) -> int:
    """Run a command's body; an AdvisorError it raises is printed as `advisor NAME: message`
    (so a person sees which command refused) and its exit code returned."""
    try:
        return body(args)
    except AdvisorError as exc:
        print(f"advisor {name}: {exc}", file=sys.stderr)
        return exc.exit_code


def add_log_selection(parser: argparse.ArgumentParser, *, several: str) -> None:
    """`--run NAME` and `--map ROLE=TAG,...`, as every command that reads logs takes them;
    SEVERAL says what happens to a folder of several runs without --run."""
    parser.add_argument("--run", metavar="NAME",
                        help="only the run of this name (a folder under PATH, as listed when "
                             f"PATH holds several; without --run, {several})")
    parser.add_argument("--map", metavar="ROLE=TAG,...",
                        help="which logged tag or column plays which role, e.g. "
                             "--map loss=train/loss,lr=lr-Adam,val_loss=eval/loss "
                             "(roles: loss, val_loss, lr, grad_norm, epoch, val_metric; and "
                             "step for a table's step column); common names are found without")
