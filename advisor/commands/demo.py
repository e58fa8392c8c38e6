"""`advisor demo`: the probe on a bundled example with a real fault (no files needed)."""

from __future__ import annotations

import argparse
import sys

from advisor.commands.probe import add_probe_options, probe_spec

DEMO_SETUP = "advisor.probing.demo_setup:setup"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The probe's options, with a smaller default run: the demo should finish in seconds."""
    add_probe_options(parser, steps=100, budget=10.0)


def run(args: argparse.Namespace) -> int:
    if not args.quiet:
        print("advisor demo: probing a bundled digits classifier that has a real fault "
              "(see advisor/probing/demo_setup.py)", file=sys.stderr)
    return probe_spec(args, DEMO_SETUP)
