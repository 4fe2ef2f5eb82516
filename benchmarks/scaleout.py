"""Scale-out measured: 2 matchers and 2 gateways against 1 of each, on the same machine.

The pure part (`scale_ratios`) turns rounds of `{"1": {...}, "2": {...}}` into the ratio 2/1
per round and its median; `scaleout` runs `benchmarks.matcher_kafka --instances 1,2` and
`benchmarks.http_stack --gateways 1,2` (batches of 100 and single reads) against a running
broker, each in its own process writing JSON, for `make bench` (part `scaleout`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from benchmarks.subrun import run_module


def scale_ratios(
    rounds: Sequence[dict[str, Any]], key: str = "reads_per_s", base: str = "1", scaled: str = "2"
) -> dict[str, Any]:
    """The ratio `scaled`/`base` of `key` per round (rounds missing either are skipped)."""
    per_round: list[float] = []
    for row in rounds:
        one, many = row.get(base), row.get(scaled)
        if not isinstance(one, dict) or not isinstance(many, dict):
            continue
        if not one.get(key):
            continue
        per_round.append(round(many[key] / one[key], 2))
    return {
        "ratios": per_round,
        "median_ratio": round(statistics.median(per_round), 2) if per_round else None,
    }


def scaleout(bootstrap: str, quick: bool) -> dict[str, Any]:
    """Both modules at small sizes (2-3 minutes in all)."""
    reads = "300000" if quick else "600000"  # long enough that the join is not the run
    matcher = run_module(
        "benchmarks.matcher_kafka",
        ["--bootstrap", bootstrap, "--instances", "1,2", "--rounds", "2", "--reads", reads,
         "--entries", "20000"],
    )  # fmt: skip
    seconds = "5"
    gateway = {
        f"batch{batch}": run_module(
            "benchmarks.http_stack",
            [
                "--bootstrap",
                bootstrap,
                "--gateways",
                "1,2",
                "--rounds",
                "2",
                "--batch",
                str(batch),
                "--connections",
                conns,
                "--seconds",
                seconds,
            ],
        )
        for batch, conns in ((100, "16"), (1, "32"))
    }
    return {"matcher": matcher, "gateway": gateway}


def _rows(label: str, part: dict[str, Any] | None) -> list[str]:
    if not part:
        return []
    if "error" in part:
        return [f"| {label} | not measured: {part['error'][-200:]} | | |"]
    medians = part.get("median_reads_per_s", {})
    ratios = ", ".join(f"{r:.2f}" for r in part.get("ratios", []))
    return [
        f"| {label} | {medians.get('1', 0):,} | {medians.get('2', 0):,} | "
        f"{ratios} (median {part.get('median_ratio')}) |"
    ]


def scaleout_section(scale: dict[str, Any] | None) -> list[str]:
    """The report's scale-out table (`make bench`, part `scaleout`)."""
    if not scale:
        return []
    gateway = scale.get("gateway", {})
    out = ["## Scale-out: 2 instances against 1 on the same machine (benchmarks.scaleout)", ""]
    out += ["| what | 1 instance reads/s | 2 instances reads/s | ratio 2/1 per round |"]
    out += ["|---|---:|---:|---|"]
    out += _rows("matchers, one group, preloaded topic", scale.get("matcher"))
    out += _rows("gateways, batches of 100", gateway.get("batch100"))
    out += _rows("gateways, single reads", gateway.get("batch1"))
    out += [
        "",
        "Both instances share the machine's cores with the broker and the load generator, so "
        "a ratio well under 2, down to about 1, is expected here; it shows the group split "
        "and the stateless gateways at work, not the gain on separate machines.",
        "",
    ]
    return out
