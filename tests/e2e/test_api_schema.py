"""The API's OpenAPI schema, fuzzed by schemathesis against the running embedded service: no
request it generates gets a 5xx, and every response matches the schema it documents."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.support.ports import free_port


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("schema")
    ports = {
        "ingest": free_port(),
        "api": free_port(),
        "matcher": free_port(),
        "archive": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    env.update(
        {
            "ANPR_DATA_DIR": str(data),
            "ANPR_INGEST_PORT": str(ports["ingest"]),
            "ANPR_API_PORT": str(ports["api"]),
            "ANPR_MATCHER_PORT": str(ports["matcher"]),
            "ANPR_NOTIFY_PORT": str(free_port()),
            "ANPR_ARCHIVE_PORT": str(ports["archive"]),
        }
    )
    log = data / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anpr", "run"], env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{ports['api']}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        token = re.search(r"Development admin token.*\n\s+(\S+)", log.read_text())
        assert token, log.read_text()
        yield base, token.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def api_schema(embedded: tuple[str, str]) -> Any:
    base, _ = embedded
    # The stream never ends by design; it is exercised by its own tests.
    return schemathesis.openapi.from_url(f"{base}/openapi.json").exclude(path="/v1/hits/stream")


def test_api_conforms_to_its_schema(api_schema: Any, embedded: tuple[str, str]) -> None:
    _, token = embedded
    failures: list[str] = []
    operations = 0
    calls: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: Any) -> None:
            calls.append(case.path)
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
                timeout=10,
            )

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert operations >= 15
    assert len(calls) >= operations * 5, "schemathesis generated too few requests"
    assert not failures, "\n\n".join(failures)
