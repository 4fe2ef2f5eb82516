"""`python -m anpr` runs the CLI."""

import sys

from anpr.cli import main

sys.exit(main())
