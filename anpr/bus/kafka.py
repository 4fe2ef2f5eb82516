"""The Kafka bus (aiokafka): idempotent `acks=all` producer, manual-commit consumers, admin."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import (
    CorruptRecordException,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from aiokafka.partitioner import DefaultPartitioner

from anpr.bus.base import (
    HOT_FETCH_WAIT_MS,
    MAX_POLL_INTERVAL_S,
    GroupProgress,
    LandedLate,
    Message,
    Record,
)
from anpr.bus.base import TopicPartition as TP
from anpr.bus.batch import RecordBatch
from anpr.bus.client_records import KEEP_VALUE, install
from anpr.bus.drift import TopicDrift, topic_drift
from anpr.bus.produce_batches import PartitionBatches
from anpr.errors import BusError, BusUnavailable, RecordRefused
from anpr.topics import TopicSpec

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36
MAX_REQUEST_BYTES = 8 * 1024 * 1024
STOP_TIMEOUT_S = 5.0
# Stops of clients that did not finish in time: kept referenced until they end by themselves.
_ABANDONED: set[asyncio.Future[None]] = set()
MAX_BATCH_BYTES = 256 * 1024
FETCH_PARTITION_BYTES = 1024 * 1024
# Every call on the cluster is bounded: start-up (bootstrap, group join) and one-off requests.
START_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 10.0
KEY_CACHE_MAX = 100_000
# A publish of this many records or more goes into the shared batches (see `_send_all`).
SHARED_BATCH_MIN = 8


class KafkaBus:
    """A bus on a Kafka cluster. One producer per process, shared by every publisher."""

    def __init__(
        self,
        bootstrap: str,
        specs: Sequence[TopicSpec],
        *,
        client_id: str = "anpr",
        linger_ms: int = 0,
    ) -> None:
        self._bootstrap = bootstrap
        self._specs = list(specs)
        self._client_id = client_id
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._batches: PartitionBatches | None = None
        self._partitioner = DefaultPartitioner()
        self._key_index: dict[tuple[bytes, int], int] = {}
        # An idle consumer (never subscribed, never fetching) for end offsets: its own
        # connections, so the question never waits behind another consumer's long poll.
        self._offsets: AIOKafkaConsumer | None = None
        self._offsets_lock = asyncio.Lock()

    @property
    def bootstrap(self) -> str:
        return self._bootstrap

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=self._linger_ms,
            max_request_size=MAX_REQUEST_BYTES,
            max_batch_size=MAX_BATCH_BYTES,
            request_timeout_ms=10_000,
        )
        try:
            async with _mapped(f"cannot connect to Kafka at {self._bootstrap}", START_TIMEOUT_S):
                await producer.start()
        except BaseException:
            await _close_quietly(producer)
            raise
        self._producer = producer
        self._batches = PartitionBatches(producer)

    async def end_offsets(self, topics: Sequence[str]) -> dict[TP, int]:
        async with _consumer_call("end offsets", REQUEST_TIMEOUT_S):
            offsets = await self._offsets_consumer()
            partitions = await _partitions_of(offsets, topics)
            ends = await offsets.end_offsets(partitions)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def _offsets_consumer(self) -> AIOKafkaConsumer:
        async with self._offsets_lock:
            if self._offsets is None:
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self._bootstrap,
                    client_id=f"{self._client_id}-offsets",
                    enable_auto_commit=False,
                    request_timeout_ms=int(REQUEST_TIMEOUT_S * 1000) + 5_000,
                )
                try:
                    await consumer.start()
                except BaseException:
                    await _close_quietly(consumer)
                    raise
                self._offsets = consumer
            return self._offsets

    async def stop(self) -> None:
        if self._offsets is not None:
            offsets, self._offsets = self._offsets, None
            await _close_quietly(offsets)
        if self._producer is not None:
            producer, self._producer = self._producer, None
            if self._batches is not None:
                batches, self._batches = self._batches, None
                await batches.close(STOP_TIMEOUT_S)
            # A producer with unacknowledged records waits for them on stop; with the cluster
            # gone that would be forever. Those records were never acknowledged to anyone.
            stopping = asyncio.ensure_future(producer.stop())
            done, _ = await asyncio.wait({stopping}, timeout=STOP_TIMEOUT_S)
            if stopping not in done:
                log.warning("Kafka producer did not stop within %s s; abandoned", STOP_TIMEOUT_S)
                _ABANDONED.add(stopping)
                stopping.add_done_callback(_ABANDONED.discard)
            elif not stopping.cancelled() and stopping.exception() is not None:
                log.warning("Kafka producer did not stop cleanly: %r", stopping.exception())

    async def ensure_topics(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=self._client_id)
        try:
            async with _mapped(f"cannot create topics on {self._bootstrap}", START_TIMEOUT_S):
                await self._create_missing(admin)
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await admin.close()

    async def _create_missing(self, admin: AIOKafkaAdminClient) -> None:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [spec for spec in self._specs if spec.name not in existing]
        if not missing:
            return
        response = await admin.create_topics(
            [
                NewTopic(
                    name=spec.name,
                    num_partitions=spec.partitions,
                    replication_factor=spec.replication,
                    topic_configs=spec.config,
                )
                for spec in missing
            ]
        )
        for topic, code, *rest in response.topic_errors:
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise BusError(f"cannot create topic {topic}: error {code} {rest}")
        log.info("created topics %s", [spec.name for spec in missing])

    async def topic_drift(self) -> list[TopicDrift]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=self._client_id)
        try:
            async with _mapped(f"cannot describe topics on {self._bootstrap}", START_TIMEOUT_S):
                await admin.start()
                names = [spec.name for spec in self._specs]
                existing = set(await admin.list_topics()) & set(names)
                if not existing:
                    return []
                partitions = {
                    meta["topic"]: len(meta["partitions"])
                    for meta in await admin.describe_topics(sorted(existing))
                    if meta["error_code"] == 0
                }
                described = await admin.describe_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, name) for name in sorted(existing)]
                )
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await admin.close()
        configs: dict[str, dict[str, str]] = {}
        for response in described:
            for error_code, _, _, name, entries in response.resources:
                if error_code == 0:
                    configs[name] = {entry[0]: entry[1] or "" for entry in entries}
        return topic_drift(self._specs, configs, partitions)

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        producer, batches = self._producer, self._batches
        if producer is None or batches is None:
            raise BusUnavailable("the Kafka producer is not started")
        # Not `_mapped`: a generator-based context manager costs more than the rest of a
        # single-read publish (py-spy, benchmarks.http_stack).
        outcomes: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(timeout_s):
                await self._send_all(producer, batches, messages, outcomes)
        except (TimeoutError, KafkaError) as exc:
            _report_when_settled(outcomes, landed_late)
            raise _bus_error("Kafka did not take the records", timeout_s, exc) from exc
        except BaseException:  # cancelled: what is stored after all is still reported
            _report_when_settled(outcomes, landed_late)
            raise

    async def _send_all(
        self,
        producer: AIOKafkaProducer,
        batches: PartitionBatches,
        messages: Sequence[Message],
        outcomes: list[asyncio.Future[Any]],
    ) -> None:
        """A publish of a few records through `send()`, which merges them into aiokafka's own
        batches; a larger one into its partitions' shared batches (`anpr.bus.produce_batches`):
        less Python per record, more per batch. Measured (`benchmarks.http_stack`, one gateway):
        batches of 100 reads 24-32% more requests per CPU-second the shared-batch way, single
        reads 8-16% fewer. Either way the partition is the producer's default partitioner's,
        remembered per key, and each publish waits for its own records only.
        `outcomes` gets each message's future as it is handed over (in order; a batch's for a
        message in a shared batch), for the caller to follow after a timeout: `_all_settled`,
        never `gather`, so that a publish given up cancels none of them."""
        partitions: dict[str, list[int]] = {}
        small = len(messages) < SHARED_BATCH_MIN
        for m in messages:
            known = partitions.get(m.topic)
            if known is None:
                cached = producer.client.cluster.partitions_for_topic(m.topic)
                known = partitions[m.topic] = sorted(
                    cached if cached else await producer.partitions_for(m.topic)
                )
            partition = self._partition_of(m.key, known)
            if small:
                outcomes.append(
                    await producer.send(
                        m.topic,
                        value=m.value,
                        key=m.key,
                        partition=partition,
                        headers=list(m.headers) or None,
                    )
                )
            else:
                outcomes.append(batches.add(m.topic, partition, m.key, m.value, m.headers))
        await _all_settled(outcomes)
        for outcome in outcomes:
            outcome.result()

    def _partition_of(self, key: bytes, partitions: list[int]) -> int:
        """The partition the producer's default partitioner gives `key`, remembered: the keys
        are camera ids, a few thousand, and the partitioner is murmur2 in pure Python."""
        slot = (key, len(partitions))
        index = self._key_index.get(slot)
        if index is None:
            if len(self._key_index) >= KEY_CACHE_MAX:
                self._key_index.clear()
            index = partitions.index(self._partitioner(key, partitions, partitions))
            self._key_index[slot] = index
        return partitions[index]

    def consumer(
        self,
        topics: Sequence[str],
        *,
        group_id: str | None,
        from_beginning: bool,
        start_at_ms: int | None = None,
        resume_at: Mapping[TP, int] | None = None,
        fetch_wait_ms: int = HOT_FETCH_WAIT_MS,
        max_poll_interval_s: float = MAX_POLL_INTERVAL_S,
    ) -> KafkaConsumer:
        return KafkaConsumer(
            self._bootstrap,
            topics,
            group_id=group_id,
            from_beginning=from_beginning,
            client_id=self._client_id,
            start_at_ms=start_at_ms,
            resume_at=resume_at,
            fetch_wait_ms=fetch_wait_ms,
            max_poll_interval_s=max_poll_interval_s,
        )


# Errors about one record (or batch) itself, not about the bus.
_RECORD_ERRORS = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
)


def _bus_error(what: str, timeout_s: float, exc: BaseException) -> BusError | BusUnavailable:
    """The project's error for aiokafka's `exc` (or a timeout): a timeout and every error Kafka
    marks retriable (a broker away, a coordinator moving, a leader election) are
    `BusUnavailable`; anything else is `BusError`."""
    if isinstance(exc, TimeoutError):
        return BusUnavailable(f"{what}: no answer within {timeout_s} s")
    # aiokafka marks its own timeout (a batch not delivered within the request timeout: the
    # broker away) as not retriable; it is the same outage as a timeout of ours.
    if (
        isinstance(exc, KafkaTimeoutError)
        or getattr(exc, "retriable", False)
        or getattr(exc, "invalid_metadata", False)
    ):
        return BusUnavailable(f"{what}: {exc!r}")
    if isinstance(exc, _RECORD_ERRORS):
        return RecordRefused(f"{what}: {exc!r}")
    return BusError(f"{what}: {exc!r}")


@contextlib.asynccontextmanager
async def _mapped(what: str, timeout_s: float) -> AsyncIterator[None]:
    """The one place aiokafka's errors become the project's (`_bus_error`), bounded in time."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except (TimeoutError, KafkaError) as exc:
        raise _bus_error(what, timeout_s, exc) from exc


