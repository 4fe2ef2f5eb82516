"""Settings of the API process (`anpr api`), read from `ANPR_*` environment variables."""

from __future__ import annotations

from pydantic import Field

from api.store.config import API_DB_FILE, DatabaseSettings

__all__ = ["API_DB_FILE", "ApiSettings"]


class ApiSettings(DatabaseSettings):
    """`ANPR_API_PORT` and the API's own knobs; see docs for each variable."""

    api_port: int = Field(default=8000, ge=1, le=65535)
    publish_timeout_s: float = Field(default=5.0, gt=0)
    retry_after_s: int = Field(default=5, ge=1)
    # Read-your-writes: how long a registry or hotlist write waits for this replica's own view.
    write_visible_timeout_s: float = Field(default=2.0, gt=0)
    # Server-sent events.
    stream_keepalive_s: float = Field(default=15.0, gt=0, le=15.0)
    stream_queue_size: int = Field(default=1000, ge=1)
    stream_backlog_page: int = Field(default=500, ge=1, le=10_000)
    # Hotlist uploads (`PUT /v1/hotlists/{list_id}/entries`).
    hotlist_max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Hit queries.
    page_limit_default: int = Field(default=50, ge=1, le=500)
    page_limit_max: int = Field(default=500, ge=1, le=5000)
    # Background work.
    consumer_poll_ms: int = Field(default=100, ge=1, le=5000)
    health_refresh_s: float = Field(default=10.0, gt=0)
    retention_interval_s: float = Field(default=300.0, gt=0)
    # How often a replica looks in a shared (PostgreSQL) store for hits another replica stored.
    stream_poll_ms: int = Field(default=250, ge=10, le=10_000)

    @property
    def matcher_status_topic(self) -> str:
        """Where matchers publish the hotlist versions they have applied (compacted, by id)."""
        return f"{self.topic_prefix}matcher-status.v1"
