"""The audit log: who did or searched what, when and why. Append-only.

Every plate search, acknowledgement, hotlist change and registry change is written here before
the answer goes out. Actions are a fixed set (they are also a metric label).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from anpr.accesslog import leave_out_of_request_metrics
from anpr.auth import Principal
from anpr.registry import token_id
from api.metrics import ApiMetrics
from api.store.base import AuditEntry, Store

# The `actor_token_id` of the bootstrap admin (`ANPR_ADMIN_TOKEN`). Not 16 hex digits, so never
# a registry token's id.
BOOTSTRAP_TOKEN_ID = "bootstrap"  # noqa: S105 - a label, not a secret


class Action(StrEnum):
    HITS_SEARCH = "hits.search"
    READS_SEARCH = "reads.search"
    READ_VIEW = "read.view"
    HIT_ACKNOWLEDGE = "hit.acknowledge"
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    CONSOLE_SIGN_IN = "console.sign_in"
    INTEGRATOR_CREATE = "integrator.create"
    TOKEN_CREATE = "token.create"  # noqa: S105 - an action name, not a secret
    TOKEN_REVOKE = "token.revoke"  # noqa: S105
    TOKEN_ROTATE = "token.rotate"  # noqa: S105
    CAMERA_PUT = "camera.put"
    CAMERA_CREATE = "camera.create"
    CAMERA_UPDATE = "camera.update"
    CAMERA_DELETE = "camera.delete"
    HOTLIST_CONFIG = "hotlist.config"
    HOTLIST_REPLACE = "hotlist.replace"
    HOTLIST_UPSERT = "hotlist.upsert"
    HOTLIST_DELETE_ENTRY = "hotlist.delete_entry"
    HOTLIST_DELETE = "hotlist.delete"
    WEBHOOK_PUT = "webhook.put"
    WEBHOOK_DELETE = "webhook.delete"
    FORMAT_PUT = "format.put"
    FORMAT_DELETE = "format.delete"


def actor_token_id(principal: Principal) -> str:
    """The token id an entry names its actor by; for the bootstrap admin a fixed label, since
    a hash prefix of an operator-chosen token could be tested against guesses offline."""
    return BOOTSTRAP_TOKEN_ID if principal.bootstrap else token_id(principal.token_hash)


class AuditLog:
    def __init__(self, store: Store, metrics: ApiMetrics, clock: Callable[[], int]) -> None:
        self._store = store
        self._metrics = metrics
        self._clock = clock

    async def record(
        self,
        principal: Principal,
        action: Action,
        target: str,
        *,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        covert: bool = False,
    ) -> int:
        """Append an entry; `covert` when it is about a covert list, hit or alert: it is then
        marked (`detail.covert`, shown redacted to callers not cleared for covert,
        `api.audit.redact`) and not counted on /metrics, nor is the request that made it."""
        if covert:
            leave_out_of_request_metrics()
        seq = await self._store.append_audit(
            self.entry(principal, action, target, reason=reason, detail=detail, covert=covert)
        )
        self.written(action, covert=covert)
        return seq

    def entry(
        self,
        principal: Principal,
        action: Action,
        target: str,
        *,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        covert: bool = False,
    ) -> AuditEntry:
        """The entry `record` appends, for a store that writes it in the transaction of the
        change it records (an acknowledgement: both or neither). Pure; once the store has
        written it, call `written`."""
        if covert:
            detail = {**(detail or {}), "covert": True}
        return AuditEntry(
            at=self._clock(),
            actor=principal.name,
            role=principal.role.value,
            action=action.value,
            target=target,
            reason=reason,
            # Names need not be unique: the token id says exactly who it was.
            detail={**(detail or {}), "actor_token_id": actor_token_id(principal)},
        )

    def written(self, action: Action, *, covert: bool) -> None:
        """Count an entry the store has written (a covert one, and its request, are not)."""
        if covert:
            leave_out_of_request_metrics()
        else:
            self._metrics.audit_entries.labels(action.value).inc()
