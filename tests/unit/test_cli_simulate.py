"""`anpr simulate` refuses settings it cannot run with before it sends anything, on stderr (its
summary and `--show-hits` lines are what stdout is for, and may be piped to a file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anpr_cli import main


@pytest.mark.parametrize(
    ("options", "said"),
    [
        pytest.param(["--hit-share", "2"], "hit share must be from 0 to 1", id="hit-share"),
        pytest.param(["--rate", "0"], "rate must be positive", id="rate"),
        pytest.param(["--cameras", "0"], "at least one camera", id="cameras"),
        pytest.param(["--no-setup"], "integrator token is needed", id="no-setup"),
    ],
)
def test_a_setting_simulate_cannot_run_with_is_said_on_stderr(
    options: list[str],
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANPR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ANPR_ADMIN_TOKEN", raising=False)
    assert main(["simulate", *options]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("anpr simulate: ") and said in err, err
