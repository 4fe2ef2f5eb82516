"""`python -m anpr` runs the `anpr` command, whose code is the composition root `anpr_cli`.

The one place the kernel names the CLI: an entry point that nothing imports, kept so that
`python -m anpr` goes on working (the tests and the docs start the services that way). The
import-linter contract "the kernel imports no service and no CLI" lists it as its only ignored
import (pyproject.toml)."""

import sys

from anpr_cli import main

sys.exit(main())
