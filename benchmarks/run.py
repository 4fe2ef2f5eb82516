"""`make bench`: the whole system on this machine, measured and checked.

    python -m benchmarks.run [--quick] [--duration S] [--rates 1000,5000,12000] [--keep]

Starts a local Kafka broker (own port from 19900, temp data dir) and `anpr ingest`, `anpr
matcher` and `anpr api` as separate processes, sets them up through the API (an integrator, its
cameras, 1M hotlist entries of every mode, timed), follows the hit stream in a listener process,
measures the CPU of the idle system and the broker's own latency for one record at a time
(`benchmarks.broker_floor`), then runs the load generator (`anpr simulate`, its own process) for:

1. end to end at fixed offered rates: latency from a read's `received_at` to its hit on the SSE
   stream (and from the read's due send instant), every owed hit checked;
2. a short step search for the highest rate with that p99 <= 100 ms;
3. the gateway alone: closed-loop ceilings and open-loop latency, one read per request and
   batches of 100.

Then it checks that nothing was lost (every accepted read_id once on the reads topic, every owed
hit exactly once on the stream, the API holding every streamed hit), stops everything, runs
`benchmarks.matcher_core` at a smaller size, and writes `benchmarks/results/<date>-<host>.json`
and `.md` (the Markdown is printed too; `-quick`, or `-partial-<time>` for a run with fewer
parts or other rates, sizes or settings, so it never replaces the day's full run). Exit status 1
for a failed run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.bench_setup import provision
from benchmarks.machine import machine, versions
from benchmarks.past_match_pg import in_suite as past_match_in_suite
from benchmarks.peers import peers
from benchmarks.phases import HitLog, PhaseRunner, PhaseSpec, tally_rows
from benchmarks.plan import Plan, highest_passing, next_step, passes, targets
from benchmarks.procstat import memory_kib, snapshot, usage
from benchmarks.report import markdown
from benchmarks.scaleout import scaleout
from benchmarks.stack import ROOT, Stack, free_kafka_port
from benchmarks.subrun import run_module
from benchmarks.verify import (
    Sent,
    api_hit_count,
    compare_reads,
    matcher_matched,
    read_ids_on_topic,
    topic_size,
)
from simulator.fleet import FleetConfig, make_fleet

RESULTS = ROOT / "benchmarks" / "results"
T0 = time.perf_counter()


def say(text: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f} s] {text}", file=sys.stderr, flush=True)


def matcher_core(plan: Plan) -> dict[str, Any]:
    """`benchmarks.matcher_core` at the plan's size, in its own process (one core)."""
    args = ["--sizes", str(plan.core_size), "--scenarios", "all", "--reads", str(plan.core_reads)]
    return run_module("benchmarks.matcher_core", args)


def archive_pg(plan: Plan) -> dict[str, Any]:
    """`benchmarks.archive_pg` (own PostgreSQL on ANPR_BENCH_PG_PORT, default 15433)."""
    sizes = ["20000", "100000"] if plan.quick else ["200000", "2000000"]
    return run_module(
        "benchmarks.archive_pg", ["--write-reads", sizes[0], "--search-reads", sizes[1]]
    )


