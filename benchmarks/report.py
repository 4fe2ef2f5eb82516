"""The Markdown report of a benchmark run (written beside its JSON and printed). Pure."""

from __future__ import annotations

from typing import Any

from benchmarks.broker_floor import section as broker_floor_section
from benchmarks.peers import peers_section
from benchmarks.scaleout import scaleout_section

SERVICES = ("ingest", "matcher", "api", "kafka", "listener", "loadgen")


def _n(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 100):
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _cores(cpu: dict[str, Any]) -> str:
    cores = cpu.get("cores", {})
    return ", ".join(f"{name} {cores[name]:.2f}" for name in SERVICES if name in cores)


def _waits(cpu: dict[str, Any]) -> str:
    wait = cpu.get("runqueue_wait_ms_per_s", {})
    return " / ".join(f"{wait[n]:.0f}" if n in wait else "–" for n in SERVICES[:4])


def _statuses(send: dict[str, Any]) -> str:
    return " ".join(f"{k}:{v:,}" for k, v in send["statuses"].items())


def _ingest_rows(phases: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| run | reads/request | offered reads/s | achieved reads/s | p50 ms | p99 ms | "
        "p99.9 ms | statuses | late sends | cores used (others) | CPU wait ms/s |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for p in phases:
        send, lat = p["send"], p["send"]["latency_ms"]
        offered = "closed loop" if p["closed_loop"] else _n(p["offered_reads_per_s"])
        rows.append(
            f"| {p['phase']} | {p['batch']} | {offered} | {_n(send['achieved_reads_per_s'])} | "
            f"{_n(lat['p50'])} | {_n(lat['p99'])} | {_n(lat['p99_9'])} | {_statuses(send)} | "
            f"{send['late_sends']:,} | {_cores(p['cpu'])} ({p['cpu']['others_cores']:.2f}) | "
            f"{_waits(p['cpu'])} |"
        )
    return rows


def _e2e_rows(phases: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| run | offered reads/s | achieved reads/s | received→stream p50 / p99 / p99.9 / max ms"
        " | due→stream p99 ms | request p99 ms | hits (owed, missing) | late sends | pass |"
        " cores used (others) | CPU wait ms/s |",
        "|---|---:|---:|---|---:|---:|---|---:|---|---|---|",
    ]
    for p in phases:
        send, hits = p["send"], p["hits"]
        e2e = hits["received_to_stream_ms"]
        rows.append(
            f"| {p['phase']} | {_n(p['offered_reads_per_s'])} | "
            f"{_n(send['achieved_reads_per_s'])} | {_n(e2e['p50'])} / {_n(e2e['p99'])} / "
            f"{_n(e2e['p99_9'])} / {_n(e2e['max'])} | {_n(hits['due_to_stream_ms']['p99'])} | "
            f"{_n(send['latency_ms']['p99'])} | {hits['hits']:,} ({hits['owed']:,}, "
            f"{hits['owed_missing']:,}) | {send['late_sends']:,} | "
            f"{'yes' if p.get('passes') else 'no'} | "
            f"{_cores(p['cpu'])} ({p['cpu']['others_cores']:.2f}) | {_waits(p['cpu'])} |"
        )
    return rows


def _hop_rows(phases: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for p in phases:
        names += [h for h in p.get("hops", {}) if h not in names]
    if not names:
        return []
    rows = [
        "| run | " + " | ".join(f"{h} mean / p99 ms" for h in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for p in phases:
        hops = p.get("hops", {})
        cells = [
            f"{_n(hops[h]['mean_ms'])} / ≤{_n(hops[h]['p99_ms_le'])}" if h in hops else "–"
            for h in names
        ]
        rows.append(f"| {p['phase']} | " + " | ".join(cells) + " |")
    return rows


def _idle(results: dict[str, Any]) -> list[str]:
    idle = results.get("idle")
    if not idle:
        return []
    per = ", ".join(f"{name} {cores:.3f}" for name, cores in sorted(idle["cores"].items()))
    return [
        "## Idle (no traffic)",
        "",
        f"{idle['services_and_broker_cores']:.3f} cores for the broker and the services together "
        f"over {idle['wall_s']:g} s, after the hotlist upload settled: {per}.",
        "",
    ]


def _longer(plan: dict[str, Any]) -> str:
    """The rule that lengthens the low-rate phases, when it applies (older results lack it)."""
    needed = plan.get("min_phase_requests") or 0
    return f" (longer where that is under {needed:,} requests)" if needed else ""


def _targets(results: dict[str, Any]) -> list[str]:
    rows = ["| target | measured | met |", "|---|---|---|"]
    for t in results.get("targets", []):
        rows.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
    return rows


def markdown(results: dict[str, Any]) -> str:
    m, v, plan = results["machine"], results["versions"], results["plan"]
    pk = v["packages"]
    out = [
        f"# Benchmark {results['started_at']} on {m['host']}",
        "",
        f"`{results['command']}` — {'quick smoke run' if plan['quick'] else 'full run'}, "
        f"{results['elapsed_s']:.0f} s, commit `{v['git_commit'][:12]}`"
        f"{' (with local changes)' if v['git_dirty'] else ''}. "
        f"Verdict: **{'valid run' if results['verification']['ok'] else 'FAILED RUN'}**.",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB; load average "
        f"at start {m['load_average_at_start']}. Everything (Kafka, gateway, matcher, API, load "
        f"generator, stream listener) on this machine. Other processes used "
        f"{results['others_cores_mean']:.2f} cores on average during the load phases, so "
        "figures are noisy.",
        "",
        f"Python {v['python']}, Kafka {v['kafka']} ({v['java']}), fastapi {pk.get('fastapi')}, "
        f"uvicorn {pk.get('uvicorn')}, aiokafka {pk.get('aiokafka')}, orjson {pk.get('orjson')}, "
        f"pydantic {pk.get('pydantic')}, httpx {pk.get('httpx')} (load generator).",
        "",
        f"Settings: {plan['cameras']} cameras, {results['hotlists']['entries']:,} hotlist "
        f"entries in {results['hotlists']['lists']} lists (exact, ocr, fuzzy, patterns, zone "
        f"lists), hit share {plan['hit_share']:.0%} of reads built to hit, "
        f"{results['settings']['ANPR_TOPIC_PARTITIONS']} partitions, "
        f"e2e {plan['e2e_duration_s']:g} s per rate in batches of {plan['e2e_batch']}"
        f"{_longer(plan)}, "
        f"steps {plan['step_duration_s']:g} s, gateway runs {plan['gateway_duration_s']:g} s.",
        "",
        "## Targets",
        "",
        *_targets(results),
        "",
        "## Gateway ingest through Kafka (acks=all, idempotent)",
        "",
        *_ingest_rows(results["gateway"]),
        "",
        "Closed loop: each connection sends the next request when the answer came back (the "
        "ceiling). Open loop: a fixed offered rate; latency from the due instant. Cores: CPU "
        "seconds per second of each process (others: the rest of the machine). CPU wait: "
        "milliseconds per second that ingest / matcher / api / kafka were ready to run but "
        "queued for a CPU, summed over each process's threads (Kafka's JVM has dozens).",
        "",
        "## End to end: gateway → Kafka → matcher → hits topic → API → SSE stream",
        "",
        *_e2e_rows(results.get("warmup", []) + results["e2e"] + results["steps"]),
        "",
        *(
            [
                "`warmup-*`: load before the measured phases, for the broker's JIT to compile "
                "its produce and fetch paths (a JVM measured cold ran at about twice the CPU "
                "per request); its reads and hits are verified like the others, its latencies "
                "count for no target.",
                "",
            ]
            if results.get("warmup")
            else []
        ),
        f"Highest rate with p99 received→stream ≤ 100 ms (short step search): "
        f"**{_n(results['highest_rate_p99_under_100ms'])} reads/s**.",
        "",
    ]
    hop_rows = _hop_rows(results["e2e"] + results["steps"])
    if hop_rows:
        out += [
            "### Hop by hop (the services' own histograms over each run; p99 is a bucket bound)",
            "",
            *hop_rows,
            "",
            "Gateway request: parse, validate, dedup, produce with acks=all, answer. Received → "
            "matched: from the gateway's `received_at` to the matcher's match (produce, fetch, "
            "decode, match). Hit topic → stream: from the hit record's timestamp to its event "
            "written to a subscriber (fetch, store, fan-out). Loop lag: how late a 500 ms timer "
            "woke on the process's event loop (time other work, or the wait for a CPU, held it). "
            "Full GC: the pauses of the garbage collector's full collections (– when none ran).",
            "",
        ]
    out += _idle(results)
    out += broker_floor_section(results.get("broker_floor"))
    hot = results["hotlists"]
    out += [
        "## Hotlists",
        "",
        f"{hot['entries']:,} entries generated in {hot['generate_s']} s, uploaded through the "
        f"API (`PUT /v1/hotlists/{{id}}/entries`, CSV) in {hot['upload_s']} s, applied by the "
        f"matcher {hot['applied_s']} s after the first upload started.",
        "",
    ]
    core = results.get("matcher_core")
    if core and "results" in core:
        out += ["## Matcher core alone (benchmarks.matcher_core, one core)", ""]
        out += [
            "| entries | scenario | build s | bytes/entry | reads/s | p50 µs | p99 µs |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for r in core["results"]:
            out.append(
                f"| {r['size']:,} | {r['scenario']} | {r['build_s']} | {r['bytes_per_entry']} | "
                f"{r['reads_per_s']:,} | {r['p50_us']} | {r['p99_us']} |"
            )
        out.append("")
    elif core:
        out += ["## Matcher core alone", "", f"not measured: {core.get('error')}", ""]
    out += archive_section(results.get("archive_pg"))
    out += scaleout_section(results.get("scaleout"))
    out += peers_section(results.get("peers"))
    out += ["## Processes (RSS, mean cores over the end-to-end phases)", ""]
    out += [
        "| process | peak RSS MiB | RSS after the hotlist upload MiB | RSS at the end MiB "
        "| mean cores |",
        "|---|---:|---:|---:|---:|",
    ]
    after_upload = results["hotlists"].get("rss_after_upload_mib", {})
    for name, facts in results["processes"].items():
        out.append(
            f"| {name} | {_n(facts.get('peak_rss_mib'))} | {_n(after_upload.get(name))} | "
            f"{_n(facts.get('rss_at_end_mib'))} | {_n(facts.get('cores'), 2)} |"
        )
    ver = results["verification"]
    out += ["", "## Verification (a run that loses a read or a hit is a failed run)", ""]
    for name, check in ver["checks"].items():
        out.append(f"- {name}: {'ok' if check['ok'] else '**FAILED**'} — {check['detail']}")
    out.append("")
    return "\n".join(out)


def archive_section(arch: dict[str, Any] | None) -> list[str]:
    """The read archive on PostgreSQL (benchmarks.archive_pg)."""
    if not arch:
        return []
    if "error" in arch:
        return ["## Read archive (PostgreSQL)", "", f"not measured: {arch['error']}", ""]
    write, search = arch["write"], arch["search"]
    out = ["## Read archive (PostgreSQL, benchmarks.archive_pg)", ""]
    out.append(
        f"One writer: {write['reads']:,} reads in batches of {write['batch']:,} at "
        f"{write['reads_per_s']:,} reads/s (target {arch['targets']['reads_per_s']:,}); a replay "
        f"of already archived reads at {write['replay_reads_per_s']:,} reads/s."
    )
    out += ["", "| search over | match | queries | p50 ms | p95 ms | p99 ms | sightings |"]
    out.append("|---:|---|---:|---:|---:|---:|---:|")
    for mode in ("exact", "ocr"):
        r = search[mode]
        out.append(
            f"| {search['reads']:,} reads, 30 days | {mode} | {r['queries']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['mean_sightings']} |"
        )
    out.append("")
    return out
