"""`anpr run|ingest|matcher|api|notify|archive` build the settings of the services they serve and
no others (anpr_cli/roles.py): a setting one service rejects cannot refuse another's start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from anpr_cli.roles import BUILDERS, base_settings, services
from anpr_cli.serve import _compose
from api.archive.settings import ArchiveSettings
from api.settings import ApiSettings
from ingest.settings import GatewaySettings
from matcher.settings import MatcherSettings
from notify.settings import NotifySettings

PORT_VARS = {
    "ingest": "ANPR_INGEST_PORT",
    "matcher": "ANPR_MATCHER_PORT",
    "api": "ANPR_API_PORT",
    "notify": "ANPR_NOTIFY_PORT",
    "archive": "ANPR_ARCHIVE_PORT",
}
OWN_PORT = 18181


def only_own_port_valid(monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """Every other service's port is a value its settings class rejects."""
    for other, var in PORT_VARS.items():
        monkeypatch.setenv(var, str(OWN_PORT) if other == command else "not-a-port")


@pytest.mark.parametrize(
    ("command", "name", "settings_class"),
    [
        pytest.param("ingest", "gateway", GatewaySettings, id="ingest"),
        pytest.param("matcher", "matcher", MatcherSettings, id="matcher"),
        pytest.param("api", "api", ApiSettings, id="api"),
        pytest.param("notify", "notify", NotifySettings, id="notify"),
        pytest.param("archive", "archive", ArchiveSettings, id="archive"),
    ],
)
def test_a_single_service_process_reads_its_own_settings_only(
    monkeypatch: pytest.MonkeyPatch, command: str, name: str, settings_class: type
) -> None:
    only_own_port_valid(monkeypatch, command)
    (service,) = services(command)
    assert service.name == name
    assert type(service.settings) is settings_class
    assert service.port == OWN_PORT
    assert base_settings([service]) is service.settings


@pytest.mark.parametrize("broken", list(PORT_VARS))
def test_run_reads_every_services_settings_so_any_invalid_one_refuses_it(
    monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    monkeypatch.setenv(PORT_VARS[broken], "not-a-port")
    with pytest.raises(ValidationError, match=f"{broken}_port"):
        services("run")


def test_run_serves_all_five_on_the_api_settings() -> None:
    served = services("run")
    assert [s.name for s in served] == ["gateway", "matcher", "api", "notify", "archive"]
    assert list(BUILDERS) == ["ingest", "matcher", "api", "notify", "archive"]
    assert base_settings(served) is served[2].settings
    assert len({s.port for s in served}) == 5


def test_the_dev_admin_token_replaces_the_token_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANPR_MATCHER_PORT", str(OWN_PORT))
    monkeypatch.delenv("ANPR_ADMIN_TOKEN", raising=False)
    (service,) = services("matcher")
    token = SecretStr("dev-token-for-the-test")
    with_token = service.with_admin_token(token)
    assert with_token.settings.admin_token == token
    assert with_token.settings.model_dump(exclude={"admin_token"}) == service.settings.model_dump(
        exclude={"admin_token"}
    )
    assert service.settings.admin_token is None  # the original is left as it was


async def test_anpr_ingest_composes_with_the_other_services_settings_invalid(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANPR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ANPR_KAFKA_BOOTSTRAP", raising=False)
    only_own_port_valid(monkeypatch, "ingest")
    base, bus, endpoints, mode = _compose("ingest")
    try:
        assert isinstance(base, GatewaySettings)
        assert [(e.name, e.port) for e in endpoints] == [("gateway", OWN_PORT)]
        assert mode == "the in-process bus"
    finally:
        await bus.stop()


async def test_run_in_production_makes_no_development_admin_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANPR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ANPR_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("ANPR_ADMIN_TOKEN", raising=False)
    for environment, made in (("production", False), ("development", True)):
        monkeypatch.setenv("ANPR_ENVIRONMENT", environment)
        base, bus, _, _ = _compose("run")
        try:
            assert (base.admin_token is not None) is made, environment
            assert (tmp_path / "dev-admin-token").exists() is made, environment
            assert ("Development admin token" in capsys.readouterr().err) is made, environment
        finally:
            await bus.stop()
