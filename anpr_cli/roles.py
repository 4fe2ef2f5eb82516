"""The services a process can serve (`anpr run|ingest|matcher|api|notify|archive`): for each,
its settings, its port and its app factory.

A process builds the settings of the services it serves and no others: `anpr ingest` reads
`GatewaySettings` only, so an API or matcher setting it never uses cannot refuse its start. The
services are imported here, inside each builder, so a command imports only its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from fastapi import FastAPI
from pydantic import SecretStr

from anpr.bus.base import Bus
from anpr.settings import CommonSettings
from anpr_cli.serving import Endpoint

S = TypeVar("S", bound=CommonSettings)


@dataclass(frozen=True, slots=True)
class Service(Generic[S]):
    """One service of a process: `name` is how logs and the start-up banner call it."""

    name: str
    settings: S
    port: int
    create_app: Callable[[S, Bus], FastAPI]

    def with_admin_token(self, token: SecretStr) -> Service[S]:
        return replace(self, settings=self.settings.model_copy(update={"admin_token": token}))

    def endpoint(self, bus: Bus, host: str) -> Endpoint:
        """Log the settings (secrets masked) and build the app on `bus`."""
        self.settings.log_startup(self.name)
        return Endpoint(self.create_app(self.settings, bus), host, self.port, self.name)


def _gateway() -> Service[Any]:
    from ingest.app import create_app
    from ingest.settings import GatewaySettings

    settings = GatewaySettings()
    return Service("gateway", settings, settings.ingest_port, create_app)


def _matcher() -> Service[Any]:
    from matcher.app import create_app
    from matcher.settings import MatcherSettings

    settings = MatcherSettings()
    return Service("matcher", settings, settings.matcher_port, create_app)


def _api() -> Service[Any]:
    from api.app import create_app
    from api.settings import ApiSettings

    settings = ApiSettings()
    return Service("api", settings, settings.api_port, create_app)


def _notify() -> Service[Any]:
    from notify.app import create_app
    from notify.settings import NotifySettings

    settings = NotifySettings()
    return Service("notify", settings, settings.notify_port, create_app)


def _archive() -> Service[Any]:
    from api.archive.app import create_app
    from api.archive.settings import ArchiveSettings

    settings = ArchiveSettings()
    return Service("archive", settings, settings.archive_port, create_app)


# Command -> builder; `anpr run` serves them all, in this order.
BUILDERS: dict[str, Callable[[], Service[Any]]] = {
    "ingest": _gateway,
    "matcher": _matcher,
    "api": _api,
    "notify": _notify,
    "archive": _archive,
}


def services(command: str) -> list[Service[Any]]:
    """The services of `command` (`run` or one of `BUILDERS`), each with its settings read from
    the environment now (pydantic's `ValidationError` when one is invalid)."""
    names = list(BUILDERS) if command == "run" else [command]
    return [BUILDERS[name]() for name in names]


def base_settings(served: list[Service[Any]]) -> CommonSettings:
    """The settings the process itself runs on (data dir, bus, host, log level, HTTP timeouts):
    the API's under `anpr run`, else the one service's."""
    base: CommonSettings = next((s.settings for s in served if s.name == "api"), served[0].settings)
    return base
