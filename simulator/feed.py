"""The request bodies of a simulation and the bookkeeping of what the gateway accepted.

Request `k` carries reads `k*batch ... k*batch+batch-1`; read `s` is a copy of planned read
`s mod len(pool)` (planned ahead of the run, so the sending loop only stamps and encodes) with
the read_id `<prefix><s>`. From the answers the feed knows which reads were accepted, and so
which hits are owed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from simulator.fleet import Camera
from simulator.tally import HitTally
from simulator.traffic import PlannedRead, TimeText


@dataclass(slots=True)
class Feed:
    fleet: list[Camera]
    pool: list[PlannedRead]
    prefix: str
    batch: int
    tally: HitTally | None = None
    sent_requests: int = 0
    failed_requests: list[int] = field(default_factory=list)
    rejected_reads: list[int] = field(default_factory=list)  # s of reads rejected in a 202
    due_ms: dict[int, float] = field(default_factory=dict)  # k -> due wall-clock ms
    _encoded: list[tuple[bytes, int, Any]] = field(default_factory=list, repr=False)
    _times: TimeText = field(default_factory=TimeText, repr=False)

    def __post_init__(self) -> None:
        if not self.pool:
            raise ValueError("the pool of planned reads is empty")
        # Each planned read encoded once: `{"read_id":..,"captured_at":..,` + the rest.
        for planned in self.pool:
            camera = self.fleet[planned.camera]
            rest = orjson.dumps(planned.body)[1:]
            self._encoded.append((rest, planned.capture_delay_ms - camera.skew_ms, camera))

    def read_id(self, s: int) -> str:
        return f"{self.prefix}{s}"

    def seq_of(self, read_id: str) -> int | None:
        if not read_id.startswith(self.prefix):
            return None
        tail = read_id[len(self.prefix) :]
        return int(tail) if tail.isdigit() else None

    def body(self, k: int, due_ms: float) -> bytes:
        """Request `k`'s body, its reads captured just before `due_ms` (see `traffic.stamp`)."""
        encoded, n, text = self._encoded, len(self._encoded), self._times.json
        sent = int(due_ms)
        prefix = self.prefix.encode()
        reads = []
        for s in range(k * self.batch, (k + 1) * self.batch):
            rest, back_ms, camera = encoded[s % n]
            captured = text(sent - back_ms, camera.time_format)
            reads.append(b'{"read_id":"%s%d","captured_at":%s,%s' % (prefix, s, captured, rest))
        self.sent_requests = max(self.sent_requests, k + 1)
        self.due_ms[k] = due_ms
        return reads[0] if self.batch == 1 else b"[" + b",".join(reads) + b"]"

    def answered(self, k: int, status: int, body: dict[str, object] | None) -> None:
        """Record the outcome of request `k`; owed hits are those of accepted reads only."""
        first = k * self.batch
        if status != 202:
            self.failed_requests.append(k)
            return
        rejected: set[int] = set()
        for item in body.get("rejected", ()) if body else ():  # type: ignore[attr-defined]
            if isinstance(item, dict) and isinstance(item.get("index"), int):
                rejected.add(first + item["index"])
        self.rejected_reads.extend(sorted(rejected))
        if self.tally is None:
            return
        n = len(self.pool)
        for s in range(first, first + self.batch):
            if s in rejected:
                continue
            for list_id, entry_id in self.pool[s % n].expected:
                self.tally.owe(self.read_id(s), list_id, entry_id)

    def due_of(self, read_id: str) -> float | None:
        """The due wall-clock instant (epoch ms) of the request that carried `read_id`."""
        s = self.seq_of(read_id)
        return None if s is None else self.due_ms.get(s // self.batch)

    def owed_list(self) -> list[tuple[str, str, str]]:
        return sorted(self.tally.owed) if self.tally is not None else []
