"""Factories for tests of the matching core and its loop: `make_read(**overrides)` and friends.

Plain functions with defaults that give a valid object; override only what a test is about.
"""

from __future__ import annotations

from typing import Any

from anpr.clock import ms_to_rfc3339
from anpr.hotlists import Entry, ListConfig, MatchMode
from anpr.normalize import normalize_plate
from anpr.reads import Candidate, ReadRecord

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


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
    plate: str = "1ABC123", *, candidates: list[str] | tuple[str, ...] = (), **overrides: Any
) -> ReadRecord:
    captured = overrides.pop("captured_at_ms", T0)
    read: dict[str, Any] = {
        "v": 1,
        "read_id": "r-1",
        "camera_id": "cam-1",
        "integrator_id": "int-1",
        "captured_at": ms_to_rfc3339(captured),
        "captured_at_ms": captured,
        "received_at": captured + 150,
        "plate": plate,
        "plate_norm": normalize_plate(plate),
    }
    if candidates:
        read["candidates"] = [Candidate(plate=c, plate_norm=normalize_plate(c)) for c in candidates]
    read.update(overrides)
    return read  # type: ignore[return-value]
