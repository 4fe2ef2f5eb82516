"""Settings of the read archive (`anpr archive`), read from `ANPR_*` environment variables.

The database settings are the API's (`api.store.config.DatabaseSettings`): the archive writes
where the API searches. Reads are kept `ANPR_READ_RETENTION_DAYS` (common setting).
"""

from __future__ import annotations

from pydantic import Field

from anpr.hotlists import PAST_MATCH_HOURS_MAX
from api.store.config import DatabaseSettings


class ArchiveSettings(DatabaseSettings):
    archive_port: int = Field(default=9104, ge=1, le=65535)
    archive_poll_ms: int = Field(default=1000, ge=1, le=5000)
    archive_retention_interval_s: float = Field(default=300.0, gt=0)
    # Past-read matching (api/archive/pastmatch.py; docs/matching.md states the bounds).
    past_match_enabled: bool = True
    past_match_hours: int = Field(default=24, ge=1, le=PAST_MATCH_HOURS_MAX)
    past_match_max_candidates: int = Field(default=200_000, ge=1, le=10_000_000)
    past_match_max_patterns: int = Field(default=1000, ge=0, le=100_000)
