"""Checks of the deploy artefacts that need system tools (promtool: `make tools`)."""
