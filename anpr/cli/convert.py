"""`anpr convert FORMAT FILE`: the canonical reads of a captured vendor payload, as NDJSON on
stdout, with every problem explained on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

from ingest.adapters import ADAPTERS
from ingest.adapters.convert import convert
from ingest.adapters.errors import AdapterError


def convert_command(fmt: str, file: str) -> int:
    if fmt not in ADAPTERS:
        print(f"unknown format {fmt!r}; one of: {', '.join(sorted(ADAPTERS))}", file=sys.stderr)
        return 2
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        print(f"cannot read {file}: {exc}", file=sys.stderr)
        return 2
    try:
        result = convert(fmt, data)
    except AdapterError as exc:
        print(f"{exc}", file=sys.stderr)
        return 1
    sys.stdout.write(result.ndjson().decode())
    for line in result.explanations():
        print(line, file=sys.stderr)
    # No read from the payload is a failure, problems explained or not (integrators.md).
    return 0 if result.reads else 1
