"""The `anpr` tools exit as the services do (docs/operations.md): 1 when the broker cannot be
reached (an operational failure a retry may cure), 2 for a command line or settings that are
wrong. A script or a deployment job that tells "try again later" from "fix the command" by the
status must get the same answer from `anpr admin` as from `anpr run`."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import anpr_cli.admin
import anpr_cli.hotlist
from anpr.bus.factory import start_bus
from anpr_cli import main
from tests.support.ports import free_port


@pytest.fixture
def unreachable_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kafka mode on a loopback port nobody listens on, retried without the 2 s pauses."""
    for name in ("ANPR_DATABASE_URL", "ANPR_ADMIN_TOKEN", "ANPR_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANPR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANPR_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    fast = functools.partial(start_bus, delay_s=0.0)
    monkeypatch.setattr(anpr_cli.admin, "start_bus", fast)
    monkeypatch.setattr(anpr_cli.hotlist, "start_bus", fast)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["admin", "tokens"], id="admin-tokens"),
        pytest.param(["admin", "token", "auditor", "--name", "a"], id="admin-token"),
        pytest.param(["admin", "format", "list"], id="admin-format"),
        pytest.param(["hotlist", "load", "stolen", "LIST"], id="hotlist-load"),
    ],
)
@pytest.mark.usefixtures("unreachable_broker")
def test_an_unreachable_broker_exits_1_as_the_services_do(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = tmp_path / "list.csv"
    entries.write_text("entry_id,plate\ne1,AB123\n", encoding="utf-8")
    argv = [str(entries) if word == "LIST" else word for word in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"anpr {argv[0]}: cannot connect to Kafka" in err, err
