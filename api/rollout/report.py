"""The rollout report's pure core: cameras' lifecycle events in, counts, durations and reasons out.

No clock and no I/O: `now` and every camera's events and blocking reason are passed in.

Stages, in order (a camera is in the last one it has entered):
`registered` -> `contacted` (a request named it) -> `reading` (a valid read arrived) ->
`commissioned` (its latest commissioning verdict is a pass) -> `live` (moved to live in the
registry and reading) -> `silent` (live, then offline after activity, not yet back).
A camera put back from `live` into `commissioning` is `reading` from that move until a new
verdict passes: the verdicts before the move judged the old device.
A camera moved to live before it ever read stays in its reading stage: it is not connected.

Days spent in a stage run from entering it to entering any later stage, or to `now` for the
current stage, so a stage where cameras sit for months shows in its median. A camera is stuck
when it has been in a stage other than `live` for longer than the threshold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from api.rollout.lifecycle import Kind, recommissioned_at
from api.rollout.reasons import LABELS, Reason
from api.store.base import LifecycleEvent

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


class Stage(StrEnum):
    REGISTERED = "registered"
    CONTACTED = "contacted"
    READING = "reading"
    COMMISSIONED = "commissioned"
    LIVE = "live"
    SILENT = "silent"


STAGES = tuple(Stage)
_ORDER = {stage: n for n, stage in enumerate(STAGES)}
TIMED = (Stage.REGISTERED, Stage.CONTACTED, Stage.READING, Stage.COMMISSIONED, Stage.SILENT)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a camera stands: its stage, since when, and when it entered each stage."""

    stage: Stage
    since: int
    entries: Mapping[Stage, int]


def position(events: Sequence[LifecycleEvent]) -> Position:
    """The stage the events put a camera in (events in any order)."""
    ordered = sorted(events, key=lambda e: e.at)

    def first(kind: Kind) -> int | None:
        return next((e.at for e in ordered if e.kind == kind), None)

    def last(*kinds: Kind) -> LifecycleEvent | None:
        return next((e for e in reversed(ordered) if e.kind in kinds), None)

    entries: dict[Stage, int] = {}
    registered = first(Kind.REGISTERED)
    entries[Stage.REGISTERED] = registered if registered is not None else ordered[0].at
    firsts = ((Stage.CONTACTED, Kind.FIRST_CONTACT), (Stage.READING, Kind.FIRST_VALID_READ))
    for stage, kind in firsts:
        at = first(kind)
        if at is not None:
            entries[stage] = at
    verdict = last(Kind.COMMISSIONING_PASSED, Kind.COMMISSIONING_FAILED)
    back = recommissioned_at(ordered)
    if verdict is not None and back is not None and verdict.at < back:
        verdict = None  # the pass of the device before the camera was put back
    if verdict is not None and verdict.kind == Kind.COMMISSIONING_PASSED:
        entries[Stage.COMMISSIONED] = verdict.at
    state = last(Kind.MOVED_LIVE, Kind.MOVED_COMMISSIONING)
    read = entries.get(Stage.READING)
    if state is not None and state.kind == Kind.MOVED_LIVE and read is not None:
        entries[Stage.LIVE] = max(state.at, read)
        silence = last(Kind.WENT_SILENT, Kind.CAME_BACK)
        if silence is not None and silence.kind == Kind.WENT_SILENT:
            entries[Stage.SILENT] = max(silence.at, entries[Stage.LIVE])
    stage = max(entries, key=_ORDER.__getitem__)
    since = entries[stage]
    if stage is Stage.READING and back is not None:
        since = max(since, back)  # reading again since it was put back in commissioning
    return Position(stage, since, entries)


@dataclass(frozen=True, slots=True)
class CameraFacts:
    camera_id: str
    integrator_id: str
    position: Position
    reason: Reason | None  # what blocks it now (None when live)


@dataclass(frozen=True, slots=True)
class StageStat:
    stage: Stage
    cameras: int  # now in the stage
    samples: int  # cameras that spent time in it (now or before)
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True, slots=True)
class StuckCamera:
    camera_id: str
    integrator_id: str
    stage: Stage
    since: int
    days: float
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Week:
    week: str  # ISO week, `2026-W48`
    starts: int  # Monday 00:00 UTC, epoch ms
    connected: int  # cameras that went live that week


@dataclass(frozen=True, slots=True)
class Group:
    integrator_id: str | None  # None: the whole network
    name: str
    cameras: int
    stages: tuple[StageStat, ...]
    stuck: tuple[StuckCamera, ...]
    weeks: tuple[Week, ...]
    median_days_to_live: float | None


@dataclass(frozen=True, slots=True)
class ReasonCount:
    code: str
    label: str
    cameras: int  # not live and blocked by it
    stuck: int


