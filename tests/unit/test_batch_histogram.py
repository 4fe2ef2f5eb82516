"""The batch-fed histogram exports exactly what prometheus_client's own histogram does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from anpr.batchhistogram import BatchHistogram

BUCKETS = (0.005, 0.01, 0.025, 0.1, 1.0, 10.0)


def samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    out = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            out[(sample.name, sample.labels.get("le", ""))] = sample.value
    return out


@given(st.lists(st.integers(min_value=0, max_value=20_000), max_size=200))
def test_same_samples_as_the_reference_histogram(latencies_ms: list[int]) -> None:
    ours, reference = CollectorRegistry(), CollectorRegistry()
    batch = BatchHistogram("lat_seconds", "x", buckets=BUCKETS, registry=ours, scale=1 / 1000)
    plain = Histogram("lat_seconds", "x", buckets=BUCKETS, registry=reference)
    half = len(latencies_ms) // 2
    batch.observe_many(latencies_ms[:half])
    batch.observe_many(latencies_ms[half:])
    for value in latencies_ms:
        plain.observe(value / 1000)
    got, want = samples(ours), samples(reference)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert abs(got[key] - value) < 1e-6, key


def test_text_exposition_is_a_histogram() -> None:
    registry = CollectorRegistry()
    BatchHistogram("lat_seconds", "latency", buckets=BUCKETS, registry=registry).observe_many(
        [0.002, 0.5]
    )
    text = generate_latest(registry).decode()
    assert "# TYPE lat_seconds histogram" in text
    assert 'lat_seconds_bucket{le="0.005"} 1.0' in text
    assert 'lat_seconds_bucket{le="+Inf"} 2.0' in text
    assert "lat_seconds_count 2.0" in text
