"""The API's long-lived parts wired together; started and stopped by the app's lifespan.

Consumers (see each module for its offsets): the registry and hotlists topics are replayed from
the start and followed (`TopicFollower`, no group); hits go through the group of the store
(private with SQLite, shared by the replicas of one PostgreSQL database; `api.hits.ingest`), and
streams are fed from the store; reads, heartbeats and gateway events are followed from the
latest offset without a group (`api.health.tracker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry

from anpr.auth import Principal, Role, hash_token, parse_authorization, same_token
from anpr.bus.base import Bus, Record
from anpr.clock import now_ms
from anpr.consume import ConsumerLoop
from anpr.errors import InvalidRecord
from anpr.follow import TopicFollower
from anpr.gcpolicy import freeze_long_lived
from anpr.registry import RegistryView, RegistryWriter
from anpr.topics import Topics
from api.archive.base import ReadStore
from api.archive.factory import make_read_store
from api.audit import AuditLog
from api.changes import ChangeSignal
from api.health.tracker import HealthTopics, HealthTracker, Sweep
from api.hits.hub import StreamHub
from api.hits.ingest import HitIngest, hits_group_id
from api.hotlists.service import HotlistService
from api.metrics import ApiMetrics
from api.settings import ApiSettings
from api.store.base import Store, StoreUnavailable
from api.store.config import make_store

log = logging.getLogger(__name__)

BOOTSTRAP_ADMIN = "bootstrap-admin"


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
        self._camera_status_shown: dict[str, tuple[str, str, str]] = {}
        self.store: Store = store or make_store(settings)
        # The read archive, searched here and written by `api.archive` (`anpr archive`).
        self.reads: ReadStore = reads or make_read_store(settings)
        self.audit = AuditLog(self.store, self.metrics, clock)
        # Registry: the fold every process keeps, and the one write path.
        self.registry = RegistryView()
        self.registry_changed = ChangeSignal()
        self.registry_writer = RegistryWriter(bus, self.topics.registry)
        self.registry_lock = asyncio.Lock()
        self.registry_follower = TopicFollower(
            bus,
            [self.topics.registry],
            self._apply_registry,
            name="api-registry",
            on_invalid=self._invalid("registry"),
        )
        self.hotlists = HotlistService(settings, bus, self.topics, self.metrics, clock=clock)
        # Hits.
        self.hub = StreamHub(self.metrics, queue_size=settings.stream_queue_size)
        self.hit_ingest = HitIngest(self.store, self.hub, self.metrics)
        self.hits_loop: ConsumerLoop | None = None
        # Camera health.
        self.health = HealthTracker(
            HealthTopics(self.topics.reads, self.topics.heartbeats, self.topics.gateway_events),
            started_at=clock(),
        )
        self.health_loop = ConsumerLoop(
            bus,
            [self.topics.reads, self.topics.heartbeats, self.topics.gateway_events],
            self._handle_health,
            name="api-health",
            group_id=None,
            from_beginning=False,
            poll_ms=max(settings.consumer_poll_ms, 200),
        )
        self._tasks: list[asyncio.Task[None]] = []
        admin = settings.admin_token.get_secret_value() if settings.admin_token else None
        self._admin_token = admin or None

    # -- consumers -----------------------------------------------------------------------------

    def _invalid(self, topic: str) -> Callable[[InvalidRecord], None]:
        def count(exc: InvalidRecord) -> None:
            self.metrics.invalid_records.labels(topic).inc()

        return count

    def _apply_registry(self, record: Record) -> None:
        try:
            self.registry.apply(record.key, record.value)
        finally:
            self.registry_changed.notify()

    async def _handle_health(self, records: Sequence[Record]) -> None:
        now = self.clock()
        for record in records:
            try:
                self.health.apply(record, now)
            except InvalidRecord as exc:
                log.debug("health: skipping record: %s", exc)
                self.metrics.invalid_records.labels("health").inc()
        self.metrics.records_consumed.labels("health").inc(len(records))

    # -- state ---------------------------------------------------------------------------------

    @property
    def registry_loaded(self) -> bool:
        return self.registry_follower.caught_up.is_set()

    @property
    def hits_caught_up(self) -> bool:
        return self.hits_loop is not None and self.hits_loop.caught_up.is_set()

    @property
    def ready(self) -> bool:
        return self.registry_loaded and self.hotlists.loaded and self.hits_caught_up

    def authenticate(self, header: str | None) -> Principal | None:
        """The caller of a `Bearer` token (HTTP Basic is for the gateway only)."""
        creds = parse_authorization(header)
        if creds is None or creds.basic_user is not None:
            return None
        if self._admin_token and same_token(creds.token, self._admin_token):
            return Principal(Role.ADMIN, BOOTSTRAP_ADMIN, hash_token(creds.token))
        return self.registry.principal(creds.token)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.store.open()
        await self.reads.open()
        self.health.restore(await self.store.load_activity())
        await self.hit_ingest.start()
        self.registry_follower.start()
        self.hotlists.start()
        self.hits_loop = ConsumerLoop(
            self.bus,
            [self.topics.hits],
            self.hit_ingest.handle_batch,
            name="api-hits",
            group_id=hits_group_id(self.settings.topic_prefix, self.store.store_id),
            from_beginning=True,
            poll_ms=self.settings.consumer_poll_ms,
        )
        self.hits_loop.start()
        self.health_loop.start()
        self._tasks = [
            asyncio.create_task(self._refresh_loop(), name="api-health-refresh"),
            asyncio.create_task(self._retention_loop(), name="api-retention"),
            asyncio.create_task(self._stream_tail_loop(), name="api-stream-tail"),
        ]
        log.info("api started; hit store %s", self.store.store_id)

    async def stop(self) -> None:
        self.hub.close_all()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.health_loop.stop()
        if self.hits_loop is not None:
            await self.hits_loop.stop()
        await self.hotlists.stop()
        await self.registry_follower.stop()
        try:
            await self.save_activity()
        except Exception:
            log.exception("camera activity not saved at shutdown")
        await self.reads.close()
        await self.store.close()

    # -- periodic work -------------------------------------------------------------------------

    def refresh_health_metrics(self) -> list[str]:
        """Evaluate every camera and publish the status gauges (also done before a scrape);
        the ids of the cameras no longer registered, now forgotten."""
        if not self.registry_loaded:
            return []
        sweep = self.health.sweep(list(self.registry.cameras.values()), self.clock())
        for status, count in sweep.by_status.items():
            self.metrics.cameras_by_status.labels(status.value).set(count)
        for camera_id in sweep.forgotten:
            with contextlib.suppress(KeyError):
                self.metrics.camera_last_seen_age.remove(camera_id)
            with contextlib.suppress(KeyError):
                self.metrics.camera_clock_skew.remove(camera_id)
        for camera_id, age in sweep.last_seen_age_s.items():
            self.metrics.camera_last_seen_age.labels(camera_id).set(age)
        self._camera_status_series(sweep)
        self.metrics.ready.set(1 if self.ready else 0)
        return sweep.forgotten

    def _camera_status_series(self, sweep: Sweep) -> None:
        """One series per camera, moved (old label set removed) when its status changes."""
        shown = self._camera_status_shown
        for camera_id, (status, state) in sweep.status_of.items():
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
        for camera_id in [c for c in shown if c not in sweep.status_of]:
            with contextlib.suppress(KeyError):
                self.metrics.camera_status.remove(*shown.pop(camera_id))

    async def save_activity(self) -> None:
        await self.store.save_activity(self.health.activity())

    async def _refresh_loop(self) -> None:
        frozen = False
        while True:
            await asyncio.sleep(self.settings.health_refresh_s)
            if self.ready and not frozen:
                freeze_long_lived("loading registry, hotlists and hits")
                frozen = True
            forgotten = self.refresh_health_metrics()
            if forgotten:
                await self.store.forget_activity(forgotten)
            await self.save_activity()

    async def _stream_tail_loop(self) -> None:
        """Hits another replica stored in a shared store reach this replica's streams."""
        while True:
            await asyncio.sleep(self.settings.stream_poll_ms / 1000)
            try:
                await self.hit_ingest.publish_new()
            except StoreUnavailable as exc:
                log.warning("stream tail: %s; retrying", exc)

    async def apply_retention(self) -> dict[str, int]:
        now = self.clock()
        removed = await self.store.purge(
            hits_before=now - self.settings.hit_retention_ms,
            activity_before=now - self.settings.read_retention_ms,
        )
        for table, count in removed.items():
            self.metrics.retention_deleted.labels(table).inc(count)
        return removed

    async def _retention_loop(self) -> None:
        while True:
            removed = await self.apply_retention()
            if any(removed.values()):
                log.info("retention removed %s", removed)
            await asyncio.sleep(self.settings.retention_interval_s)
