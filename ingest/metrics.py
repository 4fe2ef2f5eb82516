"""Prometheus metrics of the gateway. camera_id labels are bounded by the registry: reads for
unregistered cameras are counted under `camera_id="unregistered"`, and a camera's series go
when the registry deletes it (`forget_camera`).

What every accepted request updates is kept by `anpr.loopmetrics` (no lock per update; the
gateway updates metrics from its event loop only); the rest stays on prometheus_client."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from anpr.loopmetrics import LoopCounter, LoopGauge, LoopHistogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNREGISTERED = "unregistered"


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.reads_accepted = LoopCounter(
            "anpr_gateway_reads_accepted_total",
            "Reads acknowledged by Kafka and answered as accepted.",
            ["camera_id", "integrator_id"],
            registry=registry,
        )
        self.reads_non_latin = LoopCounter(
            "anpr_gateway_reads_non_latin_total",
            "Accepted reads whose normalized plate has letters or digits outside A-Z 0-9 "
            "(Thai, Arabic, Chinese, ...: kept as themselves, contract section 6).",
            ["camera_id", "integrator_id"],
            registry=registry,
        )
        self.reads_rejected = LoopCounter(
            "anpr_gateway_reads_rejected_total",
            "Reads rejected, by reason (the first field in error, or the request-level cause).",
            ["reason", "camera_id", "integrator_id"],
            registry=registry,
        )
        self.reads_duplicate = LoopCounter(
            "anpr_gateway_reads_duplicate_total",
            "Reads whose read_id was already accepted from that camera; not published again.",
            ["camera_id", "integrator_id"],
            registry=registry,
        )
        self.heartbeats = LoopCounter(
            "anpr_gateway_heartbeats_total",
            "Heartbeats accepted.",
            ["camera_id", "integrator_id"],
            registry=registry,
        )
        self.requests = LoopCounter(
            "anpr_gateway_requests_total",
            "HTTP requests by route and status code.",
            ["route", "status"],
            registry=registry,
        )
        self.request_seconds = LoopHistogram(
            "anpr_gateway_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.produce_seconds = LoopHistogram(
            "anpr_gateway_kafka_produce_seconds",
            "Time from handing a request's records to the bus to their acknowledgement.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.produce_failures = Counter(
            "anpr_gateway_kafka_produce_failures_total",
            "Publishes that failed or timed out (answered 503).",
            ["reason"],
            registry=registry,
        )
        self.shed = Counter(
            "anpr_gateway_shed_total",
            "Requests refused with 503 because they would have waited longer than the queue "
            "budget (reason: estimate on arrival, or deadline reached in the queue).",
            ["reason"],
            registry=registry,
        )
        self.queue_wait_seconds = LoopHistogram(
            "anpr_gateway_queue_wait_seconds",
            "Time an admitted request waited for an ingest slot.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = LoopGauge(
            "anpr_gateway_requests_in_flight",
            "HTTP requests being handled now.",
            registry=registry,
        )
        self.dedup_entries = LoopGauge(
            "anpr_gateway_dedup_entries",
            "read_ids remembered for duplicate detection.",
            registry=registry,
        )
        self.reads_stored_late = Counter(
            "anpr_gateway_reads_stored_late_total",
            "Reads of a publish answered 503 that Kafka stored after all (their keys then join "
            "the duplicate memory, so the resend is a duplicate).",
            registry=registry,
        )
        self.dedup_keys_pending = Gauge(
            "anpr_gateway_dedup_keys_pending",
            "Keys of stored reads not yet published for the other gateways (Kafka away).",
            registry=registry,
        )
        self.dedup_keys_expired = Counter(
            "anpr_gateway_dedup_keys_expired_total",
            "Keys of stored reads dropped unpublished after the duplicate window (Kafka away "
            "that long): a resend to another gateway is then published again.",
            registry=registry,
        )
        self.registry_ready = Gauge(
            "anpr_gateway_registry_ready",
            "1 once the registry topic has been replayed.",
            registry=registry,
        )

    def forget_camera(self, camera_id: str) -> None:
        """A deleted camera's series leave /metrics (its counts restart if it comes back)."""
        for family in (
            self.reads_accepted,
            self.reads_non_latin,
            self.reads_rejected,
            self.reads_duplicate,
            self.heartbeats,
        ):
            family.forget("camera_id", camera_id)
