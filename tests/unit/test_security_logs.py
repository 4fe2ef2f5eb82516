"""Issue 11, item 9: logs ops can use, and slow clients time out.

One format for app and uvicorn (text or JSON lines), `ANPR_LOG_LEVEL` on every logger, a
traceback on one JSON line, a 4xx/5xx access log with request ids but no token and no plate, and
header/body timeouts on the HTTP server against slowloris."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import uvicorn
from aiokafka.errors import NotLeaderForPartitionError, TopicAuthorizationFailedError
from fastapi import FastAPI, Request

from anpr.accesslog import request_id_of
from anpr.httptimeouts import http_protocol
from anpr.logs import JsonFormatter, TextFormatter, configure_logging
from tests.support.ports import free_port
from tests.unit.api_fixtures import make_hit, running_api
from tests.unit.test_notify_deliver import Harness
from tests.unit.test_notify_routing import target


@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield None
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _record(msg: str, *, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("anpr.x", logging.ERROR, __file__, 1, msg, (), exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_carry_the_fields_and_tracebacks_stay_on_one_line() -> None:
    line = JsonFormatter().format(
        _record("failed", exc=True, request_id="r1", route="/v1/x", status=500)
    )
    assert "\n" not in line
    data = orjson.loads(line)
    assert data["level"] == "ERROR" and data["logger"] == "anpr.x"
    assert data["message"] == "failed"
    assert data["timestamp"].endswith("+00:00")
    assert (data["request_id"], data["route"], data["status"]) == ("r1", "/v1/x", 500)
    assert "ValueError: boom" in data["exc_info"]


def test_text_lines_append_the_request_fields() -> None:
    line = TextFormatter().format(_record("GET /v1/x 404", route="/v1/x", status=404))
    assert line.endswith("[route=/v1/x status=404]")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_one_handler_for_every_logger_at_the_configured_level(
    fmt: str, restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("WARNING", fmt)  # type: ignore[arg-type]
    for name in ("uvicorn.error", "uvicorn.access", "aiokafka", "anpr.x"):
        logger = logging.getLogger(name)
        assert logger.getEffectiveLevel() == logging.WARNING, name
        assert not logger.handlers, name
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    logging.getLogger("anpr.x").warning("from the app")
    configure_logging("INFO", fmt)  # type: ignore[arg-type]
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://x (Press CTRL+C)")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2  # the lifecycle line is dropped
    if fmt == "json":
        assert [orjson.loads(x)["logger"] for x in lines] == ["uvicorn.error", "anpr.x"]
    else:
        assert " WARNING uvicorn.error: from uvicorn" in lines[0]
        assert " WARNING anpr.x: from the app" in lines[1]


async def test_access_log_of_failures_without_tokens_or_plates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_api() as api:
        caplog.set_level(logging.INFO, logger="anpr.access")
        token = "not-a-valid-token-abcdefghijklmnop"
        refused = await api.client.get(
            "/v1/hits?plate=SECRET123&reason=case",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42"},
        )
        assert refused.status_code == 401
        assert refused.headers["x-request-id"] == "req-42"
        ok = await api.client.get("/v1/hits", headers=api.auth("operator"))
        assert ok.status_code == 200
        assert ok.headers["x-request-id"]
        missing = await api.client.get("/v1/hits/nope", headers=api.auth("operator"))
        assert missing.status_code == 404
        records = [r for r in caplog.records if r.name == "anpr.access"]
        assert [(r.route, r.status) for r in records] == [  # type: ignore[attr-defined]
            ("/v1/hits", 401),
            ("/v1/hits/{hit_id}", 404),
        ]
        assert records[0].request_id == "req-42"  # type: ignore[attr-defined]
        text = "\n".join(JsonFormatter().format(r) for r in records)
        assert token not in text and "SECRET123" not in text and "nope" not in text


# --- slowloris ---------------------------------------------------------------------------------


@pytest.fixture
async def timed_server() -> AsyncIterator[int]:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="off",
            http=http_protocol(header_timeout_s=0.5, body_timeout_s=0.5),
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    yield port
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


async def _read_all(reader: asyncio.StreamReader, timeout_s: float) -> bytes:
    return await asyncio.wait_for(reader.read(), timeout_s)


async def test_a_slow_header_is_cut_with_408(timed_server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", timed_server)
    started = asyncio.get_running_loop().time()
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\n")
    answer = b""
    for _ in range(15):  # one header line every 0.2 s: the headers never end
        try:
            answer = await asyncio.wait_for(reader.read(64), 0.2)
            break
        except TimeoutError:
            writer.write(b"X-Slow: 1\r\n")
    assert answer.startswith(b"HTTP/1.1 408")
    assert asyncio.get_running_loop().time() - started < 2.0
    writer.close()


async def test_a_connection_that_never_sends_is_closed(timed_server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", timed_server)
    assert (await _read_all(reader, 3)).startswith(b"HTTP/1.1 408")
    writer.close()


async def test_a_slow_body_is_cut(timed_server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", timed_server)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
    await writer.drain()
    answer = await _read_all(reader, 3)  # closed by the server: EOF well before 3 s
    assert b"200" not in answer
    writer.close()


async def test_a_normal_request_and_keep_alive_still_work(timed_server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", timed_server)
    for _ in range(2):
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(
            next(
                ln.split(b":")[1]
                for ln in head.split(b"\r\n")
                if ln.lower().startswith(b"content-length")
            )
        )
        assert orjson.loads(await reader.readexactly(length)) == {"bytes": 3}
        await asyncio.sleep(0.3)  # under the header timeout, between requests
    writer.close()


async def test_oversize_headers_are_refused(timed_server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", timed_server)
    writer.write(b"GET /echo HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    assert (await _read_all(reader, 3)).startswith(b"HTTP/1.1 400")
    writer.close()


@pytest.mark.parametrize(
    ("error", "level"),
    [(NotLeaderForPartitionError(), "WARNING"), (TopicAuthorizationFailedError(), "ERROR")],
    ids=["retried", "not-retriable"],
)
def test_kafka_errors_aiokafka_retries_itself_are_warnings(
    error: Exception, level: str, restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("aiokafka.consumer.fetcher").error(
        "Failed fetch offsets from %s: %s", 1, error
    )
    logging.getLogger("anpr.x").error("Failed fetch offsets from %s: %s", 1, error)
    lines = [orjson.loads(x) for x in capsys.readouterr().err.strip().splitlines()]
    assert [(x["logger"], x["level"]) for x in lines] == [
        ("aiokafka.consumer.fetcher", level),
        ("anpr.x", "ERROR"),
    ]
    assert lines[0]["message"].startswith("Failed fetch offsets from 1: ")


def test_request_ids_are_the_callers_when_safe_else_new_and_distinct() -> None:
    assert request_id_of([(b"host", b"x"), (b"x-request-id", b"req-42")]) == "req-42"
    made = {request_id_of([(b"x-request-id", b"bad id; drop table")]) for _ in range(1000)}
    made |= {request_id_of([]) for _ in range(1000)}
    assert len(made) == 2000
    assert all(re.fullmatch(r"[0-9a-f]{16}", rid) for rid in made)


async def test_webhook_urls_are_not_logged_with_their_query(
    restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # Partners often put a token in their webhook URL's query. httpx logs every request's URL
    # at INFO ("HTTP Request: POST https://...?token=..."), which was the default level.
    httpx_logger = logging.getLogger("httpx")
    saved = httpx_logger.level
    try:
        configure_logging("INFO", "text")
        url = "https://hooks.partner.example/anpr?token=partner-token-0123"
        harness = Harness(lambda request: httpx.Response(200), {"t1": target(url=url)})
        result = await harness.deliver(make_hit())
        await harness.client.aclose()
        assert result.attempts == 1
        assert "partner-token-0123" not in capsys.readouterr().err
    finally:
        httpx_logger.setLevel(saved)


async def test_a_covert_hits_failed_delivery_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ops read the logs, and covert hits are in no notify metric: a line per failed
    delivery of a covert hit (a target on a covert list gets nothing else) counted them. Their
    outcome is in the delivery log (admin); an overt hit's failure is still logged."""
    tgt = target(list_id="nightjar", covert_allowed=True)
    harness = Harness(lambda request: httpx.Response(400), {"t1": tgt})
    with caplog.at_level(logging.DEBUG, logger="notify"):
        covert = await harness.deliver(make_hit(list_id="nightjar", covert=True))
        assert covert.outcome.value == "failed" and covert.error == "HTTP 400"
        assert not [r for r in caplog.records if r.name.startswith("notify")]
        overt = await harness.deliver(make_hit(list_id="nightjar"))
    await harness.client.aclose()
    assert overt.outcome.value == "failed"
    assert [r.levelno for r in caplog.records if r.name.startswith("notify")] == [logging.WARNING]
