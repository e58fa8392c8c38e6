"""`python -m advisor.probing SETUP [options]`: the same as `advisor probe`."""

import sys

from advisor.probing.cli import main

sys.exit(main())
