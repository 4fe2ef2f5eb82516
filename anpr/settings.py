"""Settings shared by every process, read from `ANPR_*` environment variables.

Each process subclasses `CommonSettings` with its own fields; the object is built once in the
process's entry point and passed down. Nothing here reads the environment at import time.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from anpr.errors import ConfigError

DAY_MS = 24 * 3600 * 1000
# Lower case. The last is the compose stack's fallback (deploy/compose/compose.yaml): published
# here, so never an admin in production.
_PLACEHOLDERS = frozenset(
    {
        "",
        "admin",
        "changeme",
        "change-me",
        "secret",
        "password",
        "token",
        "compose-dev-admin-token-0123456789abcdef",
    }
)
MIN_PRODUCTION_TOKEN_LEN = 32

log = logging.getLogger(__name__)


class CommonSettings(BaseSettings):
    """Settings every process has (contract section 1)."""

    model_config = SettingsConfigDict(env_prefix="ANPR_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    data_dir: Path = Path(".anpr-data")
    admin_token: SecretStr | None = None
    kafka_bootstrap: str | None = None
    # How long the producer holds a record for others to join its batch. aiokafka sends one
    # produce request per broker at a time, so records batch while one is in flight anyway.
    kafka_linger_ms: int = Field(default=0, ge=0, le=1000)
    topic_prefix: str = "anpr."
    topic_partitions: int = Field(default=6, ge=1, le=1024)
    topic_replication: int = Field(default=1, ge=1, le=7)
    read_retention_days: float = Field(default=30, gt=0)
    hit_retention_days: float = Field(default=180, gt=0)
    # The audit log's own retention (the API store and the audit topic): two years.
    audit_retention_days: float = Field(default=730, gt=0)
    log_level: str = "INFO"
    # A consumer with records waiting and no progress for this long is stalled: /readyz turns
    # false and the consumer is replaced.
    stall_s: float = Field(default=30.0, gt=0)
    # More than this many crashes of one background task within the window turn /healthz 503.
    task_max_crashes: int = Field(default=5, ge=1)
    task_crash_window_s: float = Field(default=300.0, gt=0)
    # `json`: one JSON object per line; `text`: for people (anpr/logs.py).
    log_format: Literal["json", "text"] = "text"
    # A request's headers, then its body, must arrive within these (anpr/httptimeouts.py).
    http_header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    http_body_timeout_s: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> CommonSettings:
        if self.environment == "production" and self.admin_token is not None:
            token = self.admin_token.get_secret_value()
            if token.lower() in _PLACEHOLDERS or len(token) < MIN_PRODUCTION_TOKEN_LEN:
                raise ConfigError(
                    "ANPR_ADMIN_TOKEN must be a random secret of at least "
                    f"{MIN_PRODUCTION_TOKEN_LEN} characters in production"
                )
        return self

    @property
    def kafka_mode(self) -> bool:
        return bool(self.kafka_bootstrap)

    @property
    def read_retention_ms(self) -> int:
        return int(self.read_retention_days * DAY_MS)

    @property
    def hit_retention_ms(self) -> int:
        return int(self.hit_retention_days * DAY_MS)

    @property
    def audit_retention_ms(self) -> int:
        return int(self.audit_retention_days * DAY_MS)

    def masked(self) -> dict[str, Any]:
        """The settings as a dict for the start-up log; secrets show as `**********`."""
        return {
            key: ("**********" if isinstance(value, SecretStr) else value)
            for key, value in self.model_dump().items()
        }

    def log_startup(self, process: str) -> None:
        log.info("%s starting with settings %s", process, self.masked())
