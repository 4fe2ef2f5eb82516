"""Per-target failure state, so a receiver that is down cannot hold a batch of hits for longer
than the retry window. Pure: times are passed in (monotonic seconds).

Every delivery to a target retries until `min(its own start, the start of the target's current
failure streak) + window`. So when a receiver goes down, the deliveries already under way all
end by the streak's start + window, and the deliveries that start later (queued behind the
in-flight bound, or in later batches) end at once as failed, without an attempt, except one
*probe* attempt per target every `probe_every_s`. The first successful attempt ends the streak.
Without this, a batch of 2,000 hits to a dead receiver, 32 at a time, would take 2000 / 32
retry windows, far beyond the time Kafka waits for the consumer to poll again.
"""

from __future__ import annotations


class TargetHealth:
    def __init__(self, *, window_s: float, probe_every_s: float) -> None:
        self._window = window_s
        self._probe_every = probe_every_s
        self._failing_since: dict[str, float] = {}
        self._last_probe: dict[str, float] = {}

    def deadline(self, target_id: str, started: float) -> float:
        """When retries of a delivery that started at `started` must stop."""
        own = started + self._window
        since = self._failing_since.get(target_id)
        return own if since is None else min(own, since + self._window)

    def failing_since(self, target_id: str) -> float | None:
        return self._failing_since.get(target_id)

    def failed(self, target_id: str, now: float) -> None:
        """A retriable failure (the receiver, not the request): starts or extends a streak."""
        self._failing_since.setdefault(target_id, now)

    def succeeded(self, target_id: str) -> None:
        self._failing_since.pop(target_id, None)
        self._last_probe.pop(target_id, None)

    def claim_probe(self, target_id: str, now: float) -> bool:
        """True (and noted) if a past-deadline delivery may make one attempt now."""
        last = self._last_probe.get(target_id)
        if last is not None and now - last < self._probe_every:
            return False
        self._last_probe[target_id] = now
        return True

    def forget(self, target_ids: set[str]) -> None:
        """Drop the state of targets that no longer exist."""
        for target_id in [t for t in self._failing_since if t not in target_ids]:
            del self._failing_since[target_id]
        for target_id in [t for t in self._last_probe if t not in target_ids]:
            del self._last_probe[target_id]
