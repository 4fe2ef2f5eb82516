"""A hotlist written straight onto the bus as the API would write it (its configuration, then
one entry), for tests of the processes that follow the hotlists topic."""

from __future__ import annotations

from anpr.bus.base import Bus, Message
from anpr.clock import now_ms
from anpr.hotlists import MatchMode, parse_entry_list, plan_put_config, plan_upsert_entries
from anpr.topics import Topics


async def commit_entry(
    bus: Bus, topics: Topics, plate: str, *, match: MatchMode = MatchMode.OCR
) -> int:
    """Create the list `stolen` with entry `e1` for `plate`; the version committed."""
    at = now_ms()
    put = plan_put_config(
        None, list_id="stolen", name="Stolen", category="stolen", priority=1,
        match=match, covert=False, now_ms=at,
    )  # fmt: skip
    assert put.config is not None
    specs, _ = parse_entry_list([{"entry_id": "e1", "plate": plate}])
    upsert = plan_upsert_entries(put.config, specs, now_ms=at + 1)
    assert upsert.config is not None
    await bus.publish(
        [Message(topics.hotlists, k.encode(), v) for k, v in put.records + upsert.records],
        timeout_s=1,
    )
    return upsert.config.version
