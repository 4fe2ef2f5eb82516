"""`anpr simulate`: a fleet of cameras pushing realistic reads to a running gateway.

Set-up (with an admin token, through the API): an integrator, its cameras, the demo hotlists.
Then an open-model load at `rate` reads/s for `duration_s` (see `simulator.schedule`), one read
per request or integrator batches, heartbeats every minute, and, with an admin token, the hit
stream followed to check that every hit the traffic owes arrives and to time it. Progress every
few seconds, a summary at the end (and as JSON with `json_out`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
import signal
import sys
import time
from dataclasses import asdict
from typing import Any

import httpx
import orjson

from simulator.feed import Feed
from simulator.fleet import Camera, FleetConfig, make_fleet
from simulator.hotlists import Probe, build_lists, plan_lists
from simulator.provision import AdminApi, Credentials, SetupError, wait_gateway_knows
from simulator.rawhttp import RawPool
from simulator.schedule import Schedule, SendStats
from simulator.sender import (
    Target,
    closed_loop,
    httpx_post,
    make_client,
    open_loop,
    raw_post,
)
from simulator.simconfig import SimConfig, load_probes
from simulator.sse import StreamState, follow_hits
from simulator.summary import format_progress, format_summary
from simulator.tally import HitTally
from simulator.traffic import Traffic

POOL_MAX = 50_000
HEARTBEAT_EVERY_S = 60.0
APPLY_TIMEOUT_S = 300.0


class Simulation:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.prefix = config.read_id_prefix or f"sim-{secrets.token_hex(3)}-"
        self.fleet = make_fleet(
            FleetConfig(
                cameras=config.cameras,
                integrator_id=config.integrator_id,
                skewed_share=config.skewed_share,
                silent=config.silent,
            ),
            config.seed,
        )
        self.tally = HitTally(prefix=self.prefix)
        self.stats = SendStats(late_threshold_ms=config.late_ms)
        self.facts: dict[str, Any] = {}
        self.stream = StreamState(connected=asyncio.Event())
        self.feed: Feed | None = None
        self.all_arrived = asyncio.Event()
        self.registered_lists: list[str] = []
        self.registered_integrator: str | None = None

    def say(self, text: str) -> None:
        if not self.config.quiet:
            print(text, file=sys.stderr, flush=True)

    # --- set-up --------------------------------------------------------------------------------

    async def setup(self, client: httpx.AsyncClient) -> tuple[Credentials, list[Probe]]:
        cfg = self.config
        if not cfg.setup and cfg.probes_file is not None:
            assert cfg.token is not None  # noqa: S101 - checked in SimConfig
            return Credentials(cfg.integrator_id, cfg.token), load_probes(cfg.probes_file)
        plans = plan_lists(cfg.hotlist_entries, prefix=cfg.list_prefix)
        lists = list(build_lists(plans, seed=cfg.seed, now_ms=int(time.time() * 1000)))
        probes = [probe for _, _, sample in lists for probe in sample]
        if not cfg.setup:
            assert cfg.token is not None  # noqa: S101 - checked in SimConfig
            return Credentials(cfg.integrator_id, cfg.token), probes
        if not cfg.admin_token:
            raise SetupError(
                "set-up needs an admin token: --admin-token, ANPR_ADMIN_TOKEN, or the "
                "dev-admin-token file `anpr run` writes in the data dir (or use --no-setup --token)"
            )
        api = AdminApi(client, cfg.api, cfg.admin_token)
        if cfg.token:
            creds = Credentials(cfg.integrator_id, cfg.token)
        else:
            creds = await api.integrator(cfg.integrator_id, cfg.data_dir)
        self.say(f"integrator {creds.integrator_id}; registering {len(self.fleet)} cameras")
        for camera in self.fleet:
            await api.camera(camera, creds.integrator_id)
        versions: dict[str, int] = {}
        uploads = {}
        started = time.perf_counter()
        self.registered_integrator = None if cfg.token else creds.integrator_id
        for plan, csv_text, _ in lists:
            self.registered_lists.append(plan.list_id)
            result = await api.hotlist(plan, csv_text)
            versions[plan.list_id] = int(result["version"])
            uploads[plan.list_id] = {
                "match": plan.match,
                "entries": result["entries"],
                "rejected": len(result["rejected"]),
                "upload_s": result["upload_s"],
            }
            self.say(
                f"hotlist {plan.list_id} ({plan.match}): {result['entries']:,} entries, "
                f"{len(result['rejected'])} rejected, uploaded in {result['upload_s']} s"
            )
        applied = await api.wait_applied(versions, timeout_s=APPLY_TIMEOUT_S, say=self.say)
        self.facts["hotlists"] = {
            "entries": sum(int(u["entries"]) for u in uploads.values()),
            "lists": uploads,
            "upload_s": round(time.perf_counter() - started - (applied or 0), 2),
            "applied_after_upload_s": None if applied is None else round(applied, 2),
        }
        if applied is None:
            self.say("warning: no matcher has applied every list yet; going on")
        return creds, probes

    # --- the run -------------------------------------------------------------------------------

    async def heartbeats(self, client: httpx.AsyncClient, creds: Credentials) -> None:
        url = self.config.gateway.rstrip("/") + "/v1/heartbeats"
        headers = {"Authorization": f"Bearer {creds.token}"}
        cameras: list[Camera] = [c for c in self.fleet if not c.silent]
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY_S)
            for cam in cameras:
                body = {"camera_id": cam.camera_id, "sent_at": int(time.time() * 1000)}
                with contextlib.suppress(httpx.HTTPError):
                    await client.post(url, json=body, headers=headers)

    def on_hit(self, hit: dict[str, Any], arrived_ms: float) -> None:
        ours = self.tally.add(hit, arrived_ms, self.feed.due_of if self.feed else None)
        if self.tally.complete:
            self.all_arrived.set()
        if ours and self.config.show_hits:
            read, match = hit["read"], hit["match"]
            self.say(
                f"  HIT {hit['list_id']}/{hit['entry_id']} {match['kind']}/{match['source']} "
                f"read {read['plate_norm']} ~ entry {match['entry_plate']} "
                f"on {read['camera_id']}, {arrived_ms - read['received_at']:.0f} ms after receipt"
            )

    async def run(self) -> dict[str, Any]:
        cfg = self.config
        schedule = Schedule(cfg.rate, cfg.batch, cfg.duration_s)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with make_client(cfg.connections + 4) as client:
            try:
                return await self._run(client, schedule, stop)
            finally:
                if cfg.cleanup and cfg.setup and cfg.admin_token:
                    await self._cleanup(client)

    async def _cleanup(self, client: httpx.AsyncClient) -> None:
        assert self.config.admin_token is not None  # noqa: S101 - checked by the caller
        api = AdminApi(client, self.config.api, self.config.admin_token)
        try:
            done = await api.cleanup(
                camera_ids=[c.camera_id for c in self.fleet],
                list_ids=self.registered_lists,
                integrator_id=self.registered_integrator,
            )
        except SetupError as exc:
            self.say(f"clean-up incomplete: {exc}")
            return
        self.facts["cleanup"] = done
        self.say(
            f"cleaned up: {done['cameras']} cameras and {done['hotlists']} hotlists deleted, "
            f"{done['tokens']} integrator tokens revoked"
        )

    async def _run(
        self, client: httpx.AsyncClient, schedule: Schedule, stop: asyncio.Event
    ) -> dict[str, Any]:
        cfg = self.config
        creds, probes = await self.setup(client)
        took = await wait_gateway_knows(client, cfg.gateway, creds, self.fleet)
        self.facts["gateway_knew_cameras_after_s"] = round(took, 2)
        planned = POOL_MAX if cfg.closed_loop else min(schedule.reads, POOL_MAX)
        traffic = Traffic(
            self.fleet, probes, seed=cfg.seed + 1, hit_share=cfg.hit_share, noise=cfg.noise
        )
        feed = self.feed = Feed(
            self.fleet, traffic.reads(planned), self.prefix, cfg.batch, self.tally
        )
        # The planned reads live as long as the run: keep the collector from walking them.
        gc.collect()
        gc.freeze()
        watcher = None
        watch_stop = asyncio.Event()
        if cfg.watch and cfg.admin_token:
            watcher = asyncio.create_task(
                follow_hits(
                    client, cfg.api, cfg.admin_token, self.on_hit,
                    stop=watch_stop, state=self.stream,
                )
            )  # fmt: skip
            assert self.stream.connected is not None  # noqa: S101
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stream.connected.wait(), 10)
        beats = asyncio.create_task(self.heartbeats(client, creds))
        target = Target(
            cfg.gateway.rstrip("/") + "/v1/reads",
            {"Authorization": f"Bearer {creds.token}", "Content-Type": "application/json"},
        )
        pool = RawPool(cfg.gateway, cfg.connections) if cfg.client == "raw" else None
        post = raw_post(pool, target) if pool else httpx_post(client, target)
        mode = "closed loop" if cfg.closed_loop else f"{cfg.rate:g} reads/s"
        self.say(
            f"sending {mode} for {cfg.duration_s:g} s, {cfg.batch} read(s) per request, "
            f"{len(self.fleet)} cameras, read ids {self.prefix}*"
        )

        def tick(elapsed: float) -> None:
            self.say(format_progress(elapsed, self.stats, cfg.batch, self.tally, watcher))

        started = time.perf_counter()
        if cfg.closed_loop:
            elapsed = await closed_loop(
                post, cfg.duration_s, feed.body, self.stats,
                connections=cfg.connections, answered=feed.answered,
            )  # fmt: skip
        else:
            elapsed = await open_loop(
                post, schedule, feed.body, self.stats,
                connections=cfg.connections, answered=feed.answered,
                tick=tick, tick_every_s=cfg.progress_s, stop=stop,
            )  # fmt: skip
        beats.cancel()
        if pool is not None:
            pool.close()
        if watcher is not None:
            await self._drain(started + elapsed, stop)
            watch_stop.set()
            await watcher
        return self.summary(elapsed, feed)

    async def _drain(self, sent_at: float, stop: asyncio.Event) -> None:
        """Wait (at most `drain_s`) for the owed hits still on their way."""
        self.all_arrived.clear()
        if not self.tally.complete:
            waiters = {
                asyncio.ensure_future(self.all_arrived.wait()),
                asyncio.ensure_future(stop.wait()),
            }
            remaining = max(0.0, sent_at + self.config.drain_s - time.perf_counter())
            _, pending = await asyncio.wait(
                waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
        self.facts["drain_s"] = round(max(0.0, time.perf_counter() - sent_at), 2)

    def summary(self, elapsed: float, feed: Feed) -> dict[str, Any]:
        cfg = self.config
        settings = asdict(cfg)
        settings.pop("admin_token")
        settings["token"] = "***" if cfg.token else None
        return {
            "settings": settings,
            "read_id_prefix": self.prefix,
            "facts": self.facts,
            "send": self.stats.summary(elapsed, cfg.batch),
            "requests": feed.sent_requests,
            "batch": cfg.batch,
            "failed_requests": feed.failed_requests,
            "rejected_reads": feed.rejected_reads,
            "first_due_ms": feed.due_ms.get(0),
            "interval_ms": None if cfg.closed_loop else cfg.batch / cfg.rate * 1000,
            "owed": feed.owed_list(),
            "hits": self.tally.report() if cfg.watch and cfg.admin_token else None,
            "stream": {"connects": self.stream.connects, "errors": self.stream.errors},
        }


async def simulate(config: SimConfig) -> dict[str, Any]:
    sim = Simulation(config)
    summary = await sim.run()
    if config.json_out is not None:
        config.json_out.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2, default=str))
    if not config.quiet:
        print(format_summary(summary), flush=True)
    return summary


def event_loop_runner() -> Any:
    """`uvloop.run` when uvloop is installed (a cheaper sender), else `asyncio.run`."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def run_simulation(config: SimConfig) -> int:
    """Run to the end; 0 when the gateway took the reads and every owed hit arrived."""
    try:
        summary = event_loop_runner()(simulate(config))
    except SetupError as exc:
        print(f"anpr simulate: {exc}", file=sys.stderr)
        return 1
    failed = summary["send"]["requests_ok"] < summary["send"]["requests_answered"]
    hits = summary["hits"]
    return 1 if failed or (hits is not None and not hits["ok"]) else 0
