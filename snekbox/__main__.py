"""`python -m snekbox`: the same as the `snekbox` command (snekbox/cli.py)."""

import sys

from snekbox.cli import main

sys.exit(main())