def final_checks(
    stack: Stack, hits: HitLog, sent: list[Sent], phases: list[dict[str, Any]], plan: Plan
) -> dict[str, Any]:
    """Wait for the matcher and the stream to finish, then check that nothing was lost."""
    checks: dict[str, dict[str, Any]] = {}
    reads_topic = f"{stack.settings.get('ANPR_TOPIC_PREFIX', 'anpr.')}reads.v1"
    on_topic = asyncio.run(topic_size(stack.bootstrap, reads_topic))
    say(f"final drain: waiting for the matcher to match all {on_topic:,} reads on the topic")
    started = time.monotonic()
    with httpx.Client(timeout=10) as client:
        while time.monotonic() - started < plan.final_drain_s:
            matched = matcher_matched(client, stack.url("matcher")) or 0
            hits.poll()
            if matched >= on_topic and hits.quiet_for() >= 2.0:
                break
            time.sleep(0.5)
        api_count = api_hit_count(client, stack.url("api"), stack.admin_token)
        for _ in range(20):
            hits.poll()
            if api_count == hits.distinct_hit_ids():
                break
            time.sleep(0.5)
            api_count = api_hit_count(client, stack.url("api"), stack.admin_token)
    checks["matcher caught up"] = {
        "ok": matched >= on_topic,
        "detail": f"matched {matched:,.0f} of {on_topic:,} reads on the topic "
        f"({time.monotonic() - started:.1f} s after the last phase)",
    }
    ids, took = asyncio.run(read_ids_on_topic(stack.bootstrap, reads_topic))
    reads = compare_reads(sent, ids)
    accepted_total = sum(p["send"]["reads_accepted"] for p in phases)
    checks["every accepted read once on the reads topic"] = {
        "ok": reads["ok"]
        and reads["accepted"] == accepted_total
        and reads["on_topic"] == accepted_total + reads["stored_though_refused"],
        "detail": f"{reads['accepted']:,} accepted (gateway counted {accepted_total:,}), "
        f"{reads['on_topic']:,} of ours on the topic; missing {reads['missing']}, "
        f"repeated {reads['repeated']}, unexpected {reads['unexpected']}, stored although "
        f"the request was answered 503: {reads['stored_though_refused']} "
        f"(read in {took:.1f} s)",
        **reads,
    }
    owed = missing = repeated = 0
    for phase in phases:
        report = tally_rows(hits.rows, phase["summary_for_tally"]).report()
        phase["hits_final"] = {k: report[k] for k in ("owed", "owed_missing", "repeated", "hits")}
        owed += report["owed"]
        missing += report["owed_missing"]
        repeated += report["repeated"]
    checks["every owed hit exactly once on the stream"] = {
        "ok": missing == 0 and repeated == 0,
        "detail": f"{owed:,} owed, {missing:,} missing, {repeated:,} more than once",
    }
    distinct = hits.distinct_hit_ids()
    checks["no hit_id twice on the stream"] = {
        "ok": distinct == len(hits.rows),
        "detail": f"{len(hits.rows):,} events, {distinct:,} distinct hit_ids",
    }
    checks["API holds every streamed hit"] = {
        "ok": api_count == distinct,
        "detail": f"GET /v1/hits/counts total {api_count:,}, stream {distinct:,}",
    }
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}