@dataclass(frozen=True, slots=True)
class RolloutReport:
    now: int
    stuck_after_days: float
    overall: Group
    integrators: tuple[Group, ...]  # ranked: most stuck cameras first
    top_reasons: tuple[ReasonCount, ...]


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _days(ms: float | None) -> float | None:
    return None if ms is None else round(ms / DAY_MS, 2)


def stay_ms(pos: Position, stage: Stage, now: int) -> int | None:
    """How long the camera spent in `stage` (to now when it is there), None if never in it."""
    entered = pos.entries.get(stage)
    if entered is None:
        return None
    if pos.stage is stage:
        return max(0, now - pos.since)
    order = _ORDER[stage]
    later = [at for s, at in pos.entries.items() if _ORDER[s] > order]
    return max(0, min(later) - entered) if later else None


def iso_week(ms: int) -> tuple[str, int]:
    day = datetime.fromtimestamp(ms / 1000, UTC)
    year, week, weekday = day.isocalendar()
    monday = (day - timedelta(days=weekday - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return f"{year}-W{week:02d}", int(monday.timestamp() * 1000)


def group(
    cameras: Sequence[CameraFacts],
    *,
    integrator_id: str | None,
    name: str,
    now: int,
    stuck_after_ms: int,
    weeks: int,
) -> Group:
    stats = []
    for stage in STAGES:
        stays = [s for c in cameras if (s := stay_ms(c.position, stage, now)) is not None]
        stats.append(
            StageStat(
                stage,
                cameras=sum(1 for c in cameras if c.position.stage is stage),
                samples=len(stays) if stage in TIMED else 0,
                median_days=_days(quantile(stays, 0.5)) if stage in TIMED else None,
                p90_days=_days(quantile(stays, 0.9)) if stage in TIMED else None,
            )
        )
    stuck = tuple(
        sorted(
            (x for c in cameras if (x := stuck_camera(c, now, stuck_after_ms)) is not None),
            key=lambda x: (-x.days, x.camera_id),
        )
    )
    this_week = iso_week(now)[1]
    starts = [this_week - WEEK_MS * back for back in range(weeks - 1, -1, -1)]
    went_live = Counter(
        iso_week(c.position.entries[Stage.LIVE])[1]
        for c in cameras
        if Stage.LIVE in c.position.entries
    )
    to_live = [
        c.position.entries[Stage.LIVE] - c.position.entries[Stage.REGISTERED]
        for c in cameras
        if Stage.LIVE in c.position.entries
    ]
    return Group(
        integrator_id=integrator_id,
        name=name,
        cameras=len(cameras),
        stages=tuple(stats),
        stuck=stuck,
        weeks=tuple(Week(iso_week(s)[0], s, went_live.get(s, 0)) for s in starts),
        median_days_to_live=_days(quantile([max(0, t) for t in to_live], 0.5)),
    )


def stuck_camera(c: CameraFacts, now: int, stuck_after_ms: int) -> StuckCamera | None:
    stage = c.position.stage
    if stage is Stage.LIVE or now - c.position.since <= stuck_after_ms:
        return None
    reason = c.reason or Reason("unknown", "no blocking criterion recorded")
    return StuckCamera(
        c.camera_id,
        c.integrator_id,
        stage,
        c.position.since,
        round((now - c.position.since) / DAY_MS, 2),
        reason.code,
        reason.text,
    )


def build(
    cameras: Sequence[CameraFacts],
    integrators: Mapping[str, str],
    *,
    now: int,
    stuck_after_days: float,
    weeks: int = 12,
    top: int = 10,
) -> RolloutReport:
    """The report over `cameras`; `integrators` maps integrator ids to names."""
    stuck_after_ms = int(stuck_after_days * DAY_MS)
    common = {"now": now, "stuck_after_ms": stuck_after_ms, "weeks": weeks}
    overall = group(cameras, integrator_id=None, name="all integrators", **common)
    by_integrator: dict[str, list[CameraFacts]] = {i: [] for i in integrators}
    for camera in cameras:
        by_integrator.setdefault(camera.integrator_id, []).append(camera)
    groups = [
        group(members, integrator_id=i, name=integrators.get(i, i), **common)
        for i, members in by_integrator.items()
    ]
    groups.sort(key=lambda g: (-len(g.stuck), g.name, g.integrator_id or ""))
    blocked = Counter(c.reason.code for c in cameras if c.reason and c.position.stage != "live")
    stuck_codes = Counter(s.code for s in overall.stuck)
    reasons = sorted(blocked, key=lambda code: (-blocked[code], -stuck_codes[code], code))
    return RolloutReport(
        now=now,
        stuck_after_days=stuck_after_days,
        overall=overall,
        integrators=tuple(groups),
        top_reasons=tuple(
            ReasonCount(code, LABELS.get(code, code), blocked[code], stuck_codes[code])
            for code in reasons[:top]
        ),
    )
