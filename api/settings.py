"""Settings of the API process (`anpr api`), read from `ANPR_*` environment variables."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

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
    # Hotlist upserts (`POST /v1/hotlists/{list_id}/entries`, a JSON array parsed in the loop).
    hotlist_upsert_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Every other request body (JSON objects of a few fields); see api/guard.py.
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Hit queries.
    page_limit_default: int = Field(default=50, ge=1, le=500)
    page_limit_max: int = Field(default=500, ge=1, le=5000)
    # The console (`/console/`): session lifetime (a shift), the cookie's Secure flag (unset:
    # Secure when the request came over https, or a proxy says it did), and the hosts whose
    # https image URLs it shows.
    console_session_ttl_s: float = Field(default=12 * 3600.0, gt=0, le=7 * 24 * 3600.0)
    console_cookie_secure: bool | None = None
    console_image_hosts: list[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")]
    ] = Field(default_factory=list)
    # Background work.
    consumer_poll_ms: int = Field(default=1000, ge=1, le=5000)
    health_refresh_s: float = Field(default=10.0, gt=0)
    retention_interval_s: float = Field(default=300.0, gt=0)
    # Webhook targets (`anpr notify`): https only, unless this allows http to loopback hosts.
    webhook_allow_http_loopback: bool = False
    # The rollout report (`GET /v1/rollout`): a camera is stuck after this many days in a stage
    # other than live; connections per week are shown for this many weeks.
    rollout_stuck_days: float = Field(default=14.0, gt=0)
    rollout_weeks: int = Field(default=12, ge=1, le=104)
    # How often the periodic refresh judges commissioning cameras and sets the rollout gauges.
    rollout_refresh_s: float = Field(default=60.0, gt=0)
    # How often a replica looks in a shared (PostgreSQL) store for hits another replica stored.
    stream_poll_ms: int = Field(default=250, ge=10, le=10_000)

    @property
    def matcher_status_topic(self) -> str:
        """Where matchers publish the hotlist versions they have applied (compacted, by id)."""
        return f"{self.topic_prefix}matcher-status.v1"
