"""Settings of the gateway process (`anpr ingest`)."""

from __future__ import annotations

from pydantic import Field

from anpr.settings import CommonSettings


class GatewaySettings(CommonSettings):
    ingest_port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_batch_reads: int = Field(default=1000, ge=1, le=10_000)
    publish_timeout_s: float = Field(default=5.0, gt=0)
    retry_after_s: int = Field(default=5, ge=1)
    # Overload: a request that would wait longer than this for its turn is answered 503.
    ingest_queue_budget_ms: int = Field(default=1000, ge=1)
    # Requests doing ingest work (body, validation, publish) at once; the rest queue.
    ingest_concurrency: int = Field(default=32, ge=1, le=4096)
    rate_limit_per_s: float = Field(default=500.0, gt=0)
    rate_limit_burst: float = Field(default=1000.0, gt=0)
    dedup_window_s: float = Field(default=6 * 3600.0, gt=0)
    dedup_max_entries: int = Field(default=2_000_000, ge=1000)
    events_flush_s: float = Field(default=1.0, gt=0)
    # Follow the dedup-keys topic so resends to other replicas are duplicates too.
    dedup_follow_topic: bool = True
    dedup_warm_s: float = Field(default=600.0, ge=0)
