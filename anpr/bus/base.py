"""The bus interface: publish with acknowledgement, consume in batches, commit, measure lag."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from anpr.bus.drift import TopicDrift

TopicPartition = tuple[str, int]

# How long a fetch may wait at the broker for records: hot consumers (reads, hits) get an
# answer as soon as one record is there and wait briefly otherwise; cold followers of
# compacted and status topics wait long, so that an idle system costs next to nothing
# (5 s, was 2 s; with the loops made cold alongside it, an idle broker and services went from
# 0.105-0.127 to 0.078-0.083 cores: benchmarks/results/2026-11-30-gc-idle.md).
HOT_FETCH_WAIT_MS = 500
COLD_FETCH_WAIT_MS = 5000
# A group member that does not poll for this long is dropped from its group (Kafka's
# max.poll.interval.ms, aiokafka's default): its partitions go to another member and what it had
# not committed is redone. A handler that can run long (`anpr notify`'s deliveries) asks for a
# longer one (`Bus.consumer`) and sizes its batches to stay well within it.
MAX_POLL_INTERVAL_S = 300.0


@dataclass(frozen=True, slots=True)
class GroupProgress:
    """Where a consumer group stands on its topics, over every partition (assigned here or not)."""

    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


# The indices (in the published sequence) of a failed publish's messages stored after all.
LandedLate = Callable[[Sequence[int]], None]


class Message(NamedTuple):
    """A record to publish. `value=None` is a tombstone on a compacted topic.

    A named tuple, as `Record` is: the gateway makes one per read, and a frozen dataclass's
    `__init__` cost more than building the read's bytes."""

    topic: str
    key: bytes
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class Record(NamedTuple):
    """A record as consumed, with its position.

    A named tuple, not a dataclass: one is made for every record consumed, and a tuple is
    built several times faster (a read costs the matcher a few microseconds in all).
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: Sequence[tuple[str, bytes]] = ()


class Consumer(Protocol):
    """One subscription. With a group id, offsets are committed for the group."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def getmany(self, *, timeout_ms: int, max_records: int) -> Sequence[Record]:
        """Up to `max_records` records, waiting at most `timeout_ms` when none are ready (may be
        an `anpr.bus.batch.RecordBatch`: read values with `values_of`)."""
        ...

    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        """Commit `offsets` (the next offset to read, per partition; those of partitions no
        longer assigned are left out), or else the positions after every record returned so
        far."""
        ...

    async def end_offsets(self) -> dict[TopicPartition, int]:
        """The offset after the last record of each assigned partition."""
        ...

    async def positions(self) -> dict[TopicPartition, int]:
        """The next offset this consumer will read, per assigned partition."""
        ...

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions this consumer reads now (a group member's may be empty)."""
        ...

    async def group_progress(self) -> GroupProgress | None:
        """The group's committed offsets against the ends, over all partitions of the topics;
        `None` without a group. Tells a member without partitions whether the group moves."""
        ...


class Bus(Protocol):
    """Publish and subscribe. `publish` returns only once every message is acknowledged."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ensure_topics(self) -> None:
        """Create the project's topics if they do not exist."""
        ...

    async def topic_drift(self) -> list[TopicDrift]:
        """The settings of existing topics that differ from their specs (`anpr.bus.drift`)."""
        ...

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        """Durably publish every message or raise; `BusUnavailable` when not done in time.

        A publish that raised may still reach the log: a client that keeps retrying its
        batches after the caller gave up (Kafka's). `landed_late`, when given, is then called
        once every message has its outcome, with the indices of the messages that were stored
        (none: not called). A bus whose failed publish stored nothing never calls it."""
        ...

    async def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """The offset after the last record of every partition of `topics`, now. Not through
        a consumer: its requests queue behind its long-polled fetch (up to its fetch wait)."""
        ...

    def consumer(
        self,
        topics: Sequence[str],
        *,
        group_id: str | None,
        from_beginning: bool,
        start_at_ms: int | None = None,
        resume_at: Mapping[TopicPartition, int] | None = None,
        fetch_wait_ms: int = HOT_FETCH_WAIT_MS,
        max_poll_interval_s: float = MAX_POLL_INTERVAL_S,
    ) -> Consumer:
        """A consumer; a group member that does not poll for `max_poll_interval_s` is dropped
        from its group (Kafka's `max.poll.interval.ms`). Without a group, `start_at_ms` starts
        at the first record at or after that time (the end where there is none) instead of the
        beginning or the end, and `resume_at` continues a replaced consumer where it was
        (other partitions start as otherwise asked). Every call on it is bounded in time: it
        raises `BusUnavailable` rather than wait for a cluster that does not answer."""
        ...
