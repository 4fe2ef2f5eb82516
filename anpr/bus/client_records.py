"""aiokafka's consumed records as its record batches hold them, without a `ConsumerRecord` each.

aiokafka turns every record it unpacks into a `ConsumerRecord`, a dataclass of eleven fields
built in Python. For the matcher that was about a fifth of its time through Kafka (py-spy, 1M
reads: `PartitionRecords._consumer_record` 5.3 % of samples against 24 % for the whole consume
loop), more than matching. The record it is made from (`DefaultRecord`, C in aiokafka's
wheels) already has what the bus reads: `offset`, `key`, `value`, `timestamp`, `headers`;
topic and partition come with the partition's list of records (`getmany`'s dict).

The bus's consumers pass `KEEP_VALUE` as their value deserializer. aiokafka has no public
switch for this, so `install` wraps its private `PartitionRecords._consumer_record`: for a
consumer marked `KEEP_VALUE` it returns the unpacked record itself, for any other consumer it
does what it did. Should a later aiokafka not have the method or the attribute, `install`
leaves it alone and says so once; `KEEP_VALUE` is then an ordinary identity deserializer and
records come as `ConsumerRecord`s, which have the same fields (`anpr.bus.batch` reads both).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from aiokafka.consumer import fetcher

log = logging.getLogger(__name__)


class _KeepValue:
    """The value deserializer that marks a consumer of the bus: the value as it came."""

    def __call__(self, value: bytes | None) -> bytes | None:
        return value

    def __repr__(self) -> str:
        return "KEEP_VALUE"


KEEP_VALUE = _KeepValue()
_installed: bool | None = None


def install() -> bool:
    """Make consumers marked `KEEP_VALUE` hand out unpacked records; True when in effect."""
    global _installed
    if _installed is not None:
        return _installed
    records_class: Any = getattr(fetcher, "PartitionRecords", None)
    original: Any = getattr(records_class, "_consumer_record", None)
    fits = (
        original is not None
        and list(inspect.signature(original).parameters) == ["self", "tp", "record"]
        and "value_deserializer" in inspect.signature(records_class.__init__).parameters
    )
    if not fits:
        log.warning(
            "aiokafka's PartitionRecords is not as expected: consumed records are made into "
            "ConsumerRecords (correct, slower)"
        )
        _installed = False
        return False

    def _consumer_record(self: Any, tp: Any, record: Any) -> Any:
        if self._value_deserializer is KEEP_VALUE:
            return record
        return original(self, tp, record)

    records_class._consumer_record = _consumer_record
    _installed = True
    return True
