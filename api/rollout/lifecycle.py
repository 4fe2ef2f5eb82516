"""Every camera's connection lifecycle: the events, and the book that decides when one happened.

Pure: `LifecycleBook` is told what was observed (a registry record, a read, a heartbeat, a
contact, a commissioning verdict, a health status) with its time, and appends an event only when
something changed: first events happen once, a verdict is recorded when it changes, `went_silent`
and `came_back` alternate. New events wait in `pending` until the shell stores them.

Events (kinds):
- `registered`: the camera's registry record first seen (its `registered_at`, else `updated_at`);
- `first_contact`: the first request naming it, even one refused (detail: caller, refused);
- `first_valid_read`, `first_heartbeat`: the first accepted read and heartbeat (received time);
- `commissioning_passed`, `commissioning_failed` (detail: reasons): the verdict changed;
- `moved_live`, `moved_commissioning`: the registry state changed (or was first seen; at the
  record's `state_since` when it has one);
- `went_silent`, `came_back`: health went offline after activity, and left offline again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from anpr.registry import Camera, CameraState
from api.store.base import ONCE_KINDS, LifecycleEvent


class Kind(StrEnum):
    REGISTERED = "registered"
    FIRST_CONTACT = "first_contact"
    FIRST_VALID_READ = "first_valid_read"
    FIRST_HEARTBEAT = "first_heartbeat"
    COMMISSIONING_PASSED = "commissioning_passed"
    COMMISSIONING_FAILED = "commissioning_failed"
    MOVED_LIVE = "moved_live"
    MOVED_COMMISSIONING = "moved_commissioning"
    WENT_SILENT = "went_silent"
    CAME_BACK = "came_back"


ACTIVE_STATUSES = frozenset({"online", "degraded"})
# Kinds that can repeat without end (a flapping camera), in groups whose latest event decides:
# memory keeps the latest few of each group per camera (the store keeps them all).
REPEATING_GROUPS = (
    frozenset({"went_silent", "came_back"}),
    frozenset({"commissioning_failed", "commissioning_passed"}),
    frozenset({"moved_live", "moved_commissioning"}),
)
MAX_REPEATED = 20


@dataclass(slots=True)
class CameraLife:
    """One camera's events, oldest first, and what they imply now."""

    events: list[LifecycleEvent] = field(default_factory=list)
    # Evidence of the current stage, kept in memory only (since this replica started).
    rejected_details: Counter[str] = field(default_factory=Counter)
    refused_by_caller: Counter[str] = field(default_factory=Counter)

    def first(self, kind: Kind) -> LifecycleEvent | None:
        return next((e for e in self.events if e.kind == kind), None)

    def last(self, *kinds: Kind) -> LifecycleEvent | None:
        return next((e for e in reversed(self.events) if e.kind in kinds), None)

    @property
    def live(self) -> bool:
        last = self.last(Kind.MOVED_LIVE, Kind.MOVED_COMMISSIONING)
        return last is not None and last.kind == Kind.MOVED_LIVE

    @property
    def silent(self) -> bool:
        last = self.last(Kind.WENT_SILENT, Kind.CAME_BACK)
        return last is not None and last.kind == Kind.WENT_SILENT

    @property
    def verdict(self) -> LifecycleEvent | None:
        """The latest verdict, None when it predates the camera's move back to commissioning."""
        last = self.last(Kind.COMMISSIONING_PASSED, Kind.COMMISSIONING_FAILED)
        back = recommissioned_at(self.events)
        return None if last is None or (back is not None and last.at < back) else last


def recommissioned_at(events: Sequence[LifecycleEvent]) -> int | None:
    """When the camera was last put back from `live` into `commissioning` (events oldest
    first); None if it never was. Verdicts from before judged the old device's evidence."""
    was_live = False
    back = None
    for event in events:
        if event.kind == Kind.MOVED_LIVE:
            was_live = True
        elif event.kind == Kind.MOVED_COMMISSIONING and was_live:
            back = event.at
    return back