def run_suite(plan: Plan, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"warmup": [], "e2e": [], "steps": [], "gateway": []}
    settings = {
        "ANPR_TOPIC_PARTITIONS": str(args.partitions),
        "ANPR_RATE_LIMIT_PER_S": "1000000",  # one integrator sends everything
        "ANPR_RATE_LIMIT_BURST": "1000000",
        **dict(kv.split("=", 1) for kv in args.service_env or ()),
    }
    stack = Stack(workdir, free_kafka_port(args.kafka_port), settings=settings)
    results["settings"] = {**settings, "kafka_port": str(stack.kafka_port)}
    listener: subprocess.Popen[bytes] | None = None
    fleet = make_fleet(FleetConfig(cameras=plan.cameras, integrator_id="bench"), plan.seed)
    try:
        say(f"starting Kafka on {stack.bootstrap} (data in {stack.kafka_dir})")
        stack.start_kafka()
        say(f"Kafka up in {stack.kafka_up_s} s; starting api, ingest, matcher")
        stack.start_services()
        results["services_ready_s"] = round(stack.wait_ready(), 2)
        say(f"services ready; setting up {plan.cameras} cameras, {plan.hotlist_entries:,} entries")
        probes_file = workdir / "probes.json"
        creds, results["hotlists"] = asyncio.run(
            provision(
                api_url=stack.url("api"), gateway_url=stack.url("ingest"),
                admin_token=stack.admin_token, fleet=fleet, entries=plan.hotlist_entries,
                seed=plan.seed, probes_file=probes_file, data_dir=workdir, say=say,
            )
        )  # fmt: skip
        hot = results["hotlists"]
        hot["rss_after_upload_mib"] = {
            name: round(memory_kib(pid).get("VmRSS", 0) / 1024, 1)
            for name, pid in stack.pids().items()
        }
        say(f"hotlists: generated {hot['generate_s']} s, uploaded {hot['upload_s']} s, "
            f"applied by the matcher {hot['applied_s']} s after the first upload")  # fmt: skip
        hits = HitLog(workdir / "hits.ndjson")
        listener = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "benchmarks.listen", "--api", stack.url("api"),
             "--out", str(hits.path)],
            env={**stack.env()}, cwd=ROOT, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert listener.stdout is not None  # noqa: S101
        listener.stdout.readline()  # "connected"
        runner = PhaseRunner(
            stack, creds.token, creds.integrator_id, probes_file, hits, workdir, say,
            plan.cameras, plan.seed, plan.hit_share, extra_pids={"listener": listener.pid},
        )  # fmt: skip
        phases: list[dict[str, Any]] = []

        def run(spec: PhaseSpec, drain_s: float) -> dict[str, Any]:
            result = runner.run(spec, drain_timeout_s=drain_s)
            result["summary_for_tally"] = json.loads((workdir / f"{spec.name}.json").read_text())
            result["passes"] = passes(result)
            phases.append(result)
            return result

        say(f"idle: CPU of the broker and the services with no traffic for {plan.idle_s:g} s")
        results["idle"] = measure_idle(stack, plan.idle_s)
        say(f"idle: {results['idle']['services_and_broker_cores']:.3f} cores")
        if plan.warmup_s > 0 and "e2e" in plan.parts:
            # The broker is a JVM: in its first thousand or so requests its JIT compiles the
            # produce and fetch paths, and the first phase measured it at twice the CPU and
            # three times the p99 of the same rate later. Its reads are checked like the rest.
            rate = plan.warmup_rate
            say(f"warm-up: {plan.warmup_s:g} s at {rate:g} reads/s, reported, not a target")
            spec = PhaseSpec(f"warmup-{rate:g}", rate, plan.e2e_batch, plan.warmup_s)
            results["warmup"].append(run(spec, plan.drain_s))
        say("broker floor: one record at a time through Kafka (benchmarks.broker_floor)")
        floor_args = ["--bootstrap", stack.bootstrap, "--sends", "100" if plan.quick else "300"]
        results["broker_floor"] = run_module("benchmarks.broker_floor", floor_args)
        say("end to end at fixed offered rates")
        for rate in plan.e2e_rates:
            spec = PhaseSpec(f"e2e-{rate:g}", rate, plan.e2e_batch, plan.e2e_phase_s(rate))
            results["e2e"].append(run(spec, plan.drain_s))
        say("step search: highest rate with p99 received->stream <= 100 ms")
        for i in range(plan.steps if "steps" in plan.parts else 0):
            step = next_step(results["e2e"] + results["steps"])
            if step is None:
                break
            spec = PhaseSpec(f"step{i + 1}-{step:g}", step, plan.e2e_batch, plan.step_duration_s)
            results["steps"].append(run(spec, plan.drain_s))
        results["highest_rate_p99_under_100ms"] = highest_passing(results["e2e"] + results["steps"])
        say("gateway ceilings (closed loop) and latency at 70 % of them (open loop)")
        gateway_runs = ((1, plan.gateway_connections), (100, 16))
        for batch, conns in gateway_runs if "gateway" in plan.parts else ():
            name = f"gw-batch{batch}"
            spec = PhaseSpec(f"{name}-max", 1.0, batch, plan.gateway_duration_s, True, conns)
            ceiling = run(spec, 5.0)["send"]["achieved_reads_per_s"]
            results["gateway"].append(phases[-1])
            rate = max(100.0, round(ceiling * 0.7, -2))
            spec = PhaseSpec(f"{name}-open", rate, batch, plan.gateway_duration_s, False, conns * 4)
            results["gateway"].append(run(spec, 5.0))
        if "scaleout" in plan.parts:
            say("scale-out: 2 matchers and 2 gateways against 1 of each (benchmarks.scaleout)")
            results["scaleout"] = scaleout(stack.bootstrap, plan.quick)
        if "peers" in plan.parts:
            say("peers side by side: minimal FastAPI+aiokafka gateway, plain aiokafka matcher")
            results["peers"] = peers(stack.bootstrap, plan.quick)
        sent = [Sent.of(p["summary_for_tally"]) for p in phases]
        results["verification"] = final_checks(stack, hits, sent, phases, plan)
        results["processes"] = process_facts(stack, listener, phases)
    finally:
        if listener is not None and listener.poll() is None:
            listener.terminate()
            listener.wait(timeout=10)
        say("stopping the services and Kafka")
        stack.stop_services()
        stack.stop_kafka()
    for phase in results["warmup"] + results["e2e"] + results["steps"] + results["gateway"]:
        phase.pop("summary_for_tally", None)
    return results


def measure_idle(stack: Stack, seconds: float) -> dict[str, Any]:
    """Cores used by the broker and the services while nothing is sent (after a settle)."""
    time.sleep(min(10.0, seconds / 3))  # the upload's tail: the last commits and status ticks
    pids = {name: pid for name, pid in stack.pids().items() if name != "listener"}
    before = snapshot(pids)
    time.sleep(seconds)
    used = usage(before, snapshot(pids))
    cores: dict[str, float] = used["cores"]  # type: ignore[assignment]
    return {
        "wall_s": used["wall_s"],
        "cores": cores,
        "services_and_broker_cores": round(sum(cores.values()), 3),
    }


