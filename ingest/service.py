"""The gateway's long-lived parts, wired together: registry view, dedup memory, rate limits."""

from __future__ import annotations

import contextlib
import logging
import uuid

from prometheus_client import CollectorRegistry

from anpr.auth import Principal, Role, hash_token, parse_authorization, same_token
from anpr.bus.base import Bus, Record
from anpr.follow import TopicFollower
from anpr.gcpolicy import freeze_long_lived, young_collected_less_often
from anpr.registry import RegistryView
from anpr.runtime import Runtime
from anpr.topics import Topics
from ingest.admission import Admission, AdmissionQueue
from ingest.dedup import RecentReads
from ingest.events import GatewayEvents
from ingest.formats import FormatCatalog
from ingest.keys_outbox import KeysOutbox
from ingest.metrics import GatewayMetrics
from ingest.peers import PeerReads
from ingest.pipeline import IngestPipeline
from ingest.ratelimit import RateLimiter
from ingest.settings import GatewaySettings

log = logging.getLogger(__name__)


class GatewayService:
    def __init__(self, settings: GatewaySettings, bus: Bus) -> None:
        self.settings = settings
        self.bus = bus
        self.topics = Topics.from_prefix(settings.topic_prefix)
        self.metrics = GatewayMetrics(CollectorRegistry())
        self.runtime = Runtime.for_process("gateway", settings, bus, self.metrics.registry)
        self.registry = RegistryView()
        self.formats = FormatCatalog(self.registry)
        self.follower = TopicFollower(
            self.runtime, [self.topics.registry], self._apply_registry, name="gateway-registry"
        )
        self.recent = RecentReads(
            window_s=settings.dedup_window_s, max_entries=settings.dedup_max_entries
        )
        self.limiter = RateLimiter(
            rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst
        )
        # One id per process start: the keys records of this gateway, which its own peer loop
        # skips (its memory has their keys); the next start reads them back like any other.
        instance = f"gateway/{uuid.uuid4().hex}".encode()
        self.keys = KeysOutbox(
            bus,
            self.topics.dedup_keys,
            instance,
            window_s=settings.dedup_window_s,
            max_keys=settings.dedup_max_entries,
            timeout_s=settings.publish_timeout_s,
            on_expired=self.metrics.dedup_keys_expired.inc,
        )
        self.metrics.dedup_keys_pending.set_function(lambda: len(self.keys))
        self.peers = PeerReads(
            self.runtime,
            self.topics.dedup_keys,
            self.recent,
            warm_s=settings.dedup_warm_s,
            own=instance,
        )
        self.events = GatewayEvents(bus, self.topics.gateway_events)
        self.pipeline = IngestPipeline(
            bus=bus,
            topic=self.topics.reads,
            registry=self.registry,
            recent=self.recent,
            metrics=self.metrics,
            events=self.events,
            retention_ms=settings.read_retention_ms,
            publish_timeout_s=settings.publish_timeout_s,
            keys=self.keys,
        )
        self.admission = Admission(
            AdmissionQueue(
                budget_s=settings.ingest_queue_budget_ms / 1000,
                slots=settings.ingest_concurrency,
            ),
            retry_after_cap_s=settings.retry_after_s,
        )
        admin = settings.admin_token.get_secret_value() if settings.admin_token else None
        self._admin_token = admin
        self._frozen = False
        self._collector = contextlib.ExitStack()  # the collector's setting while it serves

    def _apply_registry(self, record: Record) -> None:
        self.registry.apply(record.key, record.value)
        if record.value is None and record.key is not None and record.key.startswith(b"camera/"):
            self.metrics.forget_camera(record.key[len(b"camera/") :].decode("utf-8", "replace"))

    @property
    def registry_loaded(self) -> bool:
        """Requests are served once the registry was loaded, also while its follower reconnects."""
        return self.follower.caught_up.is_set()

    @property
    def dedup_warm(self) -> bool:
        """Whether the duplicate memory has read back the last `dedup_warm_s` of keys (once,
        at start): before, a resend of a read published just before a restart is not known."""
        return self.peers.loop.caught_up.is_set()

    @property
    def ready(self) -> bool:
        """`/readyz`: the registry loaded and every consumer loop caught up and progressing."""
        return self.registry_loaded and self.runtime.loops_ready

    async def start(self) -> None:
        self._collector.enter_context(young_collected_less_often())
        self.runtime.watch_event_loop()
        self.follower.start()
        self.runtime.supervisor.spawn_periodic(
            "gateway-events", self.settings.events_flush_s, self._every_flush
        )
        self.runtime.supervisor.spawn("gateway-dedup-keys", self.keys.run)
        if self.settings.dedup_follow_topic:
            self.peers.start()

    async def _every_flush(self) -> None:
        if not self._frozen and self.registry_loaded:
            # Without this each full collection walked the framework's and the registry's
            # objects: 55-210 ms pauses at 1,000 reads/s, the largest part of the p99.
            freeze_long_lived("loading the registry")
            self._frozen = True
        await self.events.flush()

    async def stop(self) -> None:
        try:
            await self.runtime.stop()
            await self.keys.flush_on_stop(self.settings.publish_timeout_s)
            await self.events.flush_on_stop()
        finally:
            self._collector.close()

    def authenticate(self, header: str | None) -> Principal | None:
        creds = parse_authorization(header)
        if creds is None:
            return None
        if self._admin_token and same_token(creds.token, self._admin_token):
            return Principal(Role.ADMIN, "bootstrap-admin", hash_token(creds.token), bootstrap=True)
        principal = self.registry.principal(creds.token)
        if principal is None:
            return None
        if creds.basic_user is not None and creds.basic_user != principal.integrator_id:
            return None
        return principal
