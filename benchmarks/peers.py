"""The issue's peers, side by side with this project in one run, for `make bench` (part `peers`).

- The gateway against a minimal FastAPI + aiokafka endpoint (`benchmarks.peer_gateway`), each
  under uvicorn, A B then B A: `benchmarks.http_stack --servers uvicorn,minimal`, single reads (32
  connections) and batches of 100 (8 connections). Compared per server CPU second, the fair
  figure when the load generator shares the cores.
- The matcher against a plain aiokafka consume→lookup→produce loop and a Kafka Streams app on
  one exact list, and the matcher with lists of every mode against the same plain loop:
  `benchmarks.matcher_kafka --consumers matcher,plain,kstreams,mix` (the Streams app's jars
  come from Maven Central, `benchmarks.kstreams_peer`).

Each module runs in its own process and writes JSON (`benchmarks.subrun`). The Go gateway peer
of the issue is not built here: it has no target of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from benchmarks.subrun import run_module

SINGLE_PER_CORE_TARGET = 3_000
BATCH_TARGET = 30_000
MATCHER_OVER_PLAIN_TARGET = 1.5
MATCHER_PEERS = (("plain", "plain aiokafka loop"), ("kstreams", "Kafka Streams app"))


def peers(bootstrap: str, quick: bool) -> dict[str, Any]:
    seconds = "5" if quick else "10"
    gateway = {
        f"batch{batch}": run_module(
            "benchmarks.http_stack",
            [
                "--bootstrap",
                bootstrap,
                "--servers",
                "uvicorn,minimal",
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
        for batch, conns in ((1, "32"), (100, "8"))
    }
    matcher = run_module(
        "benchmarks.matcher_kafka",
        ["--bootstrap", bootstrap, "--consumers", "matcher,plain,kstreams,mix", "--rounds", "2",
         "--reads", "100000" if quick else "500000",
         "--entries", "100000" if quick else "1000000"],
    )  # fmt: skip
    return {"gateway": gateway, "matcher": matcher}


def _median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _round_ratios(part: dict[str, Any], key: str, ours: str, peer: str) -> list[float]:
    """ours/peer for `key`, round by round."""
    return [
        row[ours][key] / row[peer][key]
        for row in part.get("rounds", [])
        if row.get(ours, {}).get(key) and row.get(peer, {}).get(key)
    ]


def _judged(target: str, ratios: list[float], at_least: float, peer: str) -> dict[str, Any]:
    """A ratio target: met only when every round meets it (two noisy rounds whose median
    passes while one of them fails are not a target met); the median and the rounds shown."""
    if not ratios:
        return {"target": target, "measured": "not measured", "met": False}
    median = _median(ratios)
    rounds = ", ".join(f"{r:.2f}" for r in ratios)
    return {
        "target": target,
        "measured": f"{median:.2f}× {peer} (median; rounds {rounds})",
        "met": min(ratios) >= at_least,
    }


def peer_targets(found: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The peers' targets, each met or not (or not measured)."""
    if not found:
        return []
    out: list[dict[str, Any]] = []
    single = found["gateway"].get("batch1", {})
    batch = found["gateway"].get("batch100", {})
    for label, part, key in (
        ("single reads, requests per server CPU-s", single, "requests_per_cpu_s"),
        ("batches of 100, reads/s", batch, "reads_per_s"),
    ):
        out.append(
            _judged(
                f"gateway ≥ a minimal FastAPI + aiokafka endpoint ({label})",
                _round_ratios(part, key, "uvicorn", "minimal"),
                1.0,
                "the peer",
            )
        )
    per_core = single.get("median_requests_per_cpu_s", {}).get("uvicorn")
    out.append(
        {
            "target": f"gateway ≥ {SINGLE_PER_CORE_TARGET:,} single-read requests/s per core",
            "measured": "not measured" if per_core is None else f"{per_core:,} per server CPU-s",
            "met": per_core is not None and per_core >= SINGLE_PER_CORE_TARGET,
        }
    )
    reads = _median(r["uvicorn"]["reads_per_s"] for r in batch.get("rounds", []))
    out.append(
        {
            "target": f"gateway ≥ {BATCH_TARGET:,} reads/s in batches of 100, alone on the broker",
            "measured": "not measured" if reads is None else f"{reads:,.0f} reads/s",
            "met": reads is not None and reads >= BATCH_TARGET,
        }
    )
    matcher = found.get("matcher", {})
    entries = matcher.get("entries")
    plain = f"matcher ≥ {MATCHER_OVER_PLAIN_TARGET}× a plain aiokafka loop"
    out.append(
        _judged(
            f"{plain} (exact list of {entries:,} entries)" if entries else plain,
            _round_ratios(matcher, "reads_per_s", "matcher", "plain"),
            MATCHER_OVER_PLAIN_TARGET,
            "the plain loop",
        )
    )
    out.append(
        _judged(
            "matcher ≥ a Kafka Streams app",
            _round_ratios(matcher, "reads_per_s", "matcher", "kstreams"),
            1.0,
            "the Streams app",
        )
    )
    out.append(
        _judged(
            "matcher with lists of every mode ≥ the plain aiokafka loop",
            _round_ratios(matcher, "reads_per_s", "mix", "plain"),
            1.0,
            "the plain loop",
        )
    )
    return out


