"""What `GET /v1/audit` shows of an entry about a covert list, hit or alert to a caller not
cleared for covert (an auditor): that it happened, who did it and when, not what it was on.

The entry keeps its place (its `seq`, so the log has no gap that would count what is hidden),
its action, actor, role and time; its target becomes `covert`, its reason and detail are
dropped (a list's name, an operation's note). An entry is about something covert when it was
marked so as it was written (`AuditLog.record(covert=True)`), or, for entries written before
that mark existed, when its target or its `list_id` is a list that is covert now.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from api.audit.schemas import AuditEntryOut

COVERT_TARGET = "covert"


def is_covert(entry: AuditEntryOut, covert_lists: Collection[str]) -> bool:
    if entry.detail.get("covert") is True:
        return True
    if not covert_lists:
        return False
    list_ids = {entry.target, entry.target.split("/", 1)[0], entry.detail.get("list_id")}
    return any(isinstance(i, str) and i in covert_lists for i in list_ids)


def redacted(entry: AuditEntryOut) -> AuditEntryOut:
    kept: dict[str, Any] = {"covert": True}
    if "actor_token_id" in entry.detail:
        kept["actor_token_id"] = entry.detail["actor_token_id"]
    return entry.model_copy(update={"target": COVERT_TARGET, "reason": None, "detail": kept})