class LifecycleBook:
    def __init__(self) -> None:
        self.lives: dict[str, CameraLife] = {}
        self.pending: list[LifecycleEvent] = []

    def restore(self, events: Iterable[LifecycleEvent]) -> None:
        """The events the store holds (at start). Each camera is trimmed once, after all its
        events: trimmed after each one, 2M stored events took 15.7 s to restore."""
        restored: dict[str, CameraLife] = {}
        for event in sorted(events, key=lambda e: e.at):
            life = restored.get(event.camera_id)
            if life is None:
                life = restored[event.camera_id] = self.lives.setdefault(
                    event.camera_id, CameraLife()
                )
            life.events.append(event)
        for life in restored.values():
            _trim(life)

    def drain(self) -> list[LifecycleEvent]:
        out, self.pending = self.pending, []
        return out

    def _add(self, camera_id: str, kind: Kind, at: int, **detail: Any) -> None:
        life = self.lives.get(camera_id)
        if life is None:
            life = self.lives[camera_id] = CameraLife()
        # Called for every camera's aggregates every second: an event already known is
        # settled here, before anything is built.
        known = life.first(kind) if kind in ONCE_KINDS else None
        if known is not None and at >= known.at:
            return
        event = LifecycleEvent(camera_id, kind.value, at, detail)
        if known is None:
            life.events.append(event)
            _trim(life)
            self.pending.append(event)
            return
        # Topics are consumed side by side: a contact record may arrive after the read it
        # preceded. The earliest observation is the first one.
        life.events[life.events.index(known)] = event
        life.events.sort(key=lambda e: e.at)
        self.pending.append(event)

    # -- what was observed ------------------------------------------------------------------

    def on_camera(self, camera: Camera, at: int) -> None:
        """A registry record of the camera (a new one, an update, or the replay at start), written
        at `at`. The record's own `registered_at` and `state_since` date the events when it has
        them: a new store rebuilding from the compacted topic sees only each camera's latest
        record, written perhaps months after the camera was registered."""
        life = self.lives.get(camera.camera_id)
        if life is None or life.first(Kind.REGISTERED) is None:
            registered = camera.registered_at if camera.registered_at is not None else at
            self._add(
                camera.camera_id, Kind.REGISTERED, registered, integrator_id=camera.integrator_id
            )
            life = self.lives[camera.camera_id]
        live = camera.state is CameraState.LIVE
        known = life.last(Kind.MOVED_LIVE, Kind.MOVED_COMMISSIONING)
        if known is None or life.live != live:
            moved = camera.state_since if camera.state_since is not None else at
            self._add(
                camera.camera_id, Kind.MOVED_LIVE if live else Kind.MOVED_COMMISSIONING, moved
            )

    def on_deleted(self, camera_id: str) -> bool:
        """Forget a deleted camera, and its events not yet stored; True when there was
        something to forget."""
        self.pending = [e for e in self.pending if e.camera_id != camera_id]
        return self.lives.pop(camera_id, None) is not None

    def on_contact(
        self, camera_id: str, at: int, *, caller: str, refused: int, requests: int
    ) -> None:
        life = self.lives.get(camera_id)
        if life is None:
            return
        self._add(camera_id, Kind.FIRST_CONTACT, at, caller=caller, refused=refused > 0)
        owner = life.first(Kind.REGISTERED)
        if refused and (owner is None or owner.detail.get("integrator_id") != caller):
            life.refused_by_caller[caller] += refused

    def on_read(self, camera_id: str, at: int) -> None:
        if camera_id not in self.lives:
            return
        self._add(camera_id, Kind.FIRST_CONTACT, at, caller=None, refused=False)
        self._add(camera_id, Kind.FIRST_VALID_READ, at)

    def on_heartbeat(self, camera_id: str, at: int) -> None:
        if camera_id not in self.lives:
            return
        self._add(camera_id, Kind.FIRST_CONTACT, at, caller=None, refused=False)
        self._add(camera_id, Kind.FIRST_HEARTBEAT, at)

    def on_rejected(self, camera_id: str, details: dict[str, int]) -> None:
        life = self.lives.get(camera_id)
        if life is not None:
            life.rejected_details.update(details)

    def on_verdict(
        self, camera_id: str, at: int, *, passed: bool, reasons: Sequence[dict[str, str]] = ()
    ) -> None:
        """A commissioning verdict (pass or fail; `insufficient_data` is not one)."""
        life = self.lives.get(camera_id)
        if life is None:
            return
        last = life.verdict
        if passed:
            if last is None or last.kind != Kind.COMMISSIONING_PASSED:
                self._add(camera_id, Kind.COMMISSIONING_PASSED, at)
            return
        codes = [r["code"] for r in reasons]
        if (
            last is None
            or last.kind != Kind.COMMISSIONING_FAILED
            or last.detail.get("codes") != codes
        ):
            self._add(camera_id, Kind.COMMISSIONING_FAILED, at, codes=codes, reasons=list(reasons))

    def on_status(self, camera_id: str, at: int, status: str) -> None:
        """The camera's health status now: `offline` after activity is silence."""
        life = self.lives.get(camera_id)
        if life is None:
            return
        active = life.first(Kind.FIRST_VALID_READ) or life.first(Kind.FIRST_HEARTBEAT)
        if status == "offline" and active is not None and not life.silent:
            self._add(camera_id, Kind.WENT_SILENT, at)
        elif status in ACTIVE_STATUSES and life.silent:
            self._add(camera_id, Kind.CAME_BACK, at)


def _trim(life: CameraLife) -> None:
    """Keep at most `MAX_REPEATED` events of each repeating group, the latest ones."""
    for group in REPEATING_GROUPS:
        repeated = [e for e in life.events if e.kind in group]
        if len(repeated) > MAX_REPEATED:
            drop = {id(e) for e in repeated[: len(repeated) - MAX_REPEATED]}
            life.events = [e for e in life.events if id(e) not in drop]
