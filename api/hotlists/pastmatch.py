"""The past-match job of each list, folded from `anpr.past-match.v1` (compacted). Pure.

Records are keyed by job id (`<list_id>@<version>`); the archive writes `pending`, `running`
(or `done`, `failed`), the matcher `done` with the hits. For each list the API shows the job of
the highest version, in its latest state: a late record of an older job never hides a newer one.
"""

from __future__ import annotations

from anpr.codecs import PAST_MATCH
from anpr.codecs.pastmatch import JobState, PastMatchJobRecord
from anpr.errors import InvalidRecord


class PastMatchBook:
    def __init__(self) -> None:
        self.latest: dict[str, PastMatchJobRecord] = {}  # list_id -> newest job

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            raise InvalidRecord("past-match job without a key")
        if value is None:
            list_id = key.decode("utf-8", "replace").rpartition("@")[0]
            current = self.latest.get(list_id)
            if current is not None and current["job_id"].encode() == key:
                del self.latest[list_id]
            return
        job = PAST_MATCH.decode(value)
        if job["state"] not in set(JobState):
            raise InvalidRecord("past-match job: unknown state")
        current = self.latest.get(job["list_id"])
        if current is None or job["version"] >= current["version"]:
            self.latest[job["list_id"]] = job

    def job(self, list_id: str) -> PastMatchJobRecord | None:
        return self.latest.get(list_id)
