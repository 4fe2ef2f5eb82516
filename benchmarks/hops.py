"""Where a read's time goes, hop by hop: the services' own latency histograms, scraped from their
`/metrics` before and after a phase, as the phase's share of each histogram.

- gateway request (parse, validate, dedup, produce, answer):
  `anpr_gateway_request_seconds{route="/v1/reads"}` (ingest);
- gateway produce (records handed to the bus until acks=all):
  `anpr_gateway_kafka_produce_seconds` (ingest);
- received -> matched (produce, fetch, decode, match): `anpr_matcher_ingest_to_match_seconds`;
- matching one batch (CPU): `anpr_matcher_batch_seconds` (matcher);
- hit on the topic -> written to a stream (fetch, store, fan-out):
  `anpr_api_hit_delivery_seconds` (api).
- each process's event-loop lag (how late a 500 ms timer woke: the time other work held the
  loop, which every hop of that process waited out): `anpr_event_loop_lag_seconds`.
- each process's full garbage collections (the pause; "–" when there was none):
  `anpr_gc_pause_seconds{generation="2"}`.

Quantiles are read off the bucket counts (the upper bound of the bucket holding the quantile),
as Prometheus' `histogram_quantile` would, without its interpolation; the mean is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

# (hop name, service, metric family, label filter)
HOPS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("gateway request", "ingest", "anpr_gateway_request_seconds", {"route": "/v1/reads"}),
    ("gateway produce", "ingest", "anpr_gateway_kafka_produce_seconds", {}),
    ("received -> matched", "matcher", "anpr_matcher_ingest_to_match_seconds", {}),
    ("match batch (CPU)", "matcher", "anpr_matcher_batch_seconds", {}),
    ("hit topic -> stream", "api", "anpr_api_hit_delivery_seconds", {}),
    ("gateway loop lag", "ingest", "anpr_event_loop_lag_seconds", {}),
    ("matcher loop lag", "matcher", "anpr_event_loop_lag_seconds", {}),
    ("API loop lag", "api", "anpr_event_loop_lag_seconds", {}),
    ("gateway full GC", "ingest", "anpr_gc_pause_seconds", {"generation": "2"}),
    ("matcher full GC", "matcher", "anpr_gc_pause_seconds", {"generation": "2"}),
    ("API full GC", "api", "anpr_gc_pause_seconds", {"generation": "2"}),
)


@dataclass(frozen=True, slots=True)
class Histogram:
    """One histogram's cumulative buckets (upper bound -> count), sum and count."""

    buckets: tuple[tuple[float, float], ...]
    total: float
    count: float

    def minus(self, before: Histogram | None) -> Histogram:
        if before is None:
            return self
        earlier = dict(before.buckets)
        return Histogram(
            tuple((le, n - earlier.get(le, 0.0)) for le, n in self.buckets),
            self.total - before.total,
            self.count - before.count,
        )

    def quantile(self, q: float) -> float | None:
        if self.count <= 0:
            return None
        rank = q * self.count
        for le, n in self.buckets:
            if n >= rank:
                return le
        return math.inf


def parse(text: str, family: str, labels: dict[str, str]) -> Histogram | None:
    """The histogram `family` (summed over the series matching `labels`) in an exposition."""
    buckets: dict[float, float] = {}
    total = count = 0.0
    found = False
    for metric in text_string_to_metric_families(text):
        if metric.name != family:
            continue
        for sample in metric.samples:
            if any(sample.labels.get(k) != v for k, v in labels.items()):
                continue
            found = True
            if sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
            elif sample.name.endswith("_sum"):
                total += sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
    if not found:
        return None
    return Histogram(tuple(sorted(buckets.items())), total, count)


def scrape(urls: dict[str, str]) -> dict[str, Histogram | None]:
    """Every hop's histogram now; a service that does not answer gives None for its hops."""
    texts: dict[str, str | None] = {}
    with httpx.Client(timeout=5.0) as client:
        for service, url in urls.items():
            try:
                texts[service] = client.get(f"{url}/metrics").text
            except httpx.HTTPError:
                texts[service] = None
    out: dict[str, Histogram | None] = {}
    for hop, service, family, labels in HOPS:
        text = texts.get(service)
        out[hop] = None if text is None else parse(text, family, labels)
    return out


def between(
    before: dict[str, Histogram | None], after: dict[str, Histogram | None]
) -> dict[str, dict[str, Any]]:
    """Per hop: observations, mean, p50 and p99 in ms over the phase."""
    report: dict[str, dict[str, Any]] = {}
    for hop, *_ in HOPS:
        now = after.get(hop)
        if now is None:
            continue
        delta = now.minus(before.get(hop))
        if delta.count <= 0:
            continue

        def ms(value: float | None) -> float | None:
            return None if value is None or math.isinf(value) else round(value * 1000, 2)

        report[hop] = {
            "count": int(delta.count),
            "mean_ms": ms(delta.total / delta.count),
            "p50_ms_le": ms(delta.quantile(0.5)),
            "p99_ms_le": ms(delta.quantile(0.99)),
        }
    return report
