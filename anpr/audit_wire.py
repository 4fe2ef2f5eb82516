"""Audit records written outside the API, on the audit topic (issue 11, item 5).

`anpr admin` and `anpr hotlist load` write to the bus directly, not through the API. So that
their changes are in the audit log like the API's, they publish one record per change on
`<prefix>audit.v1`; every API replica consumes that topic into its own audit log (see
`api/audit/ingest.py`). The actor of a CLI write is `cli:<user>@<host>` with role `admin`:
whoever can reach the bus can do what an administrator can.

Delivery is at least once: an API that stops between storing a record and committing its offset
stores it again on restart (the record's `record_id` tells such twins apart).
"""

from __future__ import annotations

import getpass
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from anpr.bus.base import Bus, Message
from anpr.clock import now_ms
from anpr.errors import InvalidRecord

PUBLISH_TIMEOUT_S = 10.0


def cli_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    action: str
    target: str
    actor: str
    role: str = "admin"
    at: int = field(default_factory=now_ms)
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "v": 1,
                "record_id": self.record_id,
                "at": self.at,
                "actor": self.actor,
                "role": self.role,
                "action": self.action,
                "target": self.target,
                "reason": self.reason,
                "detail": self.detail,
            }
        )

    @classmethod
    def decode(cls, value: bytes | None) -> AuditRecord:
        if value is None:
            raise InvalidRecord("tombstone on the audit topic")
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidRecord(f"audit record is not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("v") != 1:
            raise InvalidRecord("audit record without v=1")
        strings = ("record_id", "actor", "role", "action", "target")
        if not all(isinstance(data.get(k), str) and data[k] for k in strings):
            raise InvalidRecord("audit record lacks one of " + ", ".join(strings))
        at, reason, detail = data.get("at"), data.get("reason"), data.get("detail")
        if type(at) is not int or not (reason is None or isinstance(reason, str)):
            raise InvalidRecord("audit record with a bad at or reason")
        if not isinstance(detail, dict):
            raise InvalidRecord("audit record with a bad detail")
        return cls(
            action=data["action"],
            target=data["target"],
            actor=data["actor"],
            role=data["role"],
            at=at,
            reason=reason,
            detail=detail,
            record_id=data["record_id"],
        )


async def publish_audit(bus: Bus, topic: str, *records: AuditRecord) -> None:
    await bus.publish(
        [Message(topic, r.target.encode(), r.encode()) for r in records],
        timeout_s=PUBLISH_TIMEOUT_S,
    )
