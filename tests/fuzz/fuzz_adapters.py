"""Coverage-guided fuzzing (atheris/libFuzzer) of the vendor payload parsers.

Every adapter must turn any bytes, under any content type, into an AdapterResult or raise
AdapterError: any other exception is a crash libFuzzer reports with the input that caused it.

    python tests/fuzz/fuzz_adapters.py -runs=100000 tests/fixtures/vendor   # a longer session
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from ingest.adapters import ADAPTERS, AdapterError

NAMES = sorted(ADAPTERS)
CONTENT_TYPES = [
    None,
    "application/json",
    "application/xml",
    "text/xml",
    "multipart/form-data; boundary=MIME_boundary",
    "multipart/mixed; boundary=boundary",
    "application/x-www-form-urlencoded",
    "text/plain",
]


ZONES = ["UTC", "Europe/Brussels", "Nowhere/Land", None]


def one_input(data: bytes) -> None:
    """The first three bytes pick the adapter, the content type and the camera's zone (so a seed
    `bytes([NAMES.index(fmt), 0, 1]) + sample` starts on its own adapter); the rest is the body."""
    if len(data) < 3:
        return
    adapter = ADAPTERS[NAMES[data[0] % len(NAMES)]]
    content_type = CONTENT_TYPES[data[1] % len(CONTENT_TYPES)]
    tz = ZONES[data[2] % len(ZONES)]
    with contextlib.suppress(AdapterError):
        adapter.parse(data[3:], content_type, camera_tz=tz)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
