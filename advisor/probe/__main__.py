"""`python -m advisor.probe SETUP [options]`: the same as `advisor probe`."""

import sys

from advisor.probe.cli import main

sys.exit(main())
