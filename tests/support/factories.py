"""The test factories for reads and hotlists: `make_read(**overrides)` and friends.

Plain functions with defaults that give a valid object; override only what a test is about.
One read factory with two views of the same read:

- `make_read` is the canonical read on `anpr.reads.v1` (what the matcher and the API consume),
  at the fixed instant `T0` with id `r-1`, for pure tests that compare times;
- `recent_read` is the same record captured two seconds ago with a fresh id, a country and a
  confidence, for services that judge reads by the wall clock (health, retention, rollout);
- `submitted_read` is a read as a camera sends it to the gateway (no derived fields); a `None`
  override removes the field.
"""

from __future__ import annotations

import itertools
from typing import Any

from anpr.clock import ms_to_rfc3339, now_ms
from anpr.hotlists import Entry, ListConfig, MatchMode
from anpr.normalize import normalize_plate
from anpr.reads import Candidate, ReadRecord

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z

_ids = itertools.count(1)


def unique(prefix: str) -> str:
    """An id no other call in this test run gives."""
    return f"{prefix}-u{next(_ids)}"


def make_config(list_id: str = "stolen", **overrides: Any) -> ListConfig:
    fields: dict[str, Any] = {
        "list_id": list_id,
        "name": f"{list_id} vehicles",
        "category": list_id,
        "priority": 3,
        "match": MatchMode.EXACT,
        "covert": False,
        "version": 1,
        "epoch": 1,
        "updated_at_ms": T0,
    }
    fields.update(overrides)
    fields["match"] = MatchMode(fields["match"])
    return ListConfig(**fields)


def make_entry(
    entry_id: str = "e1",
    plate: str | None = "1ABC123",
    *,
    list_id: str = "stolen",
    **overrides: Any,
) -> Entry:
    fields: dict[str, Any] = {"entry_id": entry_id, "list_id": list_id, "version": 1}
    if "pattern" not in overrides:
        fields["plate"] = plate
    fields.update(overrides)
    return Entry(**fields)


def make_read(
    plate: str = "1ABC123",
    *,
    candidates: list[str] | tuple[str, ...] = (),
    captured_at_ms: int = T0,
    received_after_ms: int = 150,
    **overrides: Any,
) -> ReadRecord:
    """A canonical read; `plate_norm` follows `plate`, `received_at` follows `captured_at_ms`."""
    read: dict[str, Any] = {
        "v": 1,
        "read_id": "r-1",
        "camera_id": "cam-1",
        "integrator_id": "int-1",
        "captured_at": ms_to_rfc3339(captured_at_ms),
        "captured_at_ms": captured_at_ms,
        "received_at": captured_at_ms + received_after_ms,
        "plate": plate,
        "plate_norm": normalize_plate(plate),
    }
    if candidates:
        read["candidates"] = [Candidate(plate=c, plate_norm=normalize_plate(c)) for c in candidates]
    read.update(overrides)
    return read  # type: ignore[return-value]


def recent_read(**overrides: Any) -> dict[str, Any]:
    """`make_read` captured two seconds ago, with a fresh read id, country and confidence."""
    fields: dict[str, Any] = {
        "plate": "1-ABC-123",
        "captured_at_ms": now_ms() - 2000,
        "received_after_ms": 500,
        "read_id": unique("r"),
        "country": "BE",
        "confidence": 0.9,
    }
    fields.update(overrides)
    return dict(make_read(**fields))


def submitted_read(**overrides: Any) -> dict[str, Any]:
    """A read as a camera submits it, captured 1.5 s ago with a fresh id."""
    read: dict[str, Any] = {
        "read_id": unique("r"),
        "camera_id": "cam-1",
        "captured_at": ms_to_rfc3339(now_ms() - 1500),
        "plate": "1-ABC-123",
        "country": "BE",
        "confidence": 0.93,
    }
    for key, value in overrides.items():
        if value is None:
            read.pop(key, None)
        else:
            read[key] = value
    return read
