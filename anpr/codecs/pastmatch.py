"""Record types of past-read matching (issue 13 item 5).

`anpr.reads-replay.v1`, key = job_id: the archive's candidate reads for one past-match job, each
with the entries of the job to try it against (`kind` = `read`), then one `kind` = `end` record
with the number of candidates. Keyed by job, so one job's records are on one partition, in
order, and the matcher member that sees the `end` has seen every candidate of the job.

`anpr.past-match.v1` (compacted), key = job_id: the job's latest state. The archive writes
`pending`, `running` (with the candidates once selected), `failed`, or `done` when there was
nothing to match; the matcher writes `done` with the hits once it has matched every candidate.
A job id is `<list_id>@<version>`: one job per committed list version that added or changed
entries. The transitions, and who makes them:

    pending -> running | done | failed   archive: candidates selected (`done`: none), or refused
    running -> done                      matcher: at the job's `end` record
    running -> pending                   archive: the job run again, whole, by the lead archive
                                         when the one that set it running stopped before its
                                         `end` (a restarted worker, or another archive)

An archive never runs a `done` or `failed` job again. A job run again after its `end` was out
(the lead archive cannot tell) may show the matcher's `done` of the first run between its own
`pending` and `running`; the `done` of the run again comes last.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NotRequired, TypedDict

from anpr.reads import ReadRecord


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def job_id_of(list_id: str, version: int) -> str:
    return f"{list_id}@{version}"


class PastMatchJobRecord(TypedDict):
    v: int
    job_id: str
    list_id: str
    version: int
    state: str  # a JobState
    entries: int
    since: int
    until: int
    candidates: int
    hits: int
    truncated: bool
    at: int
    error: NotRequired[str]


class ReplayRecord(TypedDict):
    """`read`: a candidate and the entry ids of the job to try it against; `end`: the job's state
    as the archive left it (`running`, with the candidates), for the matcher to complete."""

    v: int
    kind: str  # "read" | "end"
    job_id: str
    list_id: str
    version: int
    read: NotRequired[ReadRecord]
    entries: NotRequired[list[str]]
    job: NotRequired[PastMatchJobRecord]
