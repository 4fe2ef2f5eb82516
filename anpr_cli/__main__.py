"""`python -m anpr_cli` runs the `anpr` command (as does `python -m anpr`)."""

import sys

from anpr_cli import main

sys.exit(main())