def peers_section(found: dict[str, Any] | None) -> list[str]:
    """The report's table of the peers, round by round."""
    if not found:
        return []
    out = ["## Peers, side by side in this run (benchmarks.peers)", ""]
    out += ["| what | round | this project | peer | ratio |", "|---|---:|---:|---:|---:|"]
    for label, part, key in (
        ("gateway vs minimal FastAPI+aiokafka, single reads, requests per server CPU-s",
         found["gateway"].get("batch1", {}), "requests_per_cpu_s"),
        ("gateway vs minimal FastAPI+aiokafka, batches of 100, reads/s",
         found["gateway"].get("batch100", {}), "reads_per_s"),
    ):  # fmt: skip
        if "error" in part:
            out.append(f"| {label} | | not measured: {part['error'][-200:]} | | |")
        for n, row in enumerate(part.get("rounds", []), 1):
            ours, peer = row["uvicorn"][key], row["minimal"][key]
            out.append(f"| {label} | {n} | {ours:,} | {peer:,} | {ours / peer:.2f} |")
    matcher = found.get("matcher", {})
    if "error" in matcher:
        out.append(f"| matcher vs plain loop | | not measured: {matcher['error'][-200:]} | | |")
    for n, row in enumerate(matcher.get("rounds", []), 1):
        same = "" if row.get("same_hits") else " (hits differ: failed)"
        for peer_name, label in MATCHER_PEERS:
            if peer_name not in row:
                continue
            if "error" in row[peer_name]:
                why = row[peer_name]["error"][-200:]
                out.append(f"| matcher vs {label} | {n} | not measured: {why} | | |")
                continue
            ours, peer = row["matcher"]["reads_per_s"], row[peer_name]["reads_per_s"]
            out.append(
                f"| matcher vs {label}, {matcher.get('entries', 0):,}-entry exact list, "
                f"reads/s{same} | {n} | {ours:,} | {peer:,} | {ours / peer:.2f} |"
            )
        mix, plain = row.get("mix", {}), row.get("plain", {})
        if "reads_per_s" in mix and "reads_per_s" in plain:
            ours, peer = mix["reads_per_s"], plain["reads_per_s"]
            out.append(
                f"| matcher with lists of every mode ({mix.get('entries', 0):,} entries) vs "
                f"plain aiokafka loop (the exact list), reads/s{same} | {n} | {ours:,} | "
                f"{peer:,} | {ours / peer:.2f} |"
            )
    out += [
        "",
        "Ratios are taken round by round (A B, then B A, on the same machine); compare ratios, not "
        "absolute rates. Commands: `python -m benchmarks.http_stack --servers uvicorn,minimal "
        "--rounds 2 --batch 1 --connections 32` (and `--batch 100 --connections 8`), "
        "`python -m benchmarks.matcher_kafka --consumers matcher,plain,kstreams,mix --rounds 2` "
        "(the Streams app is a JVM: its first seconds run before the JIT has compiled the hot "
        "path, so on a short preloaded topic it is measured partly warm).",
        "",
    ]
    return out
