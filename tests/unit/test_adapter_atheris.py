"""A bounded coverage-guided fuzzing session of the vendor parsers, seeded with the captured
payloads: libFuzzer exits non-zero with the crashing input if any parser raises anything other
than AdapterError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_atheris_finds_no_crash_in_the_vendor_parsers(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for sample in (ROOT / "tests/fixtures/vendor").iterdir():
        if sample.is_file() and sample.suffix in {".json", ".xml", ".http"}:
            # The first byte picks the adapter and the content type in the fuzz target.
            (corpus / sample.name).write_bytes(b"\x00\x00\x00" + sample.read_bytes())
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
