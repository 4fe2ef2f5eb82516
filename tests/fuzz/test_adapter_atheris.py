"""A bounded coverage-guided fuzzing session of the vendor parsers, seeded with the captured
payloads: libFuzzer exits non-zero with the crashing input if any parser raises anything other
than AdapterError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingest.adapters import ADAPTERS
from ingest.adapters.capture import is_request, parse_request

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_atheris_finds_no_crash_in_the_vendor_parsers(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = sorted(ADAPTERS)
    for sample in (ROOT / "tests/fixtures/vendor").iterdir():
        fmt = sample.name.split("_", 1)[0]
        if sample.is_file() and sample.suffix in {".json", ".xml", ".http"} and fmt in names:
            # The first three bytes pick the adapter, the content type (none: told by the body)
            # and the zone (Europe/Brussels) in the fuzz target; the body of a capture follows.
            data = sample.read_bytes()
            body = parse_request(data).body if is_request(data) else data
            (corpus / sample.name).write_bytes(bytes([names.index(fmt), 0, 1]) + body)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/fuzz/fuzz_adapters.py"),
            "-runs=20000",
            "-max_len=8192",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done 20000 runs" in result.stderr
