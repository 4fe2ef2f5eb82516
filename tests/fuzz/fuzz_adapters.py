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


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    adapter = ADAPTERS[NAMES[provider.ConsumeIntInRange(0, len(NAMES) - 1)]]
    content_type = CONTENT_TYPES[provider.ConsumeIntInRange(0, len(CONTENT_TYPES) - 1)]
    tz = ["UTC", "Europe/Brussels", "Nowhere/Land", None][provider.ConsumeIntInRange(0, 3)]
    body = provider.ConsumeBytes(provider.remaining_bytes())
    with contextlib.suppress(AdapterError):
        adapter.parse(body, content_type, camera_tz=tz)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
