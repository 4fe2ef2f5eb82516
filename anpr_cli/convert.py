"""`anpr convert FORMAT FILE` and `anpr convert --mapping MAPPING FILE`: the canonical reads of a
captured vendor payload, as NDJSON on stdout, with every problem explained on stderr.

With `--mapping`, the mapping file (YAML or JSON) is checked exactly as `PUT /v1/formats/{name}`
checks it, then run on the payload: a mapping can be tried before anything is registered.
"""

from __future__ import annotations

import sys
from pathlib import Path

from anpr.formats import FormatMapping, validate_mapping
from anpr.formats.load import MappingFileError, load_mapping_text
from ingest.adapters import ADAPTERS
from ingest.adapters.convert import convert
from ingest.adapters.errors import AdapterError
from ingest.adapters.mapping import MappingAdapter


def _read(file: str) -> bytes:
    return sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()


def _mapping(file: str) -> MappingAdapter | None:
    try:
        data = load_mapping_text(Path(file).read_bytes(), Path(file).suffix)
    except (OSError, MappingFileError) as exc:
        print(f"cannot read the mapping {file}: {exc}", file=sys.stderr)
        return None
    name = data.get("name") if isinstance(data, dict) else None
    found = validate_mapping(data, name=name if isinstance(name, str) else "mapping")
    if not isinstance(found, FormatMapping):
        for error in found:
            print(f"mapping {error['field']}: {error['message']}", file=sys.stderr)
        return None
    return MappingAdapter(found)


def convert_command(
    fmt: str | None, file: str, *, mapping: str | None = None, camera_tz: str | None = None
) -> int:
    adapter = _mapping(mapping) if mapping else None
    if mapping and adapter is None:
        return 2
    if adapter is None and fmt not in ADAPTERS:
        print(f"unknown format {fmt!r}; one of: {', '.join(sorted(ADAPTERS))}", file=sys.stderr)
        return 2
    try:
        data = _read(file)
    except OSError as exc:
        print(f"cannot read {file}: {exc}", file=sys.stderr)
        return 2
    try:
        name = adapter.name if adapter else str(fmt)
        result = convert(name, data, camera_tz=camera_tz, adapter=adapter)
    except AdapterError as exc:
        print(f"{exc}", file=sys.stderr)
        return 1
    sys.stdout.write(result.ndjson().decode())
    for line in result.explanations():
        print(line, file=sys.stderr)
    # No read from the payload is a failure, problems explained or not (integrators.md).
    return 0 if result.reads else 1
