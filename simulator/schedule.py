"""The open-model load schedule and what is recorded about each request. Pure.

Requests are due at fixed instants, `k * batch / rate` seconds after the start, whatever the
server does: a slow answer never delays the next send (no coordinated omission). A request
that could not be sent at its instant (every connection busy, or the client itself behind) is
sent as soon as possible and counted as *late*; its latency still runs from the instant it was
due, so the delay it suffered is in the figures instead of hidden.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from simulator.stats import summarize


@dataclass(frozen=True, slots=True)
class Schedule:
    rate: float  # reads per second offered
    batch: int  # reads per request
    duration_s: float

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError("rate must be positive")
        if self.batch < 1:
            raise ValueError("batch must be at least 1")
        if not self.duration_s > 0:
            raise ValueError("duration must be positive")

    @property
    def interval_s(self) -> float:
        """Seconds between two requests."""
        return self.batch / self.rate

    @property
    def requests(self) -> int:
        return max(1, math.floor(self.duration_s * self.rate / self.batch + 1e-9))

    @property
    def reads(self) -> int:
        return self.requests * self.batch

    def intended(self, k: int) -> float:
        """When request `k` (from 0) is due, in seconds after the start."""
        return k * self.interval_s

    def due(self, elapsed_s: float) -> int:
        """How many requests are due by `elapsed_s` after the start."""
        if elapsed_s < 0:
            return 0
        return min(self.requests, math.floor(elapsed_s / self.interval_s + 1e-9) + 1)


@dataclass(slots=True)
class SendStats:
    """Everything recorded about the requests of one run (times in milliseconds)."""

    late_threshold_ms: float = 10.0
    sent: int = 0
    late: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    latency_ms: list[float] = field(default_factory=list)  # from the intended instant
    service_ms: list[float] = field(default_factory=list)  # from the actual send
    lag_ms: list[float] = field(default_factory=list)  # actual send - intended instant
    failed_requests: list[int] = field(default_factory=list)  # k of non-2xx requests

    def dispatched(self, lag_ms: float) -> None:
        self.sent += 1
        self.lag_ms.append(lag_ms)
        if lag_ms > self.late_threshold_ms:
            self.late += 1

    def answered(self, k: int, status: str, latency_ms: float, service_ms: float) -> None:
        self.statuses[status] += 1
        self.latency_ms.append(latency_ms)
        self.service_ms.append(service_ms)
        if not status.startswith("2"):
            self.failed_requests.append(k)

    def counted(self, body: dict[str, Any]) -> None:
        """The counts of a gateway answer (`accepted`, `duplicates`, `rejected`)."""
        self.accepted += int(body.get("accepted", 0))
        self.duplicates += int(body.get("duplicates", 0))
        self.rejected += len(body.get("rejected", ()))

    def summary(self, elapsed_s: float, batch: int) -> dict[str, Any]:
        ok = sum(n for status, n in self.statuses.items() if status.startswith("2"))
        return {
            "requests_sent": self.sent,
            "requests_answered": sum(self.statuses.values()),
            "requests_ok": ok,
            "late_sends": self.late,
            "late_threshold_ms": self.late_threshold_ms,
            "statuses": dict(sorted(self.statuses.items())),
            "reads_sent": self.sent * batch,
            "reads_accepted": self.accepted,
            "reads_duplicate": self.duplicates,
            "reads_rejected": self.rejected,
            "elapsed_s": round(elapsed_s, 3),
            "achieved_reads_per_s": round(self.accepted / elapsed_s, 1) if elapsed_s else 0.0,
            "latency_ms": summarize(self.latency_ms),
            "service_ms": summarize(self.service_ms),
            "send_lag_ms": summarize(self.lag_ms),
        }
