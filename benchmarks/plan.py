"""What a benchmark run does (full or quick), when an end-to-end run passes, the next rate of
the step search, and the targets. Pure.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

from benchmarks.peers import peer_targets

P99_BUDGET_MS = 100.0
ACHIEVED_SHARE = 0.95  # of the offered rate
IDLE_BUDGET_CORES = 0.1  # broker and services together, no traffic
LATE_SHARE = 0.01  # of the requests
STEP_PRECISION = 0.1  # stop the search when the bracket is within 10 %
# A fixed-rate phase of a full run lasts until it sent this many requests (at least its
# duration): at 1,000 reads/s in batches of 100 a 20 s phase is 200 requests, and its p99 over
# hits is then set by the second or third slowest request.
MIN_PHASE_REQUESTS = 600
PARTS = ("e2e", "steps", "gateway", "core", "scaleout", "peers")


@dataclass(frozen=True, slots=True)
class Plan:
    quick: bool
    hotlist_entries: int
    cameras: int
    e2e_rates: tuple[float, ...]
    e2e_duration_s: float
    e2e_batch: int
    steps: int
    step_duration_s: float
    gateway_duration_s: float
    gateway_connections: int
    hit_share: float
    drain_s: float
    idle_s: float
    final_drain_s: float
    core_size: int
    core_reads: int
    warmup_s: float = 0.0
    warmup_rate: float = 5000.0
    min_phase_requests: int = 0
    parts: tuple[str, ...] = PARTS
    seed: int = 2026

    @classmethod
    def make(cls, args: argparse.Namespace) -> Plan:
        quick = bool(args.quick)
        rates: tuple[float, ...] = (1000.0, 5000.0) if quick else (1000.0, 5000.0, 12000.0)
        if getattr(args, "rates", None):
            rates = tuple(float(r) for r in args.rates.split(","))
        given = getattr(args, "duration", None)
        duration = given or (8.0 if quick else 20.0)
        entries = getattr(args, "hotlist_entries", None) or (20_000 if quick else 1_000_000)
        chosen: str | None = getattr(args, "parts", None)
        parts = tuple(chosen.split(",")) if chosen else PARTS
        warmup = getattr(args, "warmup", None)
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise SystemExit(f"unknown parts {sorted(unknown)}; choose from {','.join(PARTS)}")
        return cls(
            quick=quick,
            hotlist_entries=entries,
            cameras=100 if quick else 200,
            e2e_rates=rates,
            e2e_duration_s=duration,
            e2e_batch=getattr(args, "e2e_batch", None) or 100,
            steps=1 if quick else 4,
            step_duration_s=6.0 if quick else 12.0,
            gateway_duration_s=5.0 if quick else 10.0,
            gateway_connections=32,
            hit_share=0.02,
            drain_s=15.0 if quick else 30.0,
            idle_s=10.0 if quick else 30.0,
            final_drain_s=60.0 if quick else 240.0,
            core_size=100_000 if quick else 1_000_000,
            core_reads=20_000 if quick else 50_000,
            warmup_s=warmup if warmup is not None else (0.0 if quick else 30.0),
            parts=parts,
            # A duration given on the command line is taken as it is.
            min_phase_requests=0 if quick or given else MIN_PHASE_REQUESTS,
        )

    def e2e_phase_s(self, rate: float) -> float:
        """How long the fixed-rate phase at `rate` lasts: its duration, or longer to send
        `min_phase_requests` requests."""
        requests_per_s = rate / self.e2e_batch
        needed = self.min_phase_requests / requests_per_s if requests_per_s > 0 else 0.0
        return max(self.e2e_duration_s, float(math.ceil(needed)))


def passes(result: dict[str, Any]) -> bool:
    """p99 received->stream within budget, the offered rate achieved, nothing late or lost."""
    send, hits = result["send"], result["hits"]
    p99 = hits["received_to_stream_ms"]["p99"]
    offered = result.get("offered_reads_per_s") or 0.0
    ok_statuses = all(status.startswith("2") for status in send["statuses"])
    return bool(
        hits["ok"]
        and p99 is not None
        and p99 <= P99_BUDGET_MS
        and send["achieved_reads_per_s"] >= ACHIEVED_SHARE * offered
        and send["late_sends"] <= LATE_SHARE * max(1, send["requests_sent"])
        and ok_statuses
    )


def _bracket(results: list[dict[str, Any]]) -> tuple[float, float | None]:
    good = [r["offered_reads_per_s"] for r in results if passes(r)]
    bad = [r["offered_reads_per_s"] for r in results if not passes(r)]
    low = max(good, default=0.0)
    high = min((b for b in bad if b > low), default=None)
    return low, high


def next_step(results: list[dict[str, Any]]) -> float | None:
    """The next rate to try, or None when the bracket is tight enough."""
    low, high = _bracket(results)
    if high is None:
        return round(max(low * 1.5, 500.0), -2)
    if high - low <= STEP_PRECISION * max(low, 1.0):
        return None
    rate = round((low + high) / 2, -2)
    return rate if low < rate < high else None


def highest_passing(results: list[dict[str, Any]]) -> float | None:
    low, _ = _bracket(results)
    return low or None


def _e2e(results: dict[str, Any], rate: float) -> dict[str, Any] | None:
    runs: list[dict[str, Any]] = results.get("e2e", []) + results.get("steps", [])
    return next((run for run in runs if run["offered_reads_per_s"] == rate), None)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if "idle" in results:
        idle = results["idle"]["services_and_broker_cores"]
        out.append(
            {
                "target": f"idle: broker and services ≤ {IDLE_BUDGET_CORES:g} core",
                "measured": f"{idle:.3f} cores over {results['idle']['wall_s']:g} s",
                "met": idle <= IDLE_BUDGET_CORES,
            }
        )
    for rate, budget in ((12000.0, 100.0), (1000.0, 20.0)):
        run = _e2e(results, rate)
        if run is None:
            continue
        p99 = run["hits"]["received_to_stream_ms"]["p99"]
        achieved = run["send"]["achieved_reads_per_s"]
        out.append(
            {
                "target": f"{rate:,.0f} reads/s end to end, p99 ingest→alert ≤ {budget:g} ms",
                "measured": f"achieved {achieved:,.0f} reads/s, p99 {p99} ms",
                "met": bool(
                    run["hits"]["ok"]
                    and p99 is not None
                    and p99 <= budget
                    and achieved >= ACHIEVED_SHARE * rate
                ),
            }
        )
    for run in results.get("gateway", []):
        if run["phase"] == "gw-batch100-max":
            achieved = run["send"]["achieved_reads_per_s"]
            out.append(
                {
                    "target": "gateway ≥ 30,000 reads/s in batches of 100",
                    "measured": f"{achieved:,.0f} reads/s (closed loop)",
                    "met": achieved >= 30_000,
                }
            )
    return out + peer_targets(results.get("peers"))
