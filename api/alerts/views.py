"""Alerts as the API shows them, and the summary an alert keeps of its latest hit. Pure.

Covert alerts exist only for callers who see covert hits (`api.hits.views.sees_covert`): an
alert's hits share its covert flag (`api.alerts.grouping`), so the same rule holds for both.
"""

from __future__ import annotations

from typing import Any

from anpr.clock import ms_to_rfc3339
from anpr.registry import RegistryView
from api.hits.views import ack_json
from api.store.alerts import Sighting, StoredAlert
from api.store.base import NewHit

# The fields of a hit an alert repeats, so a list of alerts needs no hit lookups.
_READ_FIELDS = ("plate", "country", "confidence", "captured_at")
_HIT_FIELDS = ("category", "reason", "action", "historical")


def summary_of(hit: NewHit) -> dict[str, Any]:
    body = hit.body
    read = body.get("read", {})
    out: dict[str, Any] = {k: read.get(k) for k in _READ_FIELDS}
    out.update({k: body.get(k) for k in _HIT_FIELDS})
    out["camera_id"] = hit.camera_id
    out["match_kind"] = body.get("match", {}).get("kind")
    return out


def alert_json(alert: StoredAlert) -> dict[str, Any]:
    s = alert.summary
    return {
        "alert_id": alert.alert_id,
        "plate_norm": alert.key.plate_norm,
        "plate": s.get("plate"),
        "country": s.get("country"),
        "list_id": alert.key.list_id,
        "entry_id": alert.key.entry_id,
        "category": s.get("category") or "",
        "priority": alert.priority,
        "covert": alert.key.covert,
        "test": alert.key.test,
        "reason": s.get("reason"),
        "action": s.get("action"),
        "status": alert.status.value,
        "opened_at": ms_to_rfc3339(alert.opened_at),
        "last_seen_at": ms_to_rfc3339(alert.last_seen),
        "sightings": alert.sightings,
        "first_hit_id": alert.first_hit_id,
        "last_hit_id": alert.last_hit_id,
        "last_camera_id": s.get("camera_id"),
        "last_match_kind": s.get("match_kind"),
        # Its latest read is a past one (past-read matching): the vehicle was there then.
        "historical": bool(s.get("historical")),
        "acknowledgement": ack_json(alert.ack),
    }


def sighting_json(sighting: Sighting, registry: RegistryView | None = None) -> dict[str, Any]:
    camera = registry.cameras.get(sighting.camera_id) if registry is not None else None
    return {
        "hit_id": sighting.hit_id,
        "camera_id": sighting.camera_id,
        "camera_name": camera.name if camera is not None else None,
        "camera_timezone": camera.timezone if camera is not None else None,
        "captured_at": (
            ms_to_rfc3339(sighting.captured_at) if sighting.captured_at is not None else None
        ),
        "matched_at": ms_to_rfc3339(sighting.matched_at),
        "opened": sighting.opened,
    }