class KafkaConsumer:
    """A manual-commit consumer: offsets move only when the caller says its work is done.

    With a group, partitions come from the group's assignment. Without one (processes that
    follow a topic whole), every partition is assigned explicitly at start and positioned at a
    concrete offset: where a replaced consumer left off (`resume_at`), the beginning, the end,
    or the first record at `start_at_ms`. Kafka's lazy "latest" reset would instead resolve at
    the first fetch and skip what was written meanwhile.

    Every call is bounded in time and raises only `BusUnavailable`/`BusError`. Any client
    error of a consumer is `BusUnavailable`: the remedy is always to close it and make a new
    one, which the consumer loop does. Nothing outside this module touches aiokafka.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        *,
        group_id: str | None,
        from_beginning: bool,
        client_id: str,
        start_at_ms: int | None = None,
        resume_at: Mapping[TP, int] | None = None,
        fetch_wait_ms: int = HOT_FETCH_WAIT_MS,
        max_poll_interval_s: float = MAX_POLL_INTERVAL_S,
    ) -> None:
        self._topics = list(topics)
        self._group = group_id
        self._from_beginning = from_beginning
        self._start_at_ms = start_at_ms
        self._resume_at = dict(resume_at or {})
        self._anchored: set[TopicPartition] = set()
        subscribed = self._topics if group_id is not None else []
        install()
        self._consumer = AIOKafkaConsumer(
            *subscribed,
            bootstrap_servers=bootstrap,
            client_id=client_id,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            # aiokafka's default. It fetches a partition again only once its records are all
            # handed out, one request per broker at a time: with 4 MiB a partition (24 MiB a
            # response for six) the matcher waited on about 20 fetches of 100 ms per million
            # reads and varied 62k-94k reads/s; with 1 MiB, 102k-111k (docs/performance.md).
            # A larger first record still comes whole (KIP-74).
            max_partition_fetch_bytes=FETCH_PARTITION_BYTES,
            # A fetch returns as soon as one record is there; when none is, the broker holds
            # it up to fetch_wait_ms, so an idle consumer polls a few times a second, not 200.
            fetch_min_bytes=1,
            fetch_max_wait_ms=fetch_wait_ms,
            # How often aiokafka's background fetcher wakes with nothing to do (default 200 ms:
            # five wake-ups a second per consumer when idle). It is woken at once by records
            # consumed and by a new assignment, so this only bounds idle housekeeping.
            consumer_timeout_ms=1000,
            isolation_level="read_uncommitted",
            # Marks the consumer for `client_records`: unpacked records, no ConsumerRecord each.
            value_deserializer=KEEP_VALUE,
            request_timeout_ms=int(REQUEST_TIMEOUT_S * 1000) + 5_000,
            # aiokafka's heartbeat task leaves the group once getmany has not been called for
            # this long.
            max_poll_interval_ms=int(max_poll_interval_s * 1000),
        )

    async def start(self) -> None:
        try:
            async with _mapped("cannot start the consumer", START_TIMEOUT_S):
                await self._consumer.start()
                if self._group is None:
                    await self._assign_all()
        except BaseException:
            # Cancelled or failed half-way: close the client so no connection is left behind.
            await self.stop()
            raise

    async def _assign_all(self) -> None:
        partitions = await _partitions_of(self._consumer, self._topics)
        self._consumer.assign(partitions)
        ends = await self._consumer.end_offsets(partitions)
        if self._start_at_ms is not None:
            at = self._start_at_ms
            found = await self._consumer.offsets_for_times({tp: at for tp in partitions})
            targets = {
                tp: ends[tp] if found.get(tp) is None else found[tp].offset for tp in partitions
            }
        elif self._from_beginning:
            targets = await self._consumer.beginning_offsets(partitions)
        else:
            targets = ends
        for tp in partitions:
            resumed = self._resume_at.get((tp.topic, tp.partition))
            self._consumer.seek(tp, targets[tp] if resumed is None else resumed)

    async def stop(self) -> None:
        """Close the consumer, bounded in time whatever state it is in.

        After a broker restart aiokafka's `stop()` can wait forever for its coordination task
        (leaving a group whose coordinator is gone) and does not give way to cancellation; a
        timeout around it would then hang as well. So it runs as a task of its own: past
        STOP_TIMEOUT_S it is abandoned and the client's connections are closed under it, which
        ends its background tasks, and the caller goes on to make a new consumer."""
        stopping = asyncio.ensure_future(self._consumer.stop())
        done, _ = await asyncio.wait({stopping}, timeout=STOP_TIMEOUT_S)
        if stopping in done:
            if not stopping.cancelled() and stopping.exception() is not None:
                log.warning("Kafka consumer did not stop cleanly: %r", stopping.exception())
            return
        log.warning("Kafka consumer did not stop within %s s; abandoned", STOP_TIMEOUT_S)
        _ABANDONED.add(stopping)
        stopping.add_done_callback(_ABANDONED.discard)
        closing = asyncio.ensure_future(self._consumer._client.close())
        _ABANDONED.add(closing)
        closing.add_done_callback(_ABANDONED.discard)
        await asyncio.wait({closing}, timeout=STOP_TIMEOUT_S)

    async def getmany(self, *, timeout_ms: int, max_records: int) -> Sequence[Record]:
        async with _consumer_call("fetch", timeout_ms / 1000 + REQUEST_TIMEOUT_S):
            batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        if self._group is not None and not self._from_beginning:
            await self._anchor(batches)
        if not batches:
            return ()
        # The client's records as they are: a `Record` is made only of one that is asked for.
        return RecordBatch([((tp.topic, tp.partition), records) for tp, records in batches.items()
                            if records])  # fmt: skip

    async def commit(self, offsets: Mapping[TP, int] | None = None) -> None:
        if self._group is None:
            return
        chosen: dict[TopicPartition, int] | None = None
        if offsets is not None:
            assigned = self._consumer.assignment()
            chosen = {
                tp: offset
                for (topic, partition), offset in offsets.items()
                if (tp := TopicPartition(topic, partition)) in assigned
            }
            if not chosen:
                return
        # E.g. a rebalance took the partitions: the batch is redone by their new owner.
        async with _consumer_call("commit", REQUEST_TIMEOUT_S):
            await self._consumer.commit(chosen)

    async def _anchor(self, batches: Mapping[TopicPartition, Sequence[Any]]) -> None:
        """A group that starts at the end commits where it starts, before its first records
        are handed out, on every partition it gets that the group has no offset for.

        Kafka resolves "latest" per consumer: without this, a consumer made after a crash
        before the group's first commit (a new notify worker, its first delivery failing)
        started at a later end and skipped every record in between."""
        assigned = self._consumer.assignment()
        new = assigned - self._anchored
        self._anchored = set(assigned)
        if not new:
            return
        anchors: dict[TopicPartition, int] = {}
        async with _consumer_call("anchor", REQUEST_TIMEOUT_S):
            for tp in new:
                if await self._consumer.committed(tp) is None:
                    fetched = batches.get(tp)
                    anchors[tp] = (
                        fetched[0].offset if fetched else await self._consumer.position(tp)
                    )
            if anchors:
                await self._consumer.commit(anchors)
        if anchors:
            log.info("group %s starts at the end: offsets committed where it starts", self._group)

    def assignment(self) -> frozenset[TP]:
        return frozenset((tp.topic, tp.partition) for tp in self._consumer.assignment())

    async def end_offsets(self) -> dict[TP, int]:
        assigned = list(self._consumer.assignment())
        if not assigned:
            return {}
        async with _consumer_call("end offsets", REQUEST_TIMEOUT_S):
            ends = await self._consumer.end_offsets(assigned)
        return {(tp.topic, tp.partition): off for tp, off in ends.items()}

    async def positions(self) -> dict[TP, int]:
        out: dict[TP, int] = {}
        async with _consumer_call("positions", REQUEST_TIMEOUT_S):
            for tp in self._consumer.assignment():
                out[(tp.topic, tp.partition)] = await self._consumer.position(tp)
        return out

    async def group_progress(self) -> GroupProgress | None:
        if self._group is None:
            return None
        async with _consumer_call("group offsets", REQUEST_TIMEOUT_S):
            partitions = [
                TopicPartition(topic, part)
                for topic in self._topics
                for part in sorted(self._consumer.partitions_for_topic(topic) or ())
            ]
            if not partitions:
                return GroupProgress(0, 0)
            ends = await self._consumer.end_offsets(partitions)
            committed = 0
            for tp in partitions:
                offset = await self._consumer.committed(tp)
                committed += ends[tp] if offset is None else offset
        return GroupProgress(committed, sum(ends.values()))


async def _partitions_of(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of `topics`, for a consumer that is not subscribed to them.

    aiokafka has no public call that loads the metadata of topics a consumer is not subscribed
    to; inside the bus (and only here) its client is used directly for that. A topic created
    moments ago may not be in the metadata yet: asked again for up to 10 s."""
    client = consumer._client
    for topic in topics:
        client.add_topic(topic)
    for _ in range(50):
        found = [
            TopicPartition(topic, part)
            for topic in topics
            for part in sorted(client.cluster.partitions_for_topic(topic) or ())
        ]
        if {tp.topic for tp in found} == set(topics):
            return found
        await client.force_metadata_update()
        await asyncio.sleep(0.2)
    raise BusUnavailable(f"no partitions known for {list(topics)}")


