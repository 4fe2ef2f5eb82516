"""Settings of the delivery worker (`anpr notify`), read from `ANPR_*` environment variables."""

from __future__ import annotations

from pydantic import Field, model_validator

from anpr.consume import POLL_GAP_S
from anpr.errors import ConfigError
from anpr.settings import CommonSettings
from notify.budget import BatchBudget

# A loose cap of each field alone; `_fit_the_poll_interval` checks them together (notify.budget).
MAX_RETRY_WINDOW_S = 270.0


class NotifySettings(CommonSettings):
    """See docs/configuration.md for each variable."""

    notify_port: int = Field(default=9103, ge=1, le=65535)
    # Consumer group on the hits topic; default `<topic prefix>notify`.
    notify_group: str | None = None
    notify_poll_ms: int = Field(default=1000, ge=1, le=5000)
    # Deliveries in flight at once, over all targets.
    notify_max_in_flight: int = Field(default=32, ge=1, le=1000)
    notify_timeout_s: float = Field(default=10.0, gt=0, le=120)
    notify_connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    notify_backoff_base_s: float = Field(default=1.0, gt=0, le=60)
    notify_backoff_cap_s: float = Field(default=30.0, gt=0, le=MAX_RETRY_WINDOW_S)
    # How long a delivery is retried, from its first attempt, before it is recorded as failed.
    notify_retry_window_s: float = Field(default=120.0, gt=0, le=MAX_RETRY_WINDOW_S)
    # Use HTTP(S)_PROXY / NO_PROXY from the environment for outbound requests.
    notify_trust_env: bool = True
    result_publish_timeout_s: float = Field(default=10.0, gt=0)
    # Targets must be https; http is allowed to loopback hosts only when this is true.
    webhook_allow_http_loopback: bool = False

    @model_validator(mode="after")
    def _fit_the_poll_interval(self) -> NotifySettings:
        budget = self.batch_budget
        if budget.rounds < 1:
            raise ConfigError(
                "ANPR_NOTIFY_RETRY_WINDOW_S + ANPR_NOTIFY_TIMEOUT_S "
                f"({budget.round_s:g} s) + 2 x ANPR_RESULT_PUBLISH_TIMEOUT_S must fit in Kafka's "
                f"poll interval ({budget.poll_interval_s:g} s) less the consumer loop's own "
                f"calls ({POLL_GAP_S:g} s): a delivery this long would get the worker dropped "
                "from its group"
            )
        return self

    @property
    def batch_budget(self) -> BatchBudget:
        return BatchBudget(
            retry_window_s=self.notify_retry_window_s,
            attempt_timeout_s=self.notify_timeout_s,
            publish_timeout_s=self.result_publish_timeout_s,
            max_in_flight=self.notify_max_in_flight,
        )

    @property
    def group_id(self) -> str:
        return self.notify_group or f"{self.topic_prefix}notify"
