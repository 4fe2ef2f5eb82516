"""The gateway behind uvicorn (httptools, uvloop) and behind granian, on single-read requests.

    python -m benchmarks.http_stack --bootstrap 127.0.0.1:9092 [--seconds 15]
        [--connections 32] [--rounds 2] [--batch 1] [--reads simple|rich] [--json out.json]
        [--servers uvicorn,granian,baseline --baseline DIR] [--py-spy DIR]

The same gateway app (`ingest.app.create_app` on a `KafkaBus`: auth, validation, dedup, publish
with acks=all, answered after the ack) is served by each server in turn (A B, then B A:
`benchmarks.rounds`), one process and one worker each, and loaded for `--seconds` by a closed
loop of `--connections` keep-alive connections (`simulator.rawhttp`) posting `--batch` reads
per request, each with a fresh read_id. Per server and round: requests/s, reads/s, and
requests per CPU second of the server process (from /proc: the fairer figure when other work
shares the cores, as the load generator does here). Progress to stderr, the summary (JSON) to
stdout or `--json`.

`--gateways 1,2` (scale-out): instead, N gateway processes under uvicorn (each its own port,
the same Kafka and topics) with the `--connections` spread round-robin over them, N=1 and N=2
in turn per round; reads/s per run and the ratio 2/1 per round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from anpr.bus.factory import make_bus, start_bus
from anpr.clock import ms_to_rfc3339, now_ms
from anpr.registry import CameraSpec, RegistryWriter
from anpr.topics import Topics
from benchmarks.procstat import cpu_seconds
from benchmarks.rounds import in_turn
from benchmarks.scaleout import scale_ratios
from benchmarks.stack import free_port
from simulator.rawhttp import RawPool

SERVERS = {
    "uvicorn": [
        "-m", "uvicorn", "benchmarks.http_stack:app", "--factory", "--http", "httptools",
        "--loop", "uvloop", "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1",
        "--port", "{port}",
    ],
    "granian": [
        "-m", "granian", "--interface", "asgi", "--factory", "--loop", "uvloop", "--workers",
        "1", "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1", "--port",
        "{port}", "benchmarks.http_stack:app",
    ],
    # the peer: a minimal FastAPI + aiokafka endpoint (benchmarks.peer_gateway)
    "minimal": [
        "-m", "uvicorn", "benchmarks.peer_gateway:app", "--factory", "--http", "httptools",
        "--loop", "uvloop", "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1",
        "--port", "{port}",
    ],
}  # fmt: skip


def app() -> FastAPI:
    """The gateway on Kafka, from `ANPR_*` settings; the bus started in the lifespan."""
    from ingest.app import create_app
    from ingest.settings import GatewaySettings

    settings = GatewaySettings()
    bus = make_bus(settings, client_id="bench-gateway")
    gateway = create_app(settings, bus)
    inner = gateway.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        await start_bus(bus)
        try:
            async with inner(application) as state:
                yield state
        finally:
            await bus.stop()

    gateway.router.lifespan_context = lifespan
    return gateway


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def provision(bootstrap: str, prefix: str) -> str:
    """An integrator and its camera on fresh topics; the integrator's token."""
    from anpr.settings import CommonSettings

    settings = CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix)
    bus = make_bus(settings, client_id="bench-provision")
    await start_bus(bus)
    try:
        writer = RegistryWriter(bus, Topics.from_prefix(prefix).registry)
        token = await writer.create_integrator("int-1", "Integrator One")
        await writer.put_camera(CameraSpec(camera_id="cam-1", integrator_id="int-1", name="One"))
    finally:
        await bus.stop()
    return token


# What `anpr simulate` sends besides these (`simulator/traffic.py`): `--reads rich`.
RICH_FIELDS: dict[str, object] = {
    "candidates": [{"plate": "AB12 COE", "confidence": 0.61}],
    "direction": "approaching",
    "lane": 2,
    "vehicle": {"make": "Ford", "model": "Focus", "color": "blue"},
    "location": {"lat": 51.5072, "lon": -0.1276},
}


def body(n: int, batch: int, run: str, *, rich: bool = False) -> bytes:
    at = now_ms()
    reads = [
        {
            "read_id": f"{run}-{n}-{i}",
            "camera_id": "cam-1",
            "captured_at": ms_to_rfc3339(at),
            "plate": "AB12 CDE",
            "country": "GB",
            "confidence": 0.93,
            **(RICH_FIELDS if rich else {}),
        }
        for i in range(batch)
    ]
    return orjson.dumps(reads[0] if batch == 1 else reads)


