"""Benchmark of the matching core: index build time, memory per entry, reads/s and latency.

    python -m benchmarks.matcher_core [--sizes 100000,1000000,10000000] [--reads N]
                                      [--scenarios exact_ocr,all] [--json out.json]

Each (size, scenario) runs in a fresh worker process so its memory is measured alone (RSS growth
while the index is built, after a full collection). Scenarios:

- `exact_ocr`: a national exact list (40 %), an OCR list (55 %), ten small local lists with zones
  and an expiry (5 %);
- `all`: the same kinds plus a fuzzy "wanted" list (0.5 %, at most 20,000) and local lists of
  every mode (5 %, a third of them fuzzy, at most 5,000 each), and 1,000 pattern entries. Fuzzy
  lists are capped because their size, unlike a national list's, does not follow the total: a
  fuzzy list of 200,000 plates would already give a fuzzy hit on about 5 % of all reads;
- `fuzzy_heavy`: `all` without the caps (2 % of the entries fuzzy at every size);
- `fuzzy`: one fuzzy list only, to price a fuzzy entry.

The last list of a scenario takes whatever the others leave, so every size is exact.

Reads: 1 % are listed plates, 0.5 % OCR misreads of listed plates, 0.5 % one-edit misreads, the
rest other plates; 40 % carry one to three OCR alternatives as candidates. Throughput is the
median of three passes on one core, by the wall clock and per CPU second (the same on an idle
machine; the second is the fairer figure when other work shares the cores, and the load average
is reported); latency is per `match` call. Progress goes to stderr.

Memory is the growth of the process's RSS while the index is built (after a full collection):
what the OS sees, allocator slack included. `--tracemalloc` also counts the bytes of live Python
objects (slow: the build takes several times longer).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from anpr.hotlists import Entry, ListConfig, MatchMode
from anpr.ids import EntryId, ListId
from matcher.index import HotlistIndex
from simulator.plates import PlateGenerator

T0 = 1_767_225_600_000
CHUNK = 10_000
CAMERA_ZONES = frozenset({"zone-1", "zone-3"})
TARGETS = {("exact_ocr", 1_000_000): 200_000, ("all", 10_000_000): 100_000}
FUZZY_SCENARIOS = ("fuzzy",)
MAX_BYTES_PER_ENTRY = 300


@dataclass(frozen=True)
class ListSpec:
    list_id: str
    match: MatchMode
    share: float
    patterns: int = 0
    local: bool = False
    cap: int | None = None  # at most this many entries, whatever the size

    def count(self, size: int) -> int:
        count = round(size * self.share)
        return count if self.cap is None else min(count, self.cap)


def _locals(
    modes: tuple[MatchMode, ...], share: float, patterns: int, fuzzy_cap: int | None = None
) -> list[ListSpec]:
    return [
        ListSpec(
            f"local-{i}",
            modes[i % len(modes)],
            share,
            patterns=patterns,
            local=True,
            cap=fuzzy_cap if modes[i % len(modes)] is MatchMode.FUZZY else None,
        )
        for i in range(10)
    ]


SCENARIOS: dict[str, list[ListSpec]] = {
    "exact_ocr": [
        ListSpec("stolen", MatchMode.EXACT, 0.40),
        ListSpec("uninsured", MatchMode.OCR, 0.55),
        *_locals((MatchMode.EXACT, MatchMode.OCR), 0.005, 0),
    ],
    "all": [
        ListSpec("stolen", MatchMode.EXACT, 0.40),
        ListSpec("wanted", MatchMode.FUZZY, 0.005, patterns=500, cap=20_000),
        *_locals((MatchMode.EXACT, MatchMode.OCR, MatchMode.FUZZY), 0.005, 50, 5_000),
        ListSpec("uninsured", MatchMode.OCR, 0.545),
    ],
    "fuzzy_heavy": [
        ListSpec("stolen", MatchMode.EXACT, 0.40),
        ListSpec("wanted", MatchMode.FUZZY, 0.005, patterns=500),
        *_locals((MatchMode.EXACT, MatchMode.OCR, MatchMode.FUZZY), 0.005, 50),
        ListSpec("uninsured", MatchMode.OCR, 0.545),
    ],
    "fuzzy": [ListSpec("wanted", MatchMode.FUZZY, 1.0)],
}


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


class Progress:
    """Prints `label: done/total (pct) elapsed, ETA` to stderr at most every two seconds."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.start = self.last = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= 2 or self.done >= self.total:
            self.last = now
            elapsed = now - self.start
            eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
            print(
                f"  {self.label}: {self.done:,}/{self.total:,} "
                f"({100 * self.done / self.total:.0f}%) {elapsed:.1f} s, ETA {eta:.0f} s",
                file=sys.stderr,
                flush=True,
            )


