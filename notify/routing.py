"""Which targets a hit goes to, and what is sent to each. Pure.

A target receives a hit when the hit is on the target's list (and entry, if the target names
one), the hit is at least as urgent as the target's `min_priority` (priority 1 is the most
urgent), and, for a covert hit, the target allows covert hits; a test hit (commissioning camera)
only when the target asks for test hits. Every other case is a skip with a reason from a fixed
set, counted without naming the list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from anpr.heldjson import dumps_held
from anpr.webhooks import WebhookTarget, delivery_id

IMAGE_BYTES_FIELDS = ("plate_jpeg_b64", "overview_jpeg_b64")
EVENT_HIT = "hit"


class Skip(StrEnum):
    """Why a target on the hit's list does not receive it (a metric label)."""

    PRIORITY = "priority"
    COVERT = "covert"
    TEST = "test"
    ENTRY = "entry"
    DUPLICATE = "duplicate"  # the same delivery was just made (see notify.service)
    LIST = "list"  # the target id is now another list's (deleted, made again): never counted


class HitFields(BaseModel):
    """The fields of a hit (contract section 5) that routing needs; the rest is passed on."""

    model_config = ConfigDict(extra="allow")

    hit_id: str = Field(min_length=1, max_length=128)
    list_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128)
    priority: int = Field(ge=1, le=5)
    covert: bool
    test: bool = False


@dataclass(frozen=True, slots=True)
class Routed:
    targets: list[WebhookTarget]
    skipped: Counter[Skip]


def skip_reason(hit: HitFields, target: WebhookTarget) -> Skip | None:
    """None when `target` receives `hit`. Asked again before each attempt, so a target id
    deleted and made again on another list meanwhile no longer gets the old list's hits."""
    if target.list_id != hit.list_id:
        return Skip.LIST
    if target.entry_id is not None and target.entry_id != hit.entry_id:
        return Skip.ENTRY
    if hit.covert and not target.covert_allowed:
        return Skip.COVERT
    if hit.priority > target.min_priority:
        return Skip.PRIORITY
    if hit.test and not target.include_test:
        return Skip.TEST
    return None


def route(hit: HitFields, targets: Iterable[WebhookTarget]) -> Routed:
    """The targets of `hit`, by target_id, and the reasons the other targets of its list
    were skipped."""
    chosen: list[WebhookTarget] = []
    skipped: Counter[Skip] = Counter()
    for target in targets:
        if target.list_id != hit.list_id:
            continue
        reason = skip_reason(hit, target)
        if reason is None:
            chosen.append(target)
        else:
            skipped[reason] += 1
    chosen.sort(key=lambda t: t.target_id)
    return Routed(chosen, skipped)


def hit_for_target(hit: dict[str, Any], target: WebhookTarget) -> dict[str, Any]:
    """The hit as sent: as on the topic, without image bytes unless the target asks for them
    (image URLs stay)."""
    if target.include_images:
        return hit
    read = hit.get("read")
    images = read.get("images") if isinstance(read, dict) else None
    if not isinstance(images, dict) or not any(f in images for f in IMAGE_BYTES_FIELDS):
        return hit
    kept = {k: v for k, v in images.items() if k not in IMAGE_BYTES_FIELDS}
    return {**hit, "read": {**read, "images": kept}}  # type: ignore[dict-item]


def payload(hit: dict[str, Any], target: WebhookTarget) -> tuple[str, bytes]:
    """(delivery id, JSON body). The body is the same on every attempt, so a receiver may
    dedupe on the delivery id or on the body."""
    hit_id = str(hit["hit_id"])
    did = delivery_id(hit_id, target.target_id)
    body = {
        "v": 1,
        "event": EVENT_HIT,
        "delivery_id": did,
        "target_id": target.target_id,
        "hit": hit_for_target(hit, target),
    }
    return did, dumps_held(body)  # held until delivered or the retry window ends