async def load(
    port: int | list[int], token: str, args: argparse.Namespace, run: str
) -> dict[str, int]:
    ports = port if isinstance(port, list) else [port]
    share = [len(range(i, args.connections, len(ports))) for i in range(len(ports))]
    pools = [
        RawPool(f"http://127.0.0.1:{p}", n, timeout_s=30) for p, n in zip(ports, share, strict=True)
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    counts = {"ok": 0, "other": 0}
    deadline = time.monotonic() + args.seconds
    serial = iter(range(10**9))
    rich = args.reads == "rich"

    async def worker(pool: RawPool) -> None:
        while time.monotonic() < deadline:
            payload = body(next(serial), args.batch, run, rich=rich)
            status, _ = await pool.post("/v1/reads", payload, headers)
            counts["ok" if status == 202 else "other"] += 1

    await asyncio.gather(*(worker(pools[i % len(pools)]) for i in range(args.connections)))
    for pool in pools:
        pool.close()
    return counts


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (granian serves from a worker process)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += cpu_seconds(current) or 0.0
        todo.extend(children.get(current, ()))
    return total


def wait_ready(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the gateway on port {port} did not get ready")


def one(name: str, token: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    server_args = SERVERS["uvicorn" if name == "baseline" else name]
    command = [sys.executable, *(a.replace("{port}", str(port)) for a in server_args)]
    cwd = args.baseline if name == "baseline" else None
    server = subprocess.Popen(command, env=env, cwd=cwd)  # noqa: S603 - our own command line
    spy: subprocess.Popen[bytes] | None = None
    try:
        wait_ready(port)
        if args.py_spy:
            # attached once ready, so the profile holds the loaded phase only, not the import
            py_spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
            spy_command = [py_spy, "record", "-r", "200", "--format", "raw", "--subprocesses",
                           "-o", f"{args.py_spy}/{name}-{port}.txt", "-d", str(int(args.seconds)),
                           "--pid", str(server.pid)]  # fmt: skip
            spy = subprocess.Popen(spy_command)  # noqa: S603 - our own command line
        cpu0 = tree_cpu_seconds(server.pid)
        started = time.monotonic()
        counts = asyncio.run(load(port, token, args, uuid.uuid4().hex[:8]))
        elapsed = time.monotonic() - started
        cpu = tree_cpu_seconds(server.pid) - cpu0
    finally:
        if spy is not None:
            spy.wait(timeout=60)
        server.terminate()
        server.wait(timeout=30)
    requests = counts["ok"]
    return {
        "server": name,
        "requests_per_s": round(requests / elapsed),
        "reads_per_s": round(requests * args.batch / elapsed),
        "server_cpu_s": round(cpu, 2),
        "requests_per_cpu_s": round(requests / cpu) if cpu else None,
        "not_202": counts["other"],
        "load_average_1m": os.getloadavg()[0],
    }


def many(count: int, token: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """`count` gateways under uvicorn, each its own port, loaded together."""
    ports = [free_port() for _ in range(count)]
    servers = [
        subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, *(a.replace("{port}", str(p)) for a in SERVERS["uvicorn"])], env=env
        )
        for p in ports
    ]
    try:
        for p in ports:
            wait_ready(p)
        cpu0 = sum(tree_cpu_seconds(s.pid) for s in servers)
        started = time.monotonic()
        counts = asyncio.run(load(ports, token, args, uuid.uuid4().hex[:8]))
        elapsed = time.monotonic() - started
        cpu = sum(tree_cpu_seconds(s.pid) for s in servers) - cpu0
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    requests = counts["ok"]
    return {
        "gateways": count,
        "requests_per_s": round(requests / elapsed),
        "reads_per_s": round(requests * args.batch / elapsed),
        "servers_cpu_s": round(cpu, 2),
        "not_202": counts["other"],
        "load_average_1m": os.getloadavg()[0],
    }


def main_gateways(args: argparse.Namespace, token: str, env: dict[str, str]) -> int:
    counts = [int(n) for n in args.gateways.split(",")]
    rounds: list[dict[str, Any]] = []
    for n in range(args.rounds):
        row: dict[str, Any] = {}
        for count in in_turn(counts, n):
            row[str(count)] = many(count, token, env, args)
            say(f"round {n + 1}, {count} gateway(s): {row[str(count)]}")
        rounds.append(row)
    summary: dict[str, Any] = {
        "batch": args.batch,
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": rounds,
        "median_reads_per_s": {
            str(c): statistics.median(r[str(c)]["reads_per_s"] for r in rounds) for c in counts
        },
        **scale_ratios(rounds, base=str(counts[0]), scaled=str(counts[-1])),
    }
    text = json.dumps(summary, indent=2)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    print(text)
    failed = any(r[str(c)]["not_202"] for r in rounds for c in counts)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=os.environ.get("ANPR_KAFKA_BOOTSTRAP", ""))
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument(
        "--reads", choices=("simple", "rich"), default="simple",
        help="rich: with candidates, direction, lane, vehicle and location, as simulated cameras",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--servers", default="uvicorn,granian")
    parser.add_argument("--json")
    parser.add_argument("--gateways", help="e.g. 1,2: N gateways under uvicorn (scale-out)")
    parser.add_argument("--py-spy", help="a directory: each server is sampled by py-spy there")
    parser.add_argument(
        "--baseline",
        help="a checkout of an earlier commit (with this module copied in): its gateway under "
        "uvicorn is the server `baseline` (name it in --servers)",
    )
    args = parser.parse_args(argv)
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    token = asyncio.run(provision(args.bootstrap, prefix))
    env = {**os.environ, "ANPR_KAFKA_BOOTSTRAP": args.bootstrap, "ANPR_TOPIC_PREFIX": prefix,
           "ANPR_RATE_LIMIT_PER_S": "1000000", "ANPR_RATE_LIMIT_BURST": "1000000"}  # fmt: skip
    if args.gateways:
        return main_gateways(args, token, env)
    servers = args.servers.split(",")
    rounds = []
    for n in range(args.rounds):
        row = {}
        for name in in_turn(servers, n):
            row[name] = one(name, token, env, args)
            say(f"round {n + 1}: {row[name]}")
        rounds.append(row)
    summary: dict[str, Any] = {
        "batch": args.batch,
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": rounds,
        "median_requests_per_s": {
            s: statistics.median(r[s]["requests_per_s"] for r in rounds) for s in servers
        },
        "median_requests_per_cpu_s": {
            s: statistics.median(r[s]["requests_per_cpu_s"] or 0 for r in rounds) for s in servers
        },
    }
    text = json.dumps(summary, indent=2)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