def process_facts(
    stack: Stack, listener: subprocess.Popen[bytes], phases: list[dict[str, Any]]
) -> dict[str, dict[str, float | None]]:
    e2e = [p for p in phases if p["phase"].startswith(("e2e", "step"))]
    out: dict[str, dict[str, float | None]] = {}
    for name, pid in {**stack.pids(), "listener": listener.pid}.items():
        memory = memory_kib(pid)
        peak, now = memory.get("VmHWM"), memory.get("VmRSS")
        cores = [p["cpu"]["cores"].get(name) for p in e2e if name in p["cpu"]["cores"]]
        out[name] = {
            "peak_rss_mib": round(peak / 1024, 1) if peak else None,
            "rss_at_end_mib": round(now / 1024, 1) if now else None,
            "cores": round(sum(cores) / len(cores), 3) if cores else None,
        }
    loadgen = [p["cpu"]["loadgen_peak_rss_mib"] for p in phases]
    cores = [p["cpu"]["cores"]["loadgen"] for p in e2e if "loadgen" in p["cpu"]["cores"]]
    out["loadgen"] = {
        "peak_rss_mib": max(loadgen) if loadgen else None,
        "cores": round(sum(cores) / len(cores), 3) if cores else None,
    }
    return out


# Options that make a run something other than `make bench`: its file must not replace that.
_PARTIAL_OPTIONS = ("--parts", "--rates", "--duration", "--hotlist-entries", "--e2e-batch",
                    "--partitions", "--service-env", "--warmup")  # fmt: skip


def result_stem(started_at: datetime, host: str, quick: bool, argv: list[str]) -> str:
    """`<date>-<host>` for a full run (`make bench`); a quick or partial run gets a suffix, and a
    partial one its start time too, so a short measurement never overwrites the day's full
    results."""
    stem = f"{started_at:%Y-%m-%d}-{host}"
    if quick:
        return f"{stem}-quick"
    if any(arg.split("=", 1)[0] in _PARTIAL_OPTIONS for arg in argv):
        return f"{stem}-partial-{started_at:%H%M%S}"
    return stem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~2-minute smoke run")
    parser.add_argument("--duration", type=float, help="seconds per end-to-end rate (20)")
    parser.add_argument("--rates", help="end-to-end offered rates (1000,5000,12000)")
    parser.add_argument("--hotlist-entries", type=int, help="(1,000,000)")
    parser.add_argument("--partitions", type=int, default=6, help="of the reads/hits topics")
    parser.add_argument("--kafka-port", type=int, default=19900, help="first port tried")
    parser.add_argument("--e2e-batch", type=int, help="reads per request end to end (100)")
    parser.add_argument(
        "--warmup", type=float, help="seconds of load before the measured phases (30; 0: none)"
    )
    parser.add_argument("--parts", help="of e2e,steps,gateway,core,scaleout,peers (all)")
    parser.add_argument(
        "--service-env",
        action="append",
        metavar="ANPR_X=V",
        help="a setting for the services (repeatable), e.g. ANPR_KAFKA_LINGER_MS=2",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    plan = Plan.make(args)
    started_at = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="anpr-bench-"))
    say(f"benchmark ({'quick' if plan.quick else 'full'}) in {workdir}")
    results: dict[str, Any] = {
        "started_at": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])]),
        "plan": asdict(plan),
        "machine": machine(),
        "versions": versions(),
    }
    try:
        results.update(run_suite(plan, args, workdir))
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if "core" in plan.parts:
        say(f"matcher core alone: {plan.core_size:,} entries")
        results["matcher_core"] = matcher_core(plan)
        say("read archive on PostgreSQL: write rate and search latency")
        results["archive_pg"] = archive_pg(plan)
        say("past-read matching on PostgreSQL: 10k entries against 24 h of reads")
        results["past_match_pg"] = past_match_in_suite(quick=plan.quick)
    load = [
        p["cpu"]["others_cores"] for p in results["e2e"] + results["steps"] + results["gateway"]
    ]
    results["others_cores_mean"] = round(sum(load) / len(load), 3) if load else 0.0
    results["targets"] = targets(results)
    results["elapsed_s"] = round(time.perf_counter() - T0, 1)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = result_stem(started_at, socket.gethostname(), plan.quick, argv or sys.argv[1:])
    (args.out_dir / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (args.out_dir / f"{stem}.md").write_text(text)
    print(text)
    say(f"wrote {args.out_dir / stem}.json and .md")
    return 0 if results["verification"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
