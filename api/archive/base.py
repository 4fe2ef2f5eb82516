"""What the read archive needs from a database: `ReadStore`, with SQLite and PostgreSQL behind it.

Reads are inserted idempotently on (read_id, camera_id, captured_at): a record delivered twice
(a replayed batch, a restarted archiver) is stored once. Searches list sightings newest first by
(captured_at, read_id), strictly after a keyset position.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol

from anpr.errors import AnprError
from api.archive.records import ArchivedRead

# What `ReadStore.pattern_candidates` may scan: patterns over the plate, fuzzy scans over the
# skeleton (`api.archive.pastmatch_plan`).
LikeColumn = Literal["plate_norm", "plate_skeleton"]
# The SQL each may be, from constants only (the value reaches an f-string of SQL).
LIKE_COLUMNS: dict[str, str] = {"plate_norm": "plate_norm", "plate_skeleton": "plate_skeleton"}

# The `ocr` rule of contract section 6: same length, same skeleton, at most 2 positions differ.
OCR_MAX_DIFFER = 2


class PlateMatch(StrEnum):
    EXACT = "exact"
    OCR = "ocr"


@dataclass(frozen=True, slots=True)
class ReadQuery:
    plate_norm: str | None = None
    match: PlateMatch = PlateMatch.EXACT
    camera_id: str | None = None
    since: int | None = None
    until: int | None = None


@dataclass(frozen=True, slots=True)
class ReadKey:
    """Keyset position: sightings are listed by (captured_at, read_id, camera_id), newest
    first. A read_id is unique per camera only (contract section 3): without the camera a tie
    between two cameras' reads skipped one of them from one page to the next."""

    captured_at: int
    read_id: str
    camera_id: str = ""  # "" (before all): a cursor given out before the camera was in it


@dataclass(frozen=True, slots=True)
class Sighting:
    read_id: str
    camera_id: str
    captured_at: int
    received_at: int
    plate: str
    plate_norm: str
    country: str | None
    confidence: float | None
    body: dict[str, Any]

    @property
    def key(self) -> ReadKey:
        return ReadKey(self.captured_at, self.read_id, self.camera_id)


class SelectionTooSlow(AnprError):
    """A past-match selection the database gave up on (its statement timeout): the same
    query would time out again, so the job fails rather than being retried for ever."""


class LeadLost(AnprError):
    """The connection holding a `lead` lock was lost, so the lock may be another process's
    now: the work done under it stops, and is taken up again once the lead is held again."""

    retriable = True


@dataclass(frozen=True, slots=True)
class PastRead:
    """An archived read as past-read matching replays it: its skeleton and the record as it was
    on the reads topic."""

    plate_skeleton: str
    raw: bytes


class ReadStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def add_reads(self, reads: Sequence[ArchivedRead]) -> int:
        """Store the reads not stored yet; how many were new."""
        ...

    async def search(
        self, query: ReadQuery, *, after: ReadKey | None, limit: int
    ) -> list[Sighting]:
        """Newest first by (captured_at, read_id, camera_id), strictly after `after` when
        given."""
        ...

    async def get_reads(self, read_id: str, *, camera_id: str | None) -> list[Sighting]:
        """The reads with that id (of that camera when given), newest first, at most 20."""
        ...

    async def past_candidates(
        self, skeletons: Sequence[str], *, since: int, until: int, limit: int
    ) -> list[PastRead]:
        """Reads captured in [since, until) whose skeleton is one of `skeletons` (the skeleton
        index), at most `limit`."""
        ...

    async def pattern_candidates(
        self,
        likes: Sequence[str],
        *,
        since: int,
        until: int,
        limit: int,
        column: LikeColumn = "plate_norm",
    ) -> list[PastRead]:
        """Reads captured in [since, until) whose `column` is LIKE one of `likes` (a scan of
        the window), at most `limit`."""
        ...

    def lead(self, name: str) -> AbstractAsyncContextManager[None]:
        """Entered once this process is the only holder of `name` among the processes on the
        store (PostgreSQL: a session advisory lock on a held connection; SQLite: at once, one
        archive per file); left on exit. Should the lock be lost meanwhile (its connection
        dropped), the body is ended with `LeadLost`."""
        ...

    async def purge_reads(self, *, before: int) -> int:
        """Apply retention: remove reads captured before `before` (PostgreSQL: whole days, so
        a day is dropped once all of it is older); how many partitions or rows went."""
        ...
