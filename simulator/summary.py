"""Text for people: the progress line of a simulation and its closing summary. Pure."""

from __future__ import annotations

from typing import Any

from simulator.schedule import SendStats
from simulator.stats import summarize
from simulator.tally import HitTally


def _ms(value: float | int | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _statuses(statuses: dict[str, int]) -> str:
    return " ".join(f"{status}:{n:,}" for status, n in sorted(statuses.items())) or "none yet"


def format_progress(
    elapsed: float, stats: SendStats, batch: int, tally: HitTally, watching: object | None
) -> str:
    recent = stats.latency_ms[-5000:]
    lat = summarize(recent)
    line = (
        f"[{elapsed:5.0f} s] sent {stats.sent * batch:,} reads "
        f"({stats.sent * batch / max(elapsed, 1e-9):,.0f}/s), accepted {stats.accepted:,} | "
        f"{_statuses(dict(stats.statuses))} | late {stats.late:,} | "
        f"latency p50 {_ms(lat['p50'])} p99 {_ms(lat['p99'])} ms"
    )
    if watching is not None:
        e2e = summarize(tally.received_to_stream_ms[-5000:])
        arrived = len(tally.owed) - len(tally.missing) if len(tally.owed) < 50_000 else None
        owed = f"{arrived:,}/{len(tally.owed):,} owed" if arrived is not None else "owed: later"
        line += (
            f" | hits {sum(tally.hit_ids.values()):,} ({owed}), to stream p99 {_ms(e2e['p99'])} ms"
        )
    return line


def _lat_row(name: str, lat: dict[str, Any]) -> str:
    return (
        f"  {name:<28} p50 {_ms(lat['p50']):>9}  p90 {_ms(lat['p90']):>9}  "
        f"p99 {_ms(lat['p99']):>9}  p99.9 {_ms(lat['p99_9']):>9}  max {_ms(lat['max']):>9} ms"
        f"  (n={lat['count']:,})"
    )


def format_summary(summary: dict[str, Any]) -> str:
    send = summary["send"]
    settings = summary["settings"]
    mode = "closed loop" if settings["closed_loop"] else f"{settings['rate']:g} reads/s offered"
    lines = [
        "",
        f"simulation {summary['read_id_prefix']}*: {settings['cameras']} cameras, {mode}, "
        f"{settings['batch']} read(s)/request, {send['elapsed_s']:.1f} s",
        f"  requests: {send['requests_sent']:,} sent, {send['requests_answered']:,} answered "
        f"({_statuses(send['statuses'])}), {send['late_sends']:,} late "
        f"(> {send['late_threshold_ms']:g} ms behind schedule)",
        f"  reads: {send['reads_sent']:,} sent, {send['reads_accepted']:,} accepted, "
        f"{send['reads_duplicate']:,} duplicates, {send['reads_rejected']:,} rejected; "
        f"achieved {send['achieved_reads_per_s']:,.1f} reads/s",
        _lat_row("request latency (from due)", send["latency_ms"]),
        _lat_row("service time (from send)", send["service_ms"]),
    ]
    hits = summary.get("hits")
    if hits is not None:
        lines += [
            f"  hits on the stream: {hits['hits']:,} ({hits['distinct_hit_ids']:,} distinct); "
            f"owed {hits['owed']:,}, arrived {hits['owed_arrived']:,}, "
            f"missing {hits['owed_missing']:,}, repeated {hits['repeated']:,}"
            f" -> {'OK' if hits['ok'] else 'FAILED'}",
            f"  match kinds: {hits['kinds']}",
            _lat_row("received_at -> stream", hits["received_to_stream_ms"]),
            _lat_row("due -> stream", hits["due_to_stream_ms"]),
        ]
    facts = summary.get("facts") or {}
    if "hotlists" in facts:
        hot = facts["hotlists"]
        lines.append(
            f"  hotlists: {hot['entries']:,} entries uploaded in {hot['upload_s']} s, "
            f"applied by a matcher {hot['applied_after_upload_s']} s later"
        )
    return "\n".join(lines)
