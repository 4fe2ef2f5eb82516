"""The past-match job of a list as `GET /v1/hotlists/{list_id}` shows it. Pure."""

from __future__ import annotations

from anpr.clock import ms_to_rfc3339
from anpr.codecs.pastmatch import PastMatchJobRecord
from api.hotlists.schemas import PastMatchOut


def past_match_out(job: PastMatchJobRecord | None) -> PastMatchOut | None:
    if job is None:
        return None
    return PastMatchOut.model_validate(
        {
            "job_id": job["job_id"],
            "version": job["version"],
            "state": job["state"],
            "entries": job["entries"],
            "since": ms_to_rfc3339(job["since"]),
            "until": ms_to_rfc3339(job["until"]),
            "candidates": job["candidates"],
            "hits": job["hits"],
            "truncated": job["truncated"],
            "error": job.get("error"),
            "updated_at": ms_to_rfc3339(job["at"]),
        }
    )
