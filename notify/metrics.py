"""Prometheus metrics of the delivery worker, prefix `anpr_notify_`.

Labels are bounded: `target_id` is chosen by an admin (one per configured target), `outcome`,
`result` and `reason` are fixed sets. A plate, a hit id or a list id is never a label: a target
is the unit an admin watches, and list ids could name covert lists. `/metrics` needs no token,
so covert hits are in no series at all (deliveries, attempts, skips, hits consumed, in flight):
a count of them, even under a neutral reason, would move when a camera's read hits a covert
list. Their deliveries are in the delivery log (`GET /v1/notifications/deliveries`, admin only).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DELIVERY_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.deliveries = Counter(
            "anpr_notify_deliveries_total",
            "Deliveries ended, by target and outcome (delivered, failed, cancelled).",
            ["target_id", "outcome"],
            registry=r,
        )
        self.attempts = Counter(
            "anpr_notify_attempts_total",
            "HTTP attempts, by target and result (2xx, 3xx, 4xx, 5xx, timeout, connect_error, "
            "network_error, refused_url).",
            ["target_id", "result"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "anpr_notify_delivery_seconds",
            "From the first attempt to the end of a delivery (retries included), by target.",
            ["target_id"],
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.hit_age_seconds = Histogram(
            "anpr_notify_hit_age_seconds",
            "From the hit's timestamp on the topic to its successful delivery.",
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.skipped = Counter(
            "anpr_notify_skipped_total",
            "Targets of a hit's list that did not receive it, by reason "
            "(priority, covert, test, entry; duplicate: delivered already).",
            ["reason"],
            registry=r,
        )
        self.in_flight = Gauge(
            "anpr_notify_in_flight", "Deliveries being attempted or waiting to retry.", registry=r
        )
        self.hits_consumed = Counter(
            "anpr_notify_hits_consumed_total", "Hits read from the hits topic.", registry=r
        )
        self.result_publish_failures = Counter(
            "anpr_notify_result_publish_failures_total",
            "Delivery outcomes that could not be published for the delivery log (retried).",
            registry=r,
        )
        self.ready = Gauge(
            "anpr_notify_ready",
            "1 once the registry is loaded and the hits consumer has caught up.",
            registry=r,
        )
