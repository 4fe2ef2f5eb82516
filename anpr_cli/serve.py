"""`anpr run|ingest|matcher|api|notify|archive`: build each process's settings, bus and apps,
and serve them.

`anpr run` composes all the services (gateway, matcher, API, notify, read archive) on one bus:
the in-process one when `ANPR_KAFKA_BOOTSTRAP` is unset (embedded default), Kafka otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from anpr.auth import new_token
from anpr.bus.base import Bus
from anpr.bus.factory import make_bus, start_bus
from anpr.bus.local import LocalBus
from anpr.datadir import claim_data_dir, secure_data_dir
from anpr.errors import AnprError
from anpr.settings import CommonSettings
from anpr.topics import Topics
from anpr_cli.bus_retention import retention_loop
from anpr_cli.roles import base_settings, services
from anpr_cli.serving import Endpoint, serve_all

log = logging.getLogger(__name__)

DEV_TOKEN_FILE = "dev-admin-token"  # noqa: S105 - a file name


def dev_admin_token(data_dir: Path) -> str:
    """The development admin token of this data directory, created on first use."""
    path = data_dir / DEV_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    secure_data_dir(data_dir)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def _compose(command: str) -> tuple[CommonSettings, Bus, list[Endpoint], str]:
    served = services(command)
    base = base_settings(served)
    secure_data_dir(base.data_dir)
    if command == "run" and base.admin_token is None and base.environment == "production":
        # A token written to disk and printed to the terminal is for trying the system out; in
        # production an admin is made with `anpr admin token admin` (or ANPR_ADMIN_TOKEN set).
        log.warning("production: no development admin token; create one: anpr admin token admin")
    elif command == "run" and base.admin_token is None:
        token = SecretStr(dev_admin_token(base.data_dir))
        served = [service.with_admin_token(token) for service in served]
        base = base_settings(served)
        print(
            f"Development admin token (stored in {base.data_dir / DEV_TOKEN_FILE}):\n"
            f"    {token.get_secret_value()}\n"
            "Set ANPR_ADMIN_TOKEN to choose your own.",
            file=sys.stderr,
            flush=True,
        )
    bus = make_bus(base, client_id=f"anpr-{command}")
    endpoints = [service.endpoint(bus, base.host) for service in served]
    mode = f"Kafka at {base.kafka_bootstrap}" if base.kafka_mode else "the in-process bus"
    return base, bus, endpoints, mode


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """uvloop where installed (it is with uvicorn[standard]): uvicorn only picks it itself in
    `Server.run()`, which `serve_all` does not use."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def serve_command(command: str) -> int:
    try:
        _event_loop_runner()(_run(command))
    except ValidationError as exc:
        print(f"invalid settings:\n{exc}", file=sys.stderr)
        return 2
    except AnprError as exc:
        print(f"anpr {command}: {exc}", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def embedded_claim(base: CommonSettings, command: str = "run") -> Iterator[None]:
    """In embedded mode, the data directory for this process alone (`claim_data_dir`); with
    Kafka the bus is elsewhere, and processes on one host may share the directory."""
    if base.kafka_mode:
        yield
        return
    with claim_data_dir(base.data_dir, command):
        yield


async def _run(command: str) -> None:
    base, bus, endpoints, mode = _compose(command)
    with embedded_claim(base, command):
        await _serve(command, base, bus, endpoints, mode)


async def _serve(
    command: str, base: CommonSettings, bus: Bus, endpoints: list[Endpoint], mode: str
) -> None:
    log.info("anpr %s on %s", command, mode)
    await start_bus(bus)
    background = []
    if isinstance(bus, LocalBus):
        specs = Topics.from_prefix(base.topic_prefix).specs(base)

        async def retention(stop: asyncio.Event) -> None:
            await retention_loop(bus, specs, stop)

        background.append(retention)
    try:
        await serve_all(
            endpoints,
            background=background,
            log_level=base.log_level,
            header_timeout_s=base.http_header_timeout_s,
            body_timeout_s=base.http_body_timeout_s,
        )
    finally:
        await bus.stop()
