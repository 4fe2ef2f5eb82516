"""Issue 11, item 1, from outside: a large body sent to the API without a token does not stall
`anpr run`. The gateway's `/healthz` (same process, same event loop) keeps answering within
100 ms while 40 MB arrive at the API, which refuses them with 401 before reading them."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.embedded import Embedded, embedded_run

BODY_BYTES = 40 * 1024 * 1024
ITEM = b'{"entry_id":"e","plate":"AB123"}'


def _body_chunks() -> list[bytes]:
    """A valid JSON array of exactly BODY_BYTES, in 64 KiB-ish pieces."""
    count = (BODY_BYTES - 2) // (len(ITEM) + 1)
    piece = b",".join([ITEM] * 2048)
    chunks, left = [b"[" + ITEM], count - 1
    while left:
        n = min(left, 2048)
        chunks.append(b"," + (piece if n == 2048 else b",".join([ITEM] * n)))
        left -= n
    chunks.append(b"]")
    pad = BODY_BYTES - sum(map(len, chunks))
    chunks[-1] = b" " * pad + b"]"
    return chunks


def _send_unauthenticated(api_port: int, path: str, outcome: dict[str, object]) -> None:
    """POST a JSON array of BODY_BYTES without a token over a raw socket; record the status."""
    with socket.create_connection(("127.0.0.1", api_port), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BODY_BYTES}\r\n\r\n"
        ).encode()
        sock.sendall(head)
        sent = 0
        try:
            for piece in _body_chunks():
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the server answered and closed without reading the rest: that is the point
        outcome["sent"] = sent
        try:
            outcome["status_line"] = sock.recv(64).split(b"\r\n", 1)[0].decode()
        except OSError as exc:
            outcome["status_line"] = repr(exc)


def _settled(client: httpx.Client) -> None:
    """Until start-up work (hotlist load, gc freeze) is over: 10 probes in a row under 20 ms."""
    streak = 0
    for _ in range(2000):
        started = time.perf_counter()
        client.get("/healthz")
        streak = streak + 1 if time.perf_counter() - started < 0.020 else 0
        if streak >= 10:
            return
    raise AssertionError("the gateway never settled")


def _healthz_latencies(run: Embedded, sender: threading.Thread) -> list[float]:
    latencies: list[float] = []
    with httpx.Client(base_url=run.url("ingest"), timeout=5) as client:
        _settled(client)
        sender.start()
        while sender.is_alive() or len(latencies) < 20:
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.005)
    return latencies


ROUNDS = 3


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "path", ["/v1/hotlists/x/entries", "/v1/integrators"], ids=["hotlist-upsert", "integrators"]
)
def test_unauthenticated_40mb_body_does_not_stall_the_gateway(tmp_path: Path, path: str) -> None:
    """Up to ROUNDS attacks; the best round's worst probe must stay under 100 ms. A real stall
    (seconds: 2.4-3.9 s before the fix) shows in every round; a scheduling hiccup of this shared
    machine does not repeat."""
    worsts: list[float] = []
    with embedded_run(tmp_path) as run:
        for _ in range(ROUNDS):
            outcome: dict[str, object] = {}
            sender = threading.Thread(
                target=_send_unauthenticated, args=(run.ports["api"], path, outcome)
            )
            latencies = _healthz_latencies(run, sender)
            sender.join()
            assert str(outcome["status_line"]).startswith("HTTP/1.1 401"), outcome
            worsts.append(max(latencies))
            if worsts[-1] < 0.100:
                break
    print(f"{path}: worst probe per round {[round(w * 1000, 1) for w in worsts]} ms")  # noqa: T201
    assert min(worsts) < 0.100, f"gateway /healthz took {min(worsts) * 1000:.0f} ms at best"


@pytest.mark.timeout(120)
def test_slow_header_is_cut_in_anpr_run(tmp_path: Path) -> None:
    """The header timeout is wired into the real servers (here 1 s): a request whose headers
    never end gets 408 on the API and on the gateway."""
    with embedded_run(tmp_path, ANPR_HTTP_HEADER_TIMEOUT_S="1") as run:
        for name in ("api", "ingest"):
            with socket.create_connection(("127.0.0.1", run.ports[name]), timeout=10) as sock:
                started = time.monotonic()
                sock.sendall(b"POST /v1/reads HTTP/1.1\r\nHost: x\r\n")
                answer = b""
                for _ in range(40):
                    sock.settimeout(0.25)
                    try:
                        answer = sock.recv(64)
                        break
                    except TimeoutError:
                        sock.sendall(b"X-Slow: 1\r\n")
                assert answer.startswith(b"HTTP/1.1 408"), (name, answer)
                assert time.monotonic() - started < 5
