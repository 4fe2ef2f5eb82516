"""One delivery: POST a hit to one target until it is accepted or the retry window is over.

`Deliverer.deliver(hit, target_id)` returns the outcome; it never raises for anything the
receiver or the network does. Each attempt looks the target up again, so an admin's change
(new URL or secret, covert no longer allowed, target deleted) applies to the next attempt.
Redirects are not followed; an answer's body is read (up to 64 KiB, then the connection is
dropped) only so that the connection can be reused, and never looked at. A target that has
failed for longer than the retry window gets one probe attempt now and then, and its other
deliveries fail at once (`notify.breaker`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from anpr import __version__
from anpr.clock import now_ms
from anpr.deliveries import DeliveryOutcome, DeliveryResult
from anpr.webhooks import UrlRefused, WebhookTarget, check_url, delivery_id
from notify import signing
from notify.backoff import Backoff, parse_retry_after, retriable_status
from notify.breaker import TargetHealth
from notify.metrics import NotifyMetrics
from notify.routing import EVENT_HIT, HitFields, payload, skip_reason

log = logging.getLogger(__name__)

TargetLookup = Callable[[str], WebhookTarget | None]
Sleep = Callable[[float], Awaitable[None]]
USER_AGENT = f"anpr-notify/{__version__}"
MAX_ANSWER_BYTES = 64 * 1024
CIRCUIT_OPEN = "not attempted: the target has failed for longer than the retry window"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt: `result` is a bounded metric label."""

    result: str
    status: int | None = None
    retriable: bool = False
    retry_after_s: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.result == "2xx"


async def _drain(response: httpx.Response) -> None:
    """Read and drop a small answer so its connection goes back to the pool (keep-alive: no
    new TCP and TLS handshake per hit); a bigger one is not read, and its connection closed."""
    if response.is_stream_consumed:
        return
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > MAX_ANSWER_BYTES:
                return
    except httpx.HTTPError:
        # The status already counts; a broken answer body only costs the connection.
        return


def _status_class(status: int) -> str:
    return f"{min(max(status // 100, 1), 5)}xx"


class Deliverer:
    def __init__(
        self,
        client: httpx.AsyncClient,
        targets: TargetLookup,
        backoff: Backoff,
        metrics: NotifyMetrics,
        *,
        allow_http_loopback: bool,
        attempt_timeout_s: float = 10.0,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._targets = targets
        self._backoff = backoff
        self._metrics = metrics
        self._allow_http = allow_http_loopback
        self._attempt_timeout_s = attempt_timeout_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._sleep = sleep
        self._monotonic = monotonic
        self.health = TargetHealth(window_s=backoff.window_s, probe_every_s=backoff.cap_s)

    async def deliver(
        self, hit: dict[str, Any], fields: HitFields, target_id: str
    ) -> DeliveryResult:
        started, first_at = self._monotonic(), now_ms()
        failures = 0
        last: Attempt | None = None
        outcome = DeliveryOutcome.FAILED
        while True:
            target = self._targets(target_id)
            if target is None or skip_reason(fields, target) is not None:
                outcome = DeliveryOutcome.CANCELLED
                last = Attempt("cancelled", error="target deleted or no longer takes this hit")
                break
            now = self._monotonic()
            # A target failing for longer than the window gets one probe now and then.
            past_deadline = now >= self.health.deadline(target_id, started)
            if failures == 0 and past_deadline and not self.health.claim_probe(target_id, now):
                last = Attempt("circuit_open", error=CIRCUIT_OPEN)
                break
            last = await self._attempt(hit, target, failures + 1)
            if not fields.covert:  # covert hits are in no count on /metrics
                self._metrics.attempts.labels(target_id, last.result).inc()
            if last.ok:
                self.health.succeeded(target_id)
                outcome = DeliveryOutcome.DELIVERED
                break
            failures += 1
            if not last.retriable:
                break
            now = self._monotonic()
            self.health.failed(target_id, now)
            delay = self._backoff.delay(failures, self._rng, retry_after_s=last.retry_after_s)
            window_start = self.health.deadline(target_id, started) - self._backoff.window_s
            if self._backoff.gives_up(now - window_start, delay):
                break
            await self._sleep(delay)
        if not fields.covert:
            self._metrics.deliveries.labels(target_id, outcome.value).inc()
            self._metrics.delivery_seconds.labels(target_id).observe(self._monotonic() - started)
        if outcome is not DeliveryOutcome.DELIVERED and not fields.covert:
            # Not attempted (the target is failing) is counted, and logged only at debug: a
            # dead receiver would otherwise log one line per hit. A covert hit's is not logged
            # (ops read the logs; it is in no metric either): the delivery log has it.
            log.log(
                logging.WARNING
                if failures or outcome is DeliveryOutcome.CANCELLED
                else logging.DEBUG,
                "delivery %s to target %s %s after %d attempts: %s",
                delivery_id(fields.hit_id, target_id),
                target_id,
                outcome.value,
                failures,
                last.error or last.result,
            )
        return DeliveryResult(
            delivery_id=delivery_id(fields.hit_id, target_id),
            hit_id=fields.hit_id,
            target_id=target_id,
            list_id=fields.list_id,
            covert=fields.covert,
            outcome=outcome,
            attempts=failures + (1 if outcome is DeliveryOutcome.DELIVERED else 0),
            status_code=last.status,
            error=None if last.ok else (last.error or last.result)[:500],
            first_attempt_at=first_at,
            finished_at=now_ms(),
        )

    async def _attempt(self, hit: dict[str, Any], target: WebhookTarget, number: int) -> Attempt:
        try:
            url = check_url(target.url, allow_http_loopback=self._allow_http)
        except UrlRefused as exc:
            return Attempt("refused_url", error=f"url {exc}")
        did, body = payload(hit, target)
        sent_s = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.DELIVERY_HEADER: did,
            signing.EVENT_HEADER: EVENT_HIT,
            signing.TARGET_HEADER: target.target_id,
            signing.ATTEMPT_HEADER: str(number),
            signing.TIMESTAMP_HEADER: str(sent_s),
            signing.SIGNATURE_HEADER: signing.signature(target.secret, sent_s, body),
        }
        status: int | None = None
        retry_after: float | None = None
        try:
            # The whole attempt, the answer's body included: httpx's timeout bounds each read
            # only, so a receiver sending a byte every few seconds held a delivery, and its
            # batch's offsets, for hours.
            async with asyncio.timeout(self._attempt_timeout_s):
                async with self._client.stream("POST", url, content=body, headers=headers) as resp:
                    status = resp.status_code
                    retry_after = parse_retry_after(
                        resp.headers.get("retry-after"), now_s=time.time()
                    )
                    await _drain(resp)
        except TimeoutError:
            if status is None:
                return Attempt(
                    "timeout",
                    retriable=True,
                    error=f"no answer within {self._attempt_timeout_s:g} s",
                )
            # Answered: the rest of a slow body is not waited for.
        except httpx.TimeoutException as exc:
            return Attempt("timeout", retriable=True, error=type(exc).__name__)
        except httpx.ConnectError as exc:
            return Attempt("connect_error", retriable=True, error=f"connect: {exc}"[:200])
        except httpx.HTTPError as exc:
            return Attempt(
                "network_error", retriable=True, error=f"{type(exc).__name__}: {exc}"[:200]
            )
        if 200 <= status < 300:
            return Attempt("2xx", status=status)
        return Attempt(
            _status_class(status),
            status=status,
            retriable=retriable_status(status),
            retry_after_s=retry_after,
            error=f"HTTP {status}",
        )
