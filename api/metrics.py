"""Prometheus metrics of the API, prefix `anpr_api_`, on a per-app `CollectorRegistry`.

Labels are bounded: routes are templates (never raw paths), camera_id is bounded by the registry
(a camera's series is removed when it is deleted), actions and topics are fixed sets. A plate,
a token name or a hit_id is never a label. `/metrics` needs no token, so a covert hit, alert
or list is in no series, totals included (a total would count them by difference with what
an operator is shown): the hit counts are of overt hits, and a request or registry write about
a covert list, hit or alert (one whose audit entry is not counted) is not counted either.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from anpr.loopmetrics import LoopCounter, LoopHistogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        # Updated by the access log on the event loop: no lock per request.
        self.requests = LoopCounter(
            "anpr_api_requests_total",
            "HTTP requests by route template and status code (requests about covert lists, hits "
            "and alerts not counted).",
            ["route", "status"],
            registry=registry,
        )
        self.request_seconds = LoopHistogram(
            "anpr_api_request_seconds",
            "HTTP request latency by route template (streams: until the response started; "
            "requests about covert lists, hits and alerts not counted).",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.hits_stored = Counter(
            "anpr_api_hits_stored_total",
            "Overt hits consumed from the hits topic and newly stored (replays are not counted).",
            registry=registry,
        )
        self.hits_duplicate = Counter(
            "anpr_api_hits_duplicate_total",
            "Overt hits consumed again whose hit_id was already stored (ignored).",
            registry=registry,
        )
        self.alert_sightings = Counter(
            "anpr_api_alert_sightings_total",
            "Stored overt hits placed in alerts: `opened` a new alert or `joined` an open one.",
            ["decision"],
            registry=registry,
        )
        self.console_sign_ins = Counter(
            "anpr_api_console_sign_ins_total",
            "Console sign-in attempts by result (ok, refused, limited, unavailable).",
            ["result"],
            registry=registry,
        )
        self.stream_clients = Gauge(
            "anpr_api_stream_clients",
            "Open hit streams (server-sent events).",
            registry=registry,
        )
        self.hits_streamed = Counter(
            "anpr_api_hits_streamed_total",
            "Overt hit events written to streams, live or replayed after Last-Event-ID.",
            ["phase"],
            registry=registry,
        )
        self.stream_clients_dropped = Counter(
            "anpr_api_stream_clients_dropped_total",
            "Streams closed because the client read too slowly (its queue filled up).",
            registry=registry,
        )
        self.hit_delivery_seconds = Histogram(
            "anpr_api_hit_delivery_seconds",
            "From an overt hit's timestamp on the topic to its event being written to a stream.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.cameras_by_status = Gauge(
            "anpr_api_cameras",
            "Registered cameras by health status.",
            ["status"],
            registry=registry,
        )
        self.camera_last_seen_age = Gauge(
            "anpr_api_camera_last_seen_age_seconds",
            "Seconds since the camera's last read or heartbeat (absent when never seen).",
            ["camera_id"],
            registry=registry,
        )
        self.camera_status = Gauge(
            "anpr_api_camera_status",
            "1 for each camera's current health status; `state` is its lifecycle state "
            "(commissioning or live), so alerts can leave cameras being connected alone.",
            ["camera_id", "status", "state"],
            registry=registry,
        )
        self.camera_clock_skew = Gauge(
            "anpr_api_camera_clock_skew_seconds",
            "Median of received_at - captured_at over the camera's reads of the last hour "
            "(absent without one).",
            ["camera_id"],
            registry=registry,
        )
        self.audit_entries = Counter(
            "anpr_api_audit_entries_total",
            "Entries appended to the audit log, by action.",
            ["action"],
            registry=registry,
        )
        self.records_consumed = Counter(
            "anpr_api_records_consumed_total",
            "Records consumed, by topic kind (those of covert hits and covert-marked audit "
            "records not counted).",
            ["topic"],
            registry=registry,
        )
        self.hotlist_staged = Gauge(
            "anpr_api_hotlist_staged_entries",
            "Entries written to an overt list at a version it has not committed: a write in "
            "progress, or one interrupted before its commit (covert lists have no series).",
            ["list_id"],
            registry=registry,
        )
        self.registry_writes = Counter(
            "anpr_api_registry_writes_total",
            "Registry and hotlist writes published, by outcome (writes on covert lists and their "
            "webhook targets not counted).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.retention_deleted = Counter(
            "anpr_api_retention_deleted_total",
            "Rows removed from the store by retention, by table.",
            ["table"],
            registry=registry,
        )
        # The connection rollout (api.rollout): integrator is bounded by the registry.
        self.rollout_cameras = Gauge(
            "anpr_api_rollout_cameras",
            "Registered cameras by connection stage and integrator.",
            ["stage", "integrator"],
            registry=registry,
        )
        self.rollout_stuck = Gauge(
            "anpr_api_rollout_stuck_cameras",
            "Cameras stuck in a stage longer than ANPR_ROLLOUT_STUCK_DAYS, by integrator.",
            ["integrator"],
            registry=registry,
        )
        self.lifecycle_events = Counter(
            "anpr_api_lifecycle_events_total",
            "Camera lifecycle events recorded (registered, first_contact, moved_live, ...).",
            ["kind"],
            registry=registry,
        )
        self.store_checkpoint_seconds = Histogram(
            "anpr_api_store_checkpoint_seconds",
            "WAL checkpoints of the SQLite store, run beside its writes (none on PostgreSQL).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.store_checkpoint_failures = Counter(
            "anpr_api_store_checkpoint_failures_total",
            "WAL checkpoints of the SQLite store that failed (the next write retries).",
            registry=registry,
        )
        self.ready = Gauge(
            "anpr_api_ready",
            "1 once the registry and hotlists are replayed and the hit store has caught up.",
            registry=registry,
        )

    def observe_checkpoint(self, seconds: float, failed: bool) -> None:
        """A checkpoint of the SQLite store's WAL ended (on the checkpoint's own thread)."""
        self.store_checkpoint_seconds.observe(seconds)
        if failed:
            self.store_checkpoint_failures.inc()
