"""Follow a compacted topic: replay it from the start, say when caught up, then keep following.

Every process rebuilds its view of the registry and the hotlists this way (contract section 5).
The loop itself is `anpr.consume.ConsumerLoop` without a group; this adds record-by-record
application with malformed records skipped.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence

from anpr.bus.base import Bus, Record
from anpr.consume import ConsumerLoop
from anpr.errors import InvalidRecord

log = logging.getLogger(__name__)

# An apply may be async: a matcher builds a replaced 10M-entry list in chunks, yielding to the
# loop so matching goes on meanwhile, while later records of the topic wait their turn.
ApplyOne = Callable[[Record], Awaitable[None] | None]


class TopicFollower:
    """Feeds every record of `topics`, oldest first, to `apply`; `caught_up` is set once the
    records that existed at start have all been applied. A record `apply` finds malformed
    (`InvalidRecord`) goes to `on_invalid` and is skipped: one bad record must not stop a
    process from learning the rest."""

    def __init__(
        self,
        bus: Bus,
        topics: Sequence[str],
        apply: ApplyOne,
        *,
        name: str,
        on_invalid: Callable[[InvalidRecord], None],
        poll_ms: int = 200,
    ) -> None:
        self._apply = apply
        self._name = name
        self._on_invalid = on_invalid
        self.records_applied = 0
        self._loop = ConsumerLoop(
            bus,
            topics,
            self._apply_all,
            name=name,
            group_id=None,
            from_beginning=True,
            poll_ms=poll_ms,
        )
        self.caught_up = self._loop.caught_up

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _apply_all(self, records: Sequence[Record]) -> None:
        for record in records:
            try:
                result = self._apply(record)
                if inspect.isawaitable(result):
                    await result
            except InvalidRecord as exc:
                log.error(
                    "%s: skipping invalid record at offset %d: %s", self._name, record.offset, exc
                )
                self._on_invalid(exc)
        self.records_applied += len(records)
