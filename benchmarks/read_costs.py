"""What the gateway's CPU steps cost per read, against the minimal peer's, on one batch body.

    python -m benchmarks.read_costs [--batch 100] [--repeat 2000] [--rounds 3] [--reads simple|rich]

The body `benchmarks.http_stack` posts (`--batch` reads of one camera), put through each step
of a `/v1/reads` request that is pure CPU, `repeat` times per round: the shape decode
(`anpr.readshape.decode_reads`), validation (`anpr.reads.validate_read`), the record encode
(`anpr.codecs.READS`), and for comparison what the minimal peer (`benchmarks.peer_gateway`)
does to the same body (orjson parse, one dump per read). Prints microseconds per read. No
broker, no HTTP: the share of a whole request is this over its CPU per read in
`benchmarks.http_stack`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import orjson

from anpr.clock import now_ms
from anpr.codecs import READS
from anpr.reads import ReadLimits, ReadRecord, validate_read
from anpr.readshape import ReadShape, decode_reads
from benchmarks.http_stack import body

RETENTION_MS = 30 * 86_400_000


def per_read(step: Callable[[], object], repeat: int, batch: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - started) / repeat / batch * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reads", choices=("simple", "rich"), default="simple")
    args = parser.parse_args()
    sent = body(1, args.batch, "costs", rich=args.reads == "rich")
    shaped = decode_reads(sent)
    if shaped is None:
        raise SystemExit("the benchmark's body does not fit the read shape")
    limits = ReadLimits(now_ms=now_ms(), retention_ms=RETENTION_MS)

    def validate(reads: list[ReadShape] = shaped) -> list[ReadRecord]:
        checked = [
            validate_read(read, integrator_id="int-1", received_at_ms=limits.now_ms, limits=limits)
            for read in reads
        ]
        records = [c for c in checked if not isinstance(c, list)]
        if len(records) != len(reads):
            raise SystemExit("the benchmark's reads do not validate")
        return records

    records = validate()
    steps: dict[str, Callable[[], object]] = {
        "gateway: shape decode": lambda: decode_reads(sent),
        "gateway: validation": validate,
        "gateway: record encode": lambda: [READS.encode(record) for record in records],
        "peer: orjson parse and dump": lambda: [orjson.dumps(r) for r in orjson.loads(sent)],
    }
    for round_ in range(1, args.rounds + 1):
        for name, step in steps.items():
            cost = per_read(step, args.repeat, args.batch)
            print(f"round {round_}: {name}: {cost:.2f} µs per read", flush=True)


if __name__ == "__main__":
    main()
