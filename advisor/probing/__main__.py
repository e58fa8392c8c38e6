"""`python -m advisor.probing SETUP [options]`: the same as `advisor probe`, exit codes included."""

import sys

from advisor.cli import main

sys.exit(main(["probe", *sys.argv[1:]]))
