"""One load phase of the benchmark: `anpr simulate` in its own process against the running
stack, the CPU each process used meanwhile, then the hits of its reads from the listener's log,
checked against what the phase owed and timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from benchmarks import hops
from benchmarks.procstat import snapshot, usage
from benchmarks.stack import ROOT, Stack
from simulator.tally import HitTally

Say = Callable[[str], None]
QUIET_S = 1.0


@dataclass(slots=True)
class HitLog:
    """The listener's NDJSON file, read incrementally; rows grouped by read_id prefix."""

    path: Path
    offset: int = 0
    rows: list[list[Any]] = field(default_factory=list)
    last_growth: float = field(default_factory=time.monotonic)

    def poll(self) -> int:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return 0
        end = data.rfind(b"\n") + 1
        if end == 0:
            return 0
        self.offset += end
        new = [orjson.loads(line) for line in data[:end].splitlines() if line]
        self.rows.extend(new)
        if new:
            self.last_growth = time.monotonic()
        return len(new)

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_growth

    def distinct_hit_ids(self) -> int:
        return len({row[1] for row in self.rows})


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    name: str
    rate: float  # offered reads/s (ignored in a closed loop)
    batch: int
    duration_s: float
    closed_loop: bool = False
    connections: int = 64


def tally_rows(rows: list[list[Any]], summary: dict[str, Any]) -> HitTally:
    """The phase's hits (by read_id prefix) against the hits its accepted reads owe."""
    prefix = summary["read_id_prefix"]
    tally = HitTally(prefix=prefix)
    for read_id, list_id, entry_id in summary["owed"]:
        tally.owe(read_id, list_id, entry_id)
    first, interval, batch = summary["first_due_ms"], summary["interval_ms"], summary["batch"]

    def due(read_id: str) -> float | None:
        tail = read_id[len(prefix) :]
        if first is None or interval is None or not tail.isdigit():
            return None
        return float(first + (int(tail) // batch) * interval)

    for arrived, hit_id, read_id, list_id, entry_id, received, kind, source, i2m in rows:
        if not str(read_id).startswith(prefix):
            continue
        hit = {
            "hit_id": hit_id,
            "list_id": list_id,
            "entry_id": entry_id,
            "read": {"read_id": read_id, "received_at": received},
            "match": {"kind": kind, "source": source},
            "latency_ms": {"ingest_to_match": i2m},
        }
        tally.add(hit, arrived, due)
    return tally


@dataclass(slots=True)
class PhaseRunner:
    stack: Stack
    token: str
    integrator_id: str
    probes_file: Path
    hits: HitLog
    workdir: Path
    say: Say
    cameras: int
    seed: int
    hit_share: float
    extra_pids: dict[str, int] = field(default_factory=dict)
    wrap: list[str] = field(default_factory=list)  # e.g. a profiler in front of the loadgen

    def command(self, spec: PhaseSpec, out: Path) -> list[str]:
        cmd = [
            sys.executable, "-m", "anpr", "simulate", "--no-setup", "--no-watch",
            f"--token={self.token}", "--integrator", self.integrator_id,
            "--gateway", self.stack.url("ingest"), "--api", self.stack.url("api"),
            "--cameras", str(self.cameras), "--seed", str(self.seed),
            "--hit-share", str(self.hit_share), "--probes-file", str(self.probes_file),
            "--rate", str(spec.rate), "--batch", str(spec.batch),
            "--duration", str(spec.duration_s), "--connections", str(spec.connections),
            "--client", "raw",
            "--read-id-prefix", f"{spec.name}-", "--json", str(out),
        ]  # fmt: skip
        if spec.closed_loop:
            cmd.append("--closed-loop")
        return [*self.wrap, *cmd]

    def run(self, spec: PhaseSpec, *, drain_timeout_s: float) -> dict[str, Any]:
        out = self.workdir / f"{spec.name}.json"
        pids = {**self.stack.pids(), **self.extra_pids}
        mode = "closed loop" if spec.closed_loop else f"{spec.rate:,.0f} reads/s offered"
        self.say(f"  {spec.name}: {mode}, {spec.batch}/request, {spec.duration_s:g} s")
        # Scraped before the load starts: rendering /metrics holds each service's event loop,
        # and done at the first send it ran alongside the phase's first batches.
        hops_before = hops.scrape(self._metrics_urls())
        proc = subprocess.Popen(  # noqa: S603
            self.command(spec, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        sending = threading.Event()
        relay = threading.Thread(target=self._relay, args=(proc, sending), daemon=True)
        relay.start()
        # The load generator plans its reads first; measure from the moment it sends.
        sending.wait(timeout=300)
        before = snapshot({**pids, "loadgen": proc.pid})
        _, status, rusage = os.wait4(proc.pid, 0)
        after = snapshot(pids)
        relay.join(timeout=5)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if not out.exists():
            raise RuntimeError(f"the load generator of {spec.name} failed ({proc.returncode})")
        summary = orjson.loads(out.read_bytes())
        send = summary["send"]
        cpu = usage(before, after)
        loadgen_s = rusage.ru_utime + rusage.ru_stime - before.cpu.get("loadgen", 0.0)
        loadgen = round(loadgen_s / cpu["wall_s"], 3)  # type: ignore[operator]
        cpu["cores"]["loadgen"] = loadgen  # type: ignore[index]
        cpu["ours_cores"] = round(cpu["ours_cores"] + loadgen, 3)  # type: ignore[operator]
        others = cpu["machine_busy_cores"] - cpu["ours_cores"]  # type: ignore[operator]
        cpu["others_cores"] = round(max(0.0, others), 3)
        cpu["loadgen_peak_rss_mib"] = round(rusage.ru_maxrss / 1024, 1)
        drained = self.drain(summary, drain_timeout_s)
        by_hop = hops.between(hops_before, hops.scrape(self._metrics_urls()))
        tally = tally_rows(self.hits.rows, summary)
        result = {
            "phase": spec.name,
            "offered_reads_per_s": None if spec.closed_loop else spec.rate,
            "closed_loop": spec.closed_loop,
            "batch": spec.batch,
            "duration_s": spec.duration_s,
            "connections": spec.connections,
            "send": send,
            "hits": tally.report(),
            "drain_s": drained,
            "cpu": cpu,
            "hops": by_hop,
        }
        lat, e2e = send["latency_ms"], result["hits"]["received_to_stream_ms"]
        self.say(
            f"    achieved {send['achieved_reads_per_s']:,.0f} reads/s, statuses "
            f"{send['statuses']}, late {send['late_sends']:,}; request p50/p99/p99.9 "
            f"{lat['p50']}/{lat['p99']}/{lat['p99_9']} ms; hits {result['hits']['hits']:,} "
            f"(owed {result['hits']['owed']:,}, missing {result['hits']['owed_missing']:,}); "
            f"received->stream p50/p99 {e2e['p50']}/{e2e['p99']} ms; "
            f"cores {cpu['cores']}, others {cpu['others_cores']}; waited for a CPU (ms/s) "
            f"{cpu['runqueue_wait_ms_per_s']}"
        )
        if by_hop:
            self.say(
                "    hops (mean / p99<= ms): "
                + "; ".join(f"{h} {v['mean_ms']} / {v['p99_ms_le']}" for h, v in by_hop.items())
            )
        return result

    def _metrics_urls(self) -> dict[str, str]:
        return {name: self.stack.url(name) for name in ("ingest", "matcher", "api")}

    def _relay(self, proc: subprocess.Popen[bytes], sending: threading.Event) -> None:
        """Pass the load generator's progress on; note when it starts sending."""
        assert proc.stderr is not None  # noqa: S101
        for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line.startswith("sending"):
                sending.set()
            elif line:
                self.say(f"    {line}")
        sending.set()

    def drain(self, summary: dict[str, Any], timeout_s: float) -> float:
        """Wait until the phase's owed hits arrived and the stream went quiet (or time out)."""
        started = time.monotonic()
        owed = {(r, lst, e) for r, lst, e in summary["owed"]}
        scanned = 0
        while time.monotonic() - started < timeout_s:
            self.hits.poll()
            rows = self.hits.rows
            for row in rows[scanned:]:
                owed.discard((row[2], row[3], row[4]))
            scanned = len(rows)
            if not owed and self.hits.quiet_for() >= QUIET_S:
                break
            time.sleep(0.2)
        return round(time.monotonic() - started, 2)
