"""Where the time goes: the benchmark stack under a steady load, each service sampled with
py-spy (`pip install py-spy`; not a project dependency), and the top functions printed.

    python -m benchmarks.profile [--rate 5000] [--batch 100] [--duration 20]
                                 [--hotlist-entries 100000] [--out-dir benchmarks/results/profiles]

Writes `<service>.txt` (py-spy's collapsed stacks, for flame graph tools such as speedscope)
and `<service>-top.txt` (the functions with the most samples, self and inclusive) per service,
plus the load generator's summary. Samples are taken only while a thread runs (no idle frames).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.bench_setup import provision
from benchmarks.phases import HitLog, PhaseRunner, PhaseSpec
from benchmarks.stack import ROOT, Stack, free_kafka_port
from simulator.fleet import FleetConfig, make_fleet

SERVICES = ("ingest", "matcher", "api")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _function(frame: str) -> str:
    """`handle_batch (matcher/batch.py:57)` -> `handle_batch (matcher/batch.py)`."""
    name, _, where = frame.rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if name else frame


def top_functions(collapsed: str, limit: int = 25) -> str:
    """Self and inclusive sample shares by function, from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for name in set(frames[1:]):  # the first frame is the thread
            inclusive[name] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "self %   function"]
    lines += [f"{100 * n / total:6.1f}   {name}" for name, n in own.most_common(limit)]
    lines += ["", "incl %   function"]
    lines += [f"{100 * n / total:6.1f}   {name}" for name, n in inclusive.most_common(limit * 2)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--hotlist-entries", type=int, default=100_000)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--rate-hz", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks/results/profiles")
    parser.add_argument("--kafka-port", type=int, default=19950)
    parser.add_argument("--native", action="store_true", help="py-spy --native (C frames, GC)")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        parser.error("py-spy is not installed: pip install py-spy")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="anpr-profile-"))
    settings = {"ANPR_RATE_LIMIT_PER_S": "1000000", "ANPR_RATE_LIMIT_BURST": "1000000"}
    stack = Stack(workdir, free_kafka_port(args.kafka_port), settings=settings)
    fleet = make_fleet(FleetConfig(cameras=args.cameras, integrator_id="bench"), 2026)
    spies: dict[str, subprocess.Popen[bytes]] = {}
    listener: subprocess.Popen[bytes] | None = None
    try:
        stack.start_kafka()
        stack.start_services()
        stack.wait_ready()
        probes = workdir / "probes.json"
        creds, _ = asyncio.run(
            provision(
                api_url=stack.url("api"), gateway_url=stack.url("ingest"),
                admin_token=stack.admin_token, fleet=fleet, entries=args.hotlist_entries,
                seed=2026, probes_file=probes, data_dir=workdir, say=say,
            )
        )  # fmt: skip
        hits = HitLog(workdir / "hits.ndjson")
        listener = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "benchmarks.listen", "--api", stack.url("api"),
             "--out", str(hits.path)],
            env=stack.env(), cwd=ROOT, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert listener.stdout is not None  # noqa: S101
        listener.stdout.readline()
        runner = PhaseRunner(
            stack, creds.token, creds.integrator_id, probes, hits, workdir, say,
            args.cameras, 2026, 0.02, extra_pids={"listener": listener.pid},
        )  # fmt: skip
        # --native (C frames: the garbage collector, orjson, ...) pauses the process per sample.
        mode = ["--native"] if args.native else ["--nonblocking"]
        common = ["--format", "raw", "--rate", str(args.rate_hz), *mode]
        runner.wrap = [
            py_spy,
            "record",
            *common,
            "--output",
            str(args.out_dir / "loadgen.txt"),
            "--",
        ]
        for name in SERVICES:
            spies[name] = subprocess.Popen(  # noqa: S603
                [py_spy, "record", "--pid", str(stack.procs[name].pid), *common,
                 "--duration", str(int(args.duration) + 2),
                 "--output", str(args.out_dir / f"{name}.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        time.sleep(0.5)
        spec = PhaseSpec("profile", args.rate, args.batch, args.duration, connections=64)
        result = runner.run(spec, drain_timeout_s=10)
        for spy in spies.values():
            spy.wait(timeout=60)
        for name in (*SERVICES, "loadgen"):
            collapsed = (args.out_dir / f"{name}.txt").read_text()
            (args.out_dir / f"{name}-top.txt").write_text(top_functions(collapsed))
            say(f"--- {name}: {args.out_dir / f'{name}-top.txt'}")
            say("\n".join(top_functions(collapsed, 12).splitlines()[:16]))
        (args.out_dir / "load.txt").write_text(repr(result) + "\n")
    finally:
        if listener is not None and listener.poll() is None:
            listener.terminate()
            listener.wait(timeout=10)
        for spy in spies.values():
            if spy.poll() is None:
                spy.terminate()
        stack.stop_services()
        stack.stop_kafka()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
