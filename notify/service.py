"""The delivery worker: targets from the registry topic, hits from the hits topic, outcomes out.

Start-up order matters: the registry (with the targets) is replayed first, and only once it has
caught up does the hits consumer start; otherwise hits read before the targets are known would be
committed as having no target and never delivered.

Offsets: the hits are consumed with the group `ANPR_NOTIFY_GROUP` (default `<prefix>notify`),
shared by every replica of `anpr notify`, so each hit is delivered by one replica. A new group
starts at the end of the topic (a first deployment does not replay months of hits to partners).
`handle_batch` returns only when every delivery of the batch has ended (delivered, failed after
the retry window, or cancelled) and its outcome is published; then `ConsumerLoop` commits. A crash
or restart mid-batch re-delivers the batch: at least once, and the receiver dedupes on the
delivery id. At most `ANPR_NOTIFY_MAX_IN_FLIGHT` deliveries run at once. A hit that appears
again (a matcher re-matched its batch) is not delivered again by a worker that remembers
delivering it.

Batches are bounded: the loop polls again only after a batch ends, and Kafka drops a member that
has not polled for its poll interval (15 min for notify's consumer). So a batch holds no more
hits than the settings' worst case lets end in time (`notify.budget`): a few times
`ANPR_NOTIFY_MAX_IN_FLIGHT` deliveries (six times, with the defaults), divided by the most
webhook targets one list has.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine, Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from anpr.bus.base import Message, Record
from anpr.clock import now_ms
from anpr.codecs import HITS
from anpr.consume import MAX_BATCH, ConsumerLoop
from anpr.deadletter import Poison
from anpr.deliveries import DeliveryOutcome, DeliveryResult, encode_result
from anpr.errors import AnprError, BusUnavailable, InvalidRecord
from anpr.follow import TopicFollower
from anpr.registry import RegistryView
from anpr.runtime import Runtime
from anpr.topics import Topics
from anpr.webhooks import WEBHOOK_KIND, delivery_id
from notify.backoff import Backoff
from notify.deliver import Deliverer
from notify.metrics import NotifyMetrics
from notify.routing import HitFields, Skip, route
from notify.settings import NotifySettings

log = logging.getLogger(__name__)

# How many delivered delivery ids a worker remembers, to skip a hit the matcher published again.
# Receivers still dedupe (another replica, or a restart, forgets), this only saves requests.
RECENT_DELIVERED = 100_000


def decode_hit(record: Record) -> tuple[dict[str, Any], HitFields]:
    """The hit (the kernel's hits codec checks it) and the fields routing needs."""
    hit = dict(HITS.decode(record.value))
    try:
        return hit, HitFields.model_validate(hit)
    except ValidationError as exc:
        raise InvalidRecord(f"hit: {exc.error_count()} errors") from None


class NotifyService:
    def __init__(
        self,
        settings: NotifySettings,
        runtime: Runtime,
        metrics: NotifyMetrics,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.bus = runtime.bus
        self.metrics = metrics
        self.topics = Topics.from_prefix(settings.topic_prefix)
        self.registry = RegistryView()
        self.registry_follower = TopicFollower(
            runtime, [self.topics.registry], self._apply_registry, name="notify-registry"
        )
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(
                settings.notify_timeout_s, connect=settings.notify_connect_timeout_s
            ),
            limits=httpx.Limits(max_connections=settings.notify_max_in_flight),
            follow_redirects=False,
            trust_env=settings.notify_trust_env,
        )
        self.deliverer = Deliverer(
            self.client,
            self.registry.webhooks.get,
            Backoff(
                base_s=settings.notify_backoff_base_s,
                cap_s=settings.notify_backoff_cap_s,
                window_s=settings.notify_retry_window_s,
            ),
            metrics,
            allow_http_loopback=settings.webhook_allow_http_loopback,
            attempt_timeout_s=settings.notify_timeout_s,
        )
        self._slots = asyncio.Semaphore(settings.notify_max_in_flight)
        self.budget = settings.batch_budget
        self._fanout_warned = 0
        self.hits_loop = ConsumerLoop(
            runtime,
            [self.topics.hits],
            self.handle_batch,
            name="notify-hits",
            group_id=settings.group_id,
            from_beginning=False,
            poll_ms=settings.notify_poll_ms,
            max_batch=self.hits_per_batch,
            max_poll_interval_s=self.budget.poll_interval_s,
            # A batch may retry receivers for its worst case before it ends (a consumer that
            # stops fetching is stalled after ANPR_STALL_S all the same).
            busy_s=runtime.stall_s + self.budget.batch_s(self.budget.max_deliveries),
            wait_for=self._registry_loaded,
        )
        # Delivery ids this process delivered lately, oldest first (a bounded memory).
        self._recent: dict[str, None] = {}

    def _apply_registry(self, record: Record) -> None:
        before = None
        kind, _, target_id = (record.key or b"").decode("utf-8", "replace").partition("/")
        if kind == WEBHOOK_KIND:
            before = self.registry.webhooks.get(target_id)
        self.registry.apply(record.key, record.value)
        self.deliverer.health.forget(set(self.registry.webhooks))
        after = self.registry.webhooks.get(target_id) if before is not None else None
        if after is not None and before is not None and after.url != before.url:
            # An administrator moved the target: its failures were the old address's, and
            # deliveries must not go on failing without an attempt until the next probe.
            self.deliverer.health.succeeded(target_id)

    def hits_per_batch(self) -> int:
        """Asked before each poll: a hit goes to at most as many targets as its list has."""
        per_list = Counter(t.list_id for t in self.registry.webhooks.values())
        if not per_list:
            return MAX_BATCH  # no target: a hit costs no delivery
        fanout = max(per_list.values())
        if fanout > self.budget.max_deliveries and fanout != self._fanout_warned:
            self._fanout_warned = fanout
            # No count, nor which list: it may be covert, and the logs are no place for that.
            log.warning(
                "notify: a list has more webhook targets than the %d deliveries a batch can "
                "hold within Kafka's poll interval: its hits' batches may run past it while "
                "receivers are slow",
                self.budget.max_deliveries,
            )
        return self.budget.hits_per_batch(fanout)

    @property
    def ready(self) -> bool:
        return (
            self.registry_follower.caught_up.is_set()
            and self.hits_loop.caught_up.is_set()
            and self.runtime.loops_ready
        )

    def start(self) -> None:
        self.runtime.watch_event_loop()
        self.metrics.ready.set_function(lambda: 1 if self.ready else 0)
        self.registry_follower.start()
        self.hits_loop.start()

    async def _registry_loaded(self) -> None:
        """Hits are read only once the targets are known (else they would be committed as
        having no target)."""
        await self.registry_follower.caught_up.wait()
        log.info("notify: registry loaded")

    async def stop(self) -> None:
        await self.runtime.stop()
        if self._own_client:
            await self.client.aclose()

    # -- one batch -----------------------------------------------------------------------------

    async def handle_batch(self, records: Sequence[Record]) -> list[Poison]:
        """Deliver every hit of the batch to its targets; return when all have ended and their
        outcomes are published (then the loop commits the batch)."""
        jobs: list[tuple[dict[str, Any], HitFields, str, int]] = []
        queued: set[str] = set()
        poison: list[Poison] = []
        overt = 0
        for record in records:
            try:
                hit, fields = decode_hit(record)
            except InvalidRecord as exc:
                poison.append(Poison(record, str(exc)))
                continue
            routed = route(fields, self.registry.webhooks.values())
            # A covert hit is in no count on /metrics (no token): notify.metrics.
            counted = not fields.covert
            overt += counted
            for reason, count in routed.skipped.items():
                if counted:
                    self.metrics.skipped.labels(reason.value).inc(count)
            for target in routed.targets:
                did = delivery_id(fields.hit_id, target.target_id)
                if did in self._recent or did in queued:
                    # The same hit again (a matcher that re-matched a batch): already delivered
                    # by this process, or already queued in this batch.
                    if counted:
                        self.metrics.skipped.labels(Skip.DUPLICATE.value).inc()
                    continue
                queued.add(did)
                jobs.append((hit, fields, target.target_id, record.timestamp_ms))
        self.metrics.hits_consumed.inc(overt)
        if not jobs:
            return poison
        unpublished = await _all_or_none([self._run(*job) for job in jobs])
        pending = [r for r in unpublished if r is not None]
        if pending:
            # One more try for the outcomes that could not be published; failing again, the
            # batch is redone (deliveries repeat under the same delivery ids).
            try:
                await self._publish(pending)
            except AnprError as exc:
                raise BusUnavailable(f"delivery outcomes not published: {exc}") from exc
            for result in pending:
                self._published(result)
        return poison

    async def _run(
        self, hit: dict[str, Any], fields: HitFields, target_id: str, topic_ts: int
    ) -> DeliveryResult | None:
        """Deliver one; the outcome if it could not be published, else None."""
        counted = not fields.covert
        async with self._slots:
            if counted:
                self.metrics.in_flight.inc()
            try:
                result = await self.deliverer.deliver(hit, fields, target_id)
            finally:
                if counted:
                    self.metrics.in_flight.dec()
        if result.outcome is DeliveryOutcome.DELIVERED and counted:
            self.metrics.hit_age_seconds.observe(max(0, now_ms() - topic_ts) / 1000)
        try:
            await self._publish([result])
        except AnprError as exc:
            log.warning("notify: delivery outcome not published yet: %s", exc)
            self.metrics.result_publish_failures.inc()
            return result
        self._published(result)
        return None

    def _published(self, result: DeliveryResult) -> None:
        """Remembered as delivered only once its outcome is on the topic: a batch redone
        because an outcome could not be published delivers it again (same delivery id)
        and publishes it, instead of skipping it as a duplicate and losing its log entry."""
        if result.outcome is DeliveryOutcome.DELIVERED:
            self._remember(result.delivery_id)

    def _remember(self, did: str) -> None:
        self._recent[did] = None
        if len(self._recent) > RECENT_DELIVERED:
            del self._recent[next(iter(self._recent))]

    async def _publish(self, results: Sequence[DeliveryResult]) -> None:
        await self.bus.publish(
            [
                Message(self.topics.deliveries, r.delivery_id.encode(), encode_result(r))
                for r in results
            ],
            timeout_s=self.settings.result_publish_timeout_s,
        )


async def _all_or_none(
    runs: Sequence[Coroutine[Any, Any, DeliveryResult | None]],
) -> list[DeliveryResult | None]:
    """Every run's result; when one raises, the others are cancelled (and waited for) before
    the error goes on: the batch is redone, and a delivery of it still under way would run on
    beside the redo, sending the same delivery id twice at once. The error is the run's own
    (`retriable` kept), not an exception group."""
    tasks = [asyncio.ensure_future(run) for run in runs]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
