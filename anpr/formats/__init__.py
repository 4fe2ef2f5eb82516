"""Declarative vendor mappings: the language (`spec`), its paths (`paths`) and registry keys.

A mapping lets a brand without a built-in adapter push to `POST /v1/ingest/{name}`. It is
registered by an administrator, carried on the registry topic under `format/<name>` like cameras,
and interpreted by the gateway (`ingest.adapters.mapping`).
"""

from __future__ import annotations

from anpr.formats.paths import PathError
from anpr.formats.spec import (
    BUILTIN_FORMATS,
    FormatMapping,
    check_name,
    describe,
    validate_mapping,
)


def format_key(name: str) -> str:
    return f"format/{name}"


__all__ = [
    "BUILTIN_FORMATS",
    "FormatMapping",
    "PathError",
    "check_name",
    "describe",
    "format_key",
    "validate_mapping",
]