def make_entries(
    spec: ListSpec, count: int, plates: PlateGenerator, sample: list[str], keep: float
) -> Iterator[list[Entry]]:
    """Entries of a list in chunks; every plate is kept in `sample` with probability `keep`."""
    rng = plates.rng
    reason = f"{spec.list_id} vehicle"
    action = "stop and check" if spec.match is MatchMode.FUZZY else "report"
    zones = (f"zone-{spec.list_id[-1]}",) if spec.local else ()
    until = T0 + 30 * 86_400_000 if spec.local else None
    chunk: list[Entry] = []
    for n in range(count):
        display, country = plates.plate()
        plate = display.replace("-", "").replace(" ", "")
        if rng.random() < keep:
            sample.append(plate)
        pattern = plates.pattern_from(plate) if n < spec.patterns else None
        chunk.append(
            Entry(
                list_id=ListId(spec.list_id),
                entry_id=EntryId(f"E{n:08d}"),
                version=1,
                plate=None if pattern else plate,
                pattern=pattern,
                country=country,
                zones=zones,
                valid_until_ms=until,
                reason=reason,
                action=action,
            )
        )
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build(
    size: int,
    scenario: str,
    seed: int,
    *,
    trace: bool = False,
    index: HotlistIndex | None = None,
) -> tuple[HotlistIndex, list[str], dict[str, Any]]:
    """The scenario's lists of `size` entries in all, in a new index or added to `index`."""
    specs = SCENARIOS[scenario]
    plates = PlateGenerator(seed)
    sample: list[str] = []
    keep = max(1000, min(20_000, size // 50)) / size
    index = HotlistIndex() if index is None else index
    progress = Progress(f"building {size:,} entries ({scenario})", size)
    gc.collect()
    rss_before = rss_bytes()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    index_s = 0.0
    remaining = size
    for i, spec in enumerate(specs):
        count = remaining if i == len(specs) - 1 else spec.count(size)
        remaining -= count
        config = ListConfig(
            list_id=ListId(spec.list_id),
            name=spec.list_id,
            category=spec.list_id,
            priority=2 if spec.match is MatchMode.FUZZY else 3,
            match=spec.match,
            covert=spec.list_id == "wanted",
            version=1,
            epoch=1,
            updated_at_ms=T0,
        )
        builder = index.begin_replace(config)
        for chunk in make_entries(spec, count, plates, sample, keep):
            t = time.perf_counter()
            builder.add(chunk)
            index_s += time.perf_counter() - t
            progress.update(len(chunk))
        t = time.perf_counter()
        index.install(builder)
        index_s += time.perf_counter() - t
    build_s = time.perf_counter() - started
    t = time.perf_counter()
    gc.collect()
    gc_full_ms = (time.perf_counter() - t) * 1000
    grown = rss_bytes() - rss_before
    traced = None
    if trace:
        sample_bytes = sys.getsizeof(sample) + sum(sys.getsizeof(p) for p in sample)
        traced = round((tracemalloc.get_traced_memory()[0] - sample_bytes) / size, 1)
        tracemalloc.stop()
    facts = {
        "entries": len(index),
        "lists": len(specs),
        "fuzzy_entries": sum(
            index.entry_count(s.list_id) for s in specs if s.match is MatchMode.FUZZY
        ),
        "patterns": sum(s.patterns for s in specs),
        "build_s": round(build_s, 2),
        "index_s": round(index_s, 2),
        "rss_mb": round(grown / 2**20, 1),
        "bytes_per_entry": round(grown / size, 1),
        "traced_bytes_per_entry": traced,
        "gc_full_ms": round(gc_full_ms, 1),
    }
    return index, sample, facts


def make_reads(count: int, sample: list[str], seed: int) -> list[dict[str, Any]]:
    plates = PlateGenerator(seed + 1)
    rng = plates.rng
    reads: list[dict[str, Any]] = []
    for n in range(count):
        display, country = plates.plate()
        plate = plates.normalized(display)
        roll = rng.random()
        if roll < 0.01:
            plate = rng.choice(sample)
        elif roll < 0.015:
            plate = plates.misread_ocr(rng.choice(sample), rng.randint(1, 2))
        elif roll < 0.02:
            plate = plates.misread_edit(rng.choice(sample))
        read: dict[str, Any] = {
            "v": 1,
            "read_id": f"r-{n}",
            "camera_id": "cam-1",
            "integrator_id": "int-1",
            "captured_at": "2026-01-01T00:00:00Z",
            "captured_at_ms": T0,
            "received_at": T0 + 200,
            "plate": display,
            "plate_norm": plate,
        }
        if rng.random() < 0.7:
            read["country"] = country
        if rng.random() < 0.4:
            alternatives = {plates.misread_ocr(plate) for _ in range(rng.randint(1, 3))}
            read["candidates"] = [
                {"plate": alt, "plate_norm": alt} for alt in alternatives if alt != plate
            ]
        reads.append(read)
    return reads


def measure(index: HotlistIndex, reads: list[dict[str, Any]]) -> dict[str, Any]:
    match = index.match
    zones = CAMERA_ZONES
    for read in reads[:10_000]:
        match(read, zones)  # type: ignore[arg-type]
    load_before = os.getloadavg()[0]
    rates, cpu_rates = [], []
    for _ in range(3):
        started, cpu_started = time.perf_counter(), time.process_time()
        for read in reads:
            match(read, zones)  # type: ignore[arg-type]
        rates.append(len(reads) / (time.perf_counter() - started))
        cpu_rates.append(len(reads) / (time.process_time() - cpu_started))
    timings = []
    kinds: Counter[str] = Counter()
    clock = time.perf_counter_ns
    for read in reads:
        t = clock()
        found = match(read, zones)  # type: ignore[arg-type]
        timings.append(clock() - t)
        kinds.update(f"{m.kind}/{m.source}" for m in found)
    timings.sort()
    return {
        "reads": len(reads),
        "reads_per_s": round(statistics.median(rates)),
        "reads_per_cpu_s": round(statistics.median(cpu_rates)),
        "load_average": round(max(load_before, os.getloadavg()[0]), 2),
        "p50_us": round(timings[len(timings) // 2] / 1000, 2),
        "p99_us": round(timings[len(timings) * 99 // 100] / 1000, 2),
        "max_us": round(timings[-1] / 1000, 1),
        "hits_per_1000_reads": round(1000 * sum(kinds.values()) / len(reads), 2),
        "hit_kinds": dict(sorted(kinds.items())),
    }


def worker(size: int, scenario: str, reads: int, seed: int, trace: bool) -> dict[str, Any]:
    index, sample, facts = build(size, scenario, seed, trace=trace)
    print(f"  generating {reads:,} reads", file=sys.stderr, flush=True)
    read_list = make_reads(reads, sample, seed)
    print("  matching", file=sys.stderr, flush=True)
    return {"size": size, "scenario": scenario, **facts, **measure(index, read_list)}


def verdict(result: dict[str, Any]) -> str:
    notes = []
    target = TARGETS.get((result["scenario"], result["size"]))
    if target is not None:
        ok = max(result["reads_per_s"], result["reads_per_cpu_s"]) >= target
        notes.append(f"{'ok' if ok else 'MISSED'} >= {target:,}/s")
    if result["size"] >= 1_000_000 and result["scenario"] not in FUZZY_SCENARIOS:
        # With --tracemalloc the RSS also holds tracemalloc's own tables: judge the traced bytes.
        size = result["traced_bytes_per_entry"] or result["bytes_per_entry"]
        ok = size <= MAX_BYTES_PER_ENTRY
        notes.append(f"{'ok' if ok else 'MISSED'} <= {MAX_BYTES_PER_ENTRY} B")
    return ", ".join(notes)


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        f"{'entries':>11} {'scenario':<11} {'build s':>8} {'index s':>8} {'B/entry':>8} "
        f"{'traced':>7} {'gc ms':>7} {'reads/s':>9} {'reads/cpu-s':>11} {'p50 us':>7} "
        f"{'p99 us':>7} {'hits/1k':>7} {'load':>5}  targets"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        traced = r["traced_bytes_per_entry"]
        print(
            f"{r['size']:>11,} {r['scenario']:<11} {r['build_s']:>8.1f} {r['index_s']:>8.1f} "
            f"{r['bytes_per_entry']:>8.0f} {'-' if traced is None else f'{traced:.0f}':>7} "
            f"{r['gc_full_ms']:>7.0f} {r['reads_per_s']:>9,} {r['reads_per_cpu_s']:>11,} "
            f"{r['p50_us']:>7.2f} {r['p99_us']:>7.2f} {r['hits_per_1000_reads']:>7.1f} "
            f"{r['load_average']:>5.1f}  {verdict(r)}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--scenarios", default="exact_ocr,all")
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--tracemalloc", action="store_true", help="also count live bytes (slow)")
    parser.add_argument("--worker", nargs=2, metavar=("SIZE", "SCENARIO"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        size, scenario = int(args.worker[0]), args.worker[1]
        print(json.dumps(worker(size, scenario, args.reads, args.seed, args.tracemalloc)))
        return 0
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        for scenario in args.scenarios.split(","):
            if scenario not in SCENARIOS:
                parser.error(f"unknown scenario {scenario!r}")
            print(f"{size:,} entries, {scenario}:", file=sys.stderr, flush=True)
            command = [sys.executable, "-m", "benchmarks.matcher_core", "--worker", str(size)]
            command += [scenario, "--reads", str(args.reads), "--seed", str(args.seed)]
            command += ["--tracemalloc"] if args.tracemalloc else []
            done = subprocess.run(command, stdout=subprocess.PIPE, check=True, text=True)  # noqa: S603
            results.append(json.loads(done.stdout))
    print_table(results)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"python": sys.version.split()[0], "results": results}, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
