"""Settings of the matcher process (`anpr matcher`)."""

from __future__ import annotations

import os
import socket

from pydantic import Field

from anpr.settings import CommonSettings


def _default_matcher_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class MatcherSettings(CommonSettings):
    matcher_port: int = Field(default=9102, ge=1, le=65535)
    match_budget_ms: int = Field(default=250, ge=1)
    matcher_group: str = "anpr-matcher"
    matcher_id: str = Field(default_factory=_default_matcher_id)
    matcher_batch_max: int = Field(default=2000, ge=1)
    matcher_poll_ms: int = Field(default=1000, ge=1)
    matcher_status_interval_s: float = Field(default=5.0, gt=0)
    hit_publish_timeout_s: float = Field(default=10.0, gt=0)
