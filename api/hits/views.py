"""What a caller may see of a hit, and its JSON as the API shows it. Pure.

Covert hits exist only for callers with the supervisor role (supervisor, admin): for an operator
they are absent from queries, counts and streams, and their id answers 404, exactly like an id
that does not exist.
"""

from __future__ import annotations

from typing import Any

from anpr.auth import Principal, Role
from anpr.clock import ms_to_rfc3339
from api.hits.schemas import AcknowledgeIn
from api.store.base import Acknowledgement, StoredHit


def sees_covert(principal: Principal) -> bool:
    return principal.has(Role.SUPERVISOR)


def visible(hit: StoredHit, principal: Principal) -> bool:
    return not hit.covert or sees_covert(principal)


def acknowledgement(body: AcknowledgeIn, principal: Principal, at: int) -> Acknowledgement:
    """What the caller acknowledges (a hit, or an alert with its hits) and who they are."""
    return Acknowledgement(
        outcome=body.outcome, note=body.note, by=principal.name, role=principal.role.value, at=at
    )


def ack_json(ack: Acknowledgement | None) -> dict[str, Any] | None:
    if ack is None:
        return None
    return {
        "outcome": ack.outcome.value,
        "note": ack.note,
        "by": ack.by,
        "role": ack.role,
        "at": ms_to_rfc3339(ack.at),
    }


def hit_json(hit: StoredHit) -> dict[str, Any]:
    return {**hit.body, "status": hit.status.value, "acknowledgement": ack_json(hit.ack)}
