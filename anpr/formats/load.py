"""Reading a mapping document: JSON or YAML text to plain data, bounded, safely.

YAML goes through PyYAML's `safe_load` (no Python objects, no tags that run code), so the API,
`anpr admin format put` and `anpr convert --mapping` accept the same files.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from anpr.errors import AnprError

MAX_MAPPING_BYTES = 64 * 1024
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


class MappingFileError(AnprError):
    """A mapping document that is not JSON or YAML, or is too large."""


def load_mapping_text(data: bytes, hint: str | None = None) -> Any:
    """Decode a mapping; `hint` is a media type or a file suffix (`.yaml`); JSON is tried first
    when nothing says YAML (JSON is YAML anyway, but its error messages are clearer)."""
    if len(data) > MAX_MAPPING_BYTES:
        raise MappingFileError(f"a mapping is at most {MAX_MAPPING_BYTES // 1024} KiB")
    hint = (hint or "").split(";")[0].strip().lower()
    yaml_first = hint in YAML_TYPES or hint in (".yaml", ".yml")
    if not yaml_first:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if hint.endswith("json"):
                raise MappingFileError(f"not valid JSON: {exc}") from exc
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise MappingFileError(f"neither JSON nor YAML: {exc}") from exc
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # PyYAML's constructors raise these for a tagged or implicit value they cannot build:
        # `!!bool maybe`, a date 2026-13-45, an integer of 5,000 digits.
        raise MappingFileError(f"not a YAML value this reads: {exc}") from exc
