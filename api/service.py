"""The API's long-lived parts wired together; started and stopped by the app's lifespan.

Consumers (see each module for its offsets): the registry and hotlists topics are replayed from
the start and followed (`TopicFollower`, no group); hits go through the group of the store
(private with SQLite, shared by the replicas of one PostgreSQL database; `api.hits.ingest`), and
streams are fed from the store; heartbeats and gateway events (the gateways' per-camera
aggregates: the reads topic is not decoded) are followed from the latest offset without a group
(`api.health.tracker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry

from anpr.auth import (
    BOOTSTRAP_ADMIN,
    Principal,
    Role,
    hash_token,
    parse_authorization,
    same_token,
)
from anpr.bus.base import COLD_FETCH_WAIT_MS, Bus, Record, TopicPartition
from anpr.clock import now_ms
from anpr.consume import BUSY_COMMIT_INTERVAL_S, ConsumerLoop
from anpr.deadletter import Poison
from anpr.errors import BusUnavailable, InvalidRecord
from anpr.follow import TopicFollower
from anpr.gcpolicy import freeze_long_lived
from anpr.registry import CameraState, RegistryView, RegistryWriter
from anpr.runtime import Runtime
from anpr.threadwork import on_worker
from anpr.timeslice import sliced
from anpr.topics import Topics
from api.alerts.placer import AlertPlacer
from api.archive.base import ReadStore
from api.archive.factory import make_read_store
from api.audit.ingest import AuditIngest, audit_group_id
from api.audit.log import AuditLog
from api.changes import ChangeSignal
from api.console.signin_limit import SignInLimiter
from api.health.tracker import HealthTopics, HealthTracker, Sweep
from api.hits.hub import StreamHub
from api.hits.ingest import HitIngest, hits_batch, hits_group_id
from api.hotlists.service import HotlistService
from api.metrics import ApiMetrics
from api.notifications.log import DeliveryLog, deliveries_group_id
from api.rollout.feed import RolloutFeed
from api.rollout.lifecycle import MAX_REPEATED, REPEATING_GROUPS
from api.rollout.report import RolloutReport
from api.settings import ApiSettings
from api.store.base import Store
from api.store.config import make_store

log = logging.getLogger(__name__)

# Records of the health topics per batch: two a camera a second, 20,000 at 10,000 cameras.
HEALTH_BATCH = 500

PRIVATE_STORE_TAIL_MS = 5000


class ApiService:
    def __init__(
        self,
        settings: ApiSettings,
        bus: Bus,
        *,
        store: Store | None = None,
        reads: ReadStore | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.clock = clock
        self.topics = Topics.from_prefix(settings.topic_prefix)
        self.metrics = ApiMetrics(CollectorRegistry())
        self.runtime = Runtime.for_process("api", settings, bus, self.metrics.registry)
        self._camera_status_shown: dict[str, tuple[str, str, str]] = {}
        self._frozen = False
        self.store: Store = store or make_store(
            settings, on_checkpoint=self.metrics.observe_checkpoint
        )
        # The read archive, searched here and written by `api.archive` (`anpr archive`).
        self.reads: ReadStore = reads or make_read_store(settings)
        self.audit = AuditLog(self.store, self.metrics, clock)
        self.sign_in_limiter = SignInLimiter()  # failed console sign-ins per client address
        # Registry: the fold every process keeps, and the one write path.
        self.registry = RegistryView()
        self.registry_changed = ChangeSignal()
        self.registry_writer = RegistryWriter(bus, self.topics.registry)
        self.registry_lock = asyncio.Lock()
        self.registry_follower = TopicFollower(
            self.runtime, [self.topics.registry], self._apply_registry, name="api-registry"
        )
        self.hotlists = HotlistService(
            settings,
            self.runtime,
            self.topics,
            self.metrics,
            clock=clock,
            cross_replica=self.store.hotlist_writer,
        )
        # Hits.
        self.hub = StreamHub(self.metrics, queue_size=settings.stream_queue_size)
        self.alerts = AlertPlacer(
            self.store, self.hotlists.book, self.hotlists.caught_up, self.metrics
        )
        self.hit_ingest = HitIngest(self.store, self.hub, self.metrics, self.alerts)
        self.hits_loop: ConsumerLoop | None = None
        # Webhook delivery outcomes from `anpr notify` (the delivery log).
        self.delivery_log = DeliveryLog(self.store, self.metrics)
        self.deliveries_loop: ConsumerLoop | None = None
        self.audit_loop: ConsumerLoop | None = None  # CLI writes (api/audit/ingest.py)
        # Camera health.
        self.health = HealthTracker(
            HealthTopics(self.topics.heartbeats, self.topics.gateway_events),
            started_at=clock(),
        )
        self.health_loop = ConsumerLoop(
            self.runtime,
            [self.topics.heartbeats, self.topics.gateway_events],
            self._handle_health,
            name="api-health",
            group_id=None,
            from_beginning=False,
            poll_ms=max(settings.consumer_poll_ms, 200),
            # The gateways' per-second aggregates, not every read: a cold follower.
            fetch_wait_ms=COLD_FETCH_WAIT_MS,
            # Taking a batch out of the client is not sliced (`anpr.timeslice`): smaller
            # batches bound that hold (tens of ms for 2,000 records on the embedded bus).
            max_batch=HEALTH_BATCH,
        )
        self.rollout = RolloutFeed(
            self.registry,
            self.health,
            HealthTopics(self.topics.heartbeats, self.topics.gateway_events),
            self.metrics,
            stuck_after_days=settings.rollout_stuck_days,
            weeks=settings.rollout_weeks,
        )
        self._rollout_at = 0
        # Sweeps and rollout refreshes hand the loop back between slices: one at a time each.
        self._sweeping = asyncio.Lock()
        self._rolling_out = asyncio.Lock()
        # Per partition of the health topics, the offset after the last record applied.
        self._health_next: dict[TopicPartition, int] = {}
        admin = settings.admin_token.get_secret_value() if settings.admin_token else None
        self._admin_token = admin or None

    # -- consumers -----------------------------------------------------------------------------

    def _apply_registry(self, record: Record) -> None:
        try:
            kind, _, ident = (record.key or b"").decode("utf-8", "replace").partition("/")
            before = self.registry.cameras.get(ident) if kind == "camera" else None
            self.registry.apply(record.key, record.value)
            if kind == "camera" and record.value is None and self.registry_loaded:
                # Deleted now (a replayed deletion is older than the activity rows restored,
                # which were saved for the camera registered then): a re-registered camera
                # starts as `never_seen`, not with the deleted one's last read.
                self.health.forget(ident)
            after = self.registry.cameras.get(ident) if kind == "camera" else None
            if (
                self.registry_loaded
                and before is not None
                and after is not None
                and before.state is CameraState.LIVE
                and after.state is CameraState.COMMISSIONING
            ):
                # Put back in commissioning now: judged on the evidence from here on.
                self.health.restart_commissioning(ident)
            self.rollout.on_registry(record)
        finally:
            self.registry_changed.notify()

    async def _handle_health(self, records: Sequence[Record]) -> list[Poison]:
        now = self.clock()
        poison: list[Poison] = []
        applied = self._health_next
        async for record in sliced(records):
            tp = (record.topic, record.partition)
            if record.offset < applied.get(tp, 0):
                # Applied already: the batch is redone (its flush failed), whole or record by
                # record, and an aggregate applied twice would count its reads twice.
                continue
            applied[tp] = record.offset + 1
            try:
                decoded = self.health.apply(record, now)
            except InvalidRecord as exc:
                poison.append(Poison(record, str(exc)))
                continue
            self.rollout.observe(record.topic, decoded)
        self.metrics.records_consumed.labels("health").inc(len(records))
        await self.rollout.flush(self.store)
        return poison

    # -- state ---------------------------------------------------------------------------------

    @property
    def registry_loaded(self) -> bool:
        return self.registry_follower.caught_up.is_set()

    @property
    def hits_caught_up(self) -> bool:
        return self.hits_loop is not None and self.hits_loop.caught_up.is_set()

    @property
    def ready(self) -> bool:
        return (
            self.registry_loaded
            and self.hotlists.loaded
            and self.hits_caught_up
            and self.runtime.loops_ready
        )

    @property
    def admin_token_hash(self) -> str | None:
        """Hash of the bootstrap admin token (console sessions opened with it check it)."""
        return hash_token(self._admin_token) if self._admin_token else None

    def authenticate(self, header: str | None) -> Principal | None:
        """The caller of a `Bearer` token (HTTP Basic is for the gateway only)."""
        creds = parse_authorization(header)
        if creds is None or creds.basic_user is not None:
            return None
        if self._admin_token and same_token(creds.token, self._admin_token):
            return Principal(Role.ADMIN, BOOTSTRAP_ADMIN, hash_token(creds.token), bootstrap=True)
        return self.registry.principal(creds.token)

    # -- lifecycle -----------------------------------------------------------------------------

    async def _backfill_empty_store(self) -> None:
        """An empty store of its own replays the hits topic: what is on it now is history."""
        try:
            until = await self.bus.end_offsets([self.topics.hits])
        except BusUnavailable as exc:
            log.warning("hits on the topic before start will stream as live: %s", exc)
            return
        self.hit_ingest.backfill(until)
        if any(until.values()):
            log.info("empty store: the hits on the topic now are stored, not streamed live")

    async def start(self) -> None:
        self.runtime.watch_event_loop()
        await self.store.open()
        await self.reads.open()
        self.health.restore(await self.store.load_activity())
        await self.rollout.restore(self.store)
        await self.hit_ingest.start()
        if not self.store.shared and self.hit_ingest.published() == 0:
            await self._backfill_empty_store()
        self.registry_follower.start()
        self.hotlists.start()
        self.hits_loop = ConsumerLoop(
            self.runtime,
            [self.topics.hits],
            self.hit_ingest.handle_batch,
            name="api-hits",
            group_id=hits_group_id(self.settings.topic_prefix, self.store.store_id),
            from_beginning=True,
            max_batch=hits_batch(self.settings.stream_queue_size),
            poll_ms=self.settings.consumer_poll_ms,
            commit_interval_s=BUSY_COMMIT_INTERVAL_S,
        )
        self.hits_loop.start()
        self.deliveries_loop = ConsumerLoop(
            self.runtime,
            [self.topics.deliveries],
            self.delivery_log.handle_batch,
            name="api-deliveries",
            # Delivery outcomes and audit events are read by people, not raised to them: cold.
            # A record still ends the broker's wait at once, so neither waits for the bound.
            group_id=deliveries_group_id(self.settings.topic_prefix, self.store.store_id),
            from_beginning=True,
            poll_ms=max(self.settings.consumer_poll_ms, 200),
            fetch_wait_ms=COLD_FETCH_WAIT_MS,
        )
        self.deliveries_loop.start()
        self.audit_loop = ConsumerLoop(
            self.runtime,
            [self.topics.audit],
            AuditIngest(self.store, self.metrics).handle_batch,
            name="api-audit",
            group_id=audit_group_id(self.settings.topic_prefix, self.store.store_id),
            from_beginning=True,
            poll_ms=max(self.settings.consumer_poll_ms, 200),
            fetch_wait_ms=COLD_FETCH_WAIT_MS,
        )
        self.audit_loop.start()
        self.health_loop.start()
        supervisor = self.runtime.supervisor
        supervisor.spawn_periodic(
            "api-health-refresh", self.settings.health_refresh_s, self._refresh
        )
        supervisor.spawn_periodic("api-retention", self.settings.retention_interval_s, self._retain)
        # Hits another replica stored in a shared store reach this replica's streams. A store
        # of its own holds only what this replica streams right after storing it: there the
        # tail is a slow safety net (a batch that failed after its insert), not a poll.
        tail_ms = self.settings.stream_poll_ms
        if not self.store.shared:
            tail_ms = max(tail_ms, PRIVATE_STORE_TAIL_MS)
        supervisor.spawn_periodic("api-stream-tail", tail_ms / 1000, self._stream_tail)
        log.info("api started; hit store %s", self.store.store_id)

    async def stop(self) -> None:
        self.hub.close_all()
        await self.runtime.stop()
        try:
            await self.save_activity()
        except Exception:
            log.exception("camera activity not saved at shutdown")
        await self.reads.close()
        await self.store.close()

    # -- periodic work -------------------------------------------------------------------------

    async def refresh_health_metrics(self) -> Sweep | None:
        """Evaluate every camera and publish the status gauges (also done before a scrape);
        the sweep (None before the registry is loaded). Cut into slices: at 10,000 cameras
        this is a few hundred ms of work, and hits are streamed from the same loop."""
        if not self.registry_loaded:
            return None
        async with self._sweeping:
            return await self._sweep()

    async def _sweep(self) -> Sweep:
        cameras = list(self.registry.cameras.values())
        sweep = self.health.begin_sweep(cameras, self.clock())
        async for camera in sliced(cameras):
            sweep.add(camera, self.health.report(camera, sweep.now))
        for status, count in sweep.by_status.items():
            self.metrics.cameras_by_status.labels(status.value).set(count)
        for camera_id in sweep.forgotten:
            with contextlib.suppress(KeyError):
                self.metrics.camera_last_seen_age.remove(camera_id)
            with contextlib.suppress(KeyError):
                self.metrics.camera_clock_skew.remove(camera_id)
        async for camera_id, age in sliced(list(sweep.last_seen_age_s.items())):
            self.metrics.camera_last_seen_age.labels(camera_id).set(age)
        await self._camera_status_series(sweep)
        self.metrics.ready.set(1 if self.ready else 0)
        return sweep

    async def _camera_status_series(self, sweep: Sweep) -> None:
        """One series per camera, moved (old label set removed) when its status changes."""
        shown = self._camera_status_shown
        async for camera_id, (status, state) in sliced(list(sweep.status_of.items())):
            labels = (camera_id, status.value, state)
            previous = shown.get(camera_id)
            if previous is not None and previous != labels:
                with contextlib.suppress(KeyError):
                    self.metrics.camera_status.remove(*previous)
            self.metrics.camera_status.labels(*labels).set(1)
            shown[camera_id] = labels
            skew = sweep.clock_skew_ms.get(camera_id)
            if skew is not None:
                self.metrics.camera_clock_skew.labels(camera_id).set(skew / 1000)
            else:
                # No read in the last hour: no skew, rather than the last one measured standing
                # (a camera that stopped reading would keep its clock alert).
                with contextlib.suppress(KeyError):
                    self.metrics.camera_clock_skew.remove(camera_id)
        for camera_id in [c for c in shown if c not in sweep.status_of]:
            with contextlib.suppress(KeyError):
                self.metrics.camera_status.remove(*shown.pop(camera_id))

    async def refresh_rollout(
        self, *, periodic: bool = False, sweep: Sweep | None = None
    ) -> RolloutReport | None:
        """Record verdicts and silences, store new lifecycle events, set the rollout gauges
        (periodically at most every `rollout_refresh_s`; always when the report is asked for);
        the report, None when nothing was done. `sweep`: the health sweep just made, whose
        statuses are used instead of evaluating every camera again."""
        async with self._rolling_out:
            now = self.clock()
            if not self.registry_loaded or (
                periodic and now - self._rollout_at < self.settings.rollout_refresh_s * 1000
            ):
                return None
            self._rollout_at = now
            return await self._refresh_rollout(now, sweep)

    async def _refresh_rollout(self, now: int, sweep: Sweep | None) -> RolloutReport:
        statuses = {cid: status for cid, (status, _) in sweep.status_of.items()} if sweep else {}
        self.rollout.forget_deleted()
        async for camera in sliced(list(self.registry.cameras.values())):
            self.rollout.evaluate_camera(camera, now, statuses.get(camera.camera_id))
        await self.rollout.flush(self.store)
        rollout = self.rollout
        facts = [f async for c in sliced(rollout.cameras_in_order()) if (f := rollout.fact(c, now))]
        # Grouping and quantiles over every camera (300 ms at 10,000): off the loop.
        names = rollout.integrator_names()
        report = await on_worker(rollout.build_report, facts, names, now)
        rollout.set_metrics(report)
        return report

    async def save_activity(self) -> None:
        """Forget the rows of forgotten cameras, then save the others' (a camera deleted and
        registered again has a row of its own again once it is seen)."""
        gone = sorted(self.health.unsaved_forgets)
        if gone:
            await self.store.forget_activity(gone)
            self.health.unsaved_forgets.difference_update(gone)
        await self.store.save_activity(self.health.activity())

    async def _refresh(self) -> None:
        sweep = await self.refresh_health_metrics()
        if self.ready and not self._frozen:
            # After the sweep, which made a monitor for every registered camera (~100 objects
            # each, a million at 10,000 cameras, that full collections would walk otherwise).
            freeze_long_lived("loading registry, hotlists, hits and camera monitors")
            self._frozen = True
        await self.save_activity()
        await self.refresh_rollout(periodic=True, sweep=sweep)

    async def _stream_tail(self) -> None:
        await self.hit_ingest.publish_new()

    async def apply_retention(self) -> dict[str, int]:
        now = self.clock()
        removed = await self.store.purge(
            hits_before=now - self.settings.hit_retention_ms,
            activity_before=now - self.settings.read_retention_ms,
            audit_before=now - self.settings.audit_retention_ms,
        )
        removed["deliveries"] = await self.store.purge_deliveries(
            before=now - self.settings.hit_retention_ms
        )
        removed["alerts"] = await self.store.purge_alerts(
            before=now - self.settings.hit_retention_ms
        )
        removed["console_sessions"] = await self.store.purge_sessions(now=now)
        # The rollout keeps the latest MAX_REPEATED events of each repeating group per camera:
        # older ones (a flapping camera's went-silent and came-back) would only pile up.
        removed["camera_lifecycle"] = await self.store.trim_lifecycle(
            REPEATING_GROUPS, MAX_REPEATED
        )
        for table, count in removed.items():
            self.metrics.retention_deleted.labels(table).inc(count)
        return removed

    async def _retain(self) -> None:
        removed = await self.apply_retention()
        if any(removed.values()):
            log.info("retention removed %s", removed)