async def _close_quietly(client: AIOKafkaConsumer | AIOKafkaProducer) -> None:
    """Close a client that failed to start or is no longer needed, bounded in time."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await client.stop()


@contextlib.asynccontextmanager
async def _consumer_call(what: str, timeout_s: float) -> AsyncIterator[None]:
    """A consumer's errors, all retriable by replacing the consumer."""
    try:
        async with _mapped(f"consumer {what} failed", timeout_s):
            yield
    except BusError as exc:
        raise BusUnavailable(str(exc)) from exc


def _all_settled(futures: Sequence[asyncio.Future[Any]]) -> asyncio.Future[None]:
    """A future done once every one of `futures` is (at once if they all are). Cancelling it,
    as a publish's timeout does, cancels none of them: what `asyncio.wait` does for a set, for
    2 µs less per publish (a single-record publish 16.4 -> 14.5 µs of CPU in
    `python -m benchmarks.produce_costs --batch 1 --concurrency 32`)."""
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    pending = {id(f): f for f in futures if not f.done()}
    if not pending:
        waiter.set_result(None)
        return waiter

    def settled(future: asyncio.Future[Any]) -> None:
        pending.pop(id(future), None)
        if not pending and not waiter.done():
            waiter.set_result(None)

    for future in tuple(pending.values()):
        future.add_done_callback(settled)
    return waiter


def _report_when_settled(
    outcomes: list[asyncio.Future[Any]], landed_late: LandedLate | None
) -> None:
    """Once every message of a failed publish has its outcome (aiokafka goes on retrying a
    batch until its delivery timeout, after the caller gave up), the indices of those stored
    go to `landed_late`; every outcome's error is retrieved either way (none is lost)."""
    if not outcomes:
        return
    waiting = {id(f) for f in outcomes if not f.done()}

    def settled(future: asyncio.Future[Any]) -> None:
        waiting.discard(id(future))
        if waiting:
            return
        stored = [i for i, f in enumerate(outcomes) if not f.cancelled() and f.exception() is None]
        if stored and landed_late is not None:
            try:
                landed_late(stored)
            except Exception:  # a callback of the event loop: its failure is logged, not lost
                log.exception("the late outcome of a failed publish could not be handled")

    if not waiting:
        settled(outcomes[0])
        return
    for future in {id(f): f for f in outcomes if not f.done()}.values():
        future.add_done_callback(settled)
