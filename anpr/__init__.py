"""Shared kernel of the ANPR hit-stream service: models, normalization, settings, bus, CLI."""

__version__ = "0.1.0"
