"""Checking the hits that came back against the hits that were owed, and timing them. Pure.

A read built to hit a list entry *owes* that hit: the run passes only if every owed
(read_id, list_id, entry_id) arrived exactly once. Every hit also counts for the latency from
the read's `received_at` (set by the gateway) to its arrival on the stream, and, when the
sender's due instant of the read is known, from that instant (which includes any wait before
the gateway took the request).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.stats import summarize

HitKey = tuple[str, str, str]  # (read_id, list_id, entry_id)
MAX_LISTED = 20


@dataclass(slots=True)
class HitTally:
    prefix: str = ""  # only hits of reads whose read_id starts with this count
    owed: set[HitKey] = field(default_factory=set)
    seen: Counter[HitKey] = field(default_factory=Counter)
    hit_ids: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    received_to_stream_ms: list[float] = field(default_factory=list)
    due_to_stream_ms: list[float] = field(default_factory=list)
    ingest_to_match_ms: list[float] = field(default_factory=list)
    other_hits: int = 0  # hits of reads outside the prefix (earlier runs, other clients)
    outstanding: set[HitKey] = field(default_factory=set)  # owed, not arrived yet

    def owe(self, read_id: str, list_id: str, entry_id: str) -> None:
        """Record an owed hit (it may already have arrived: the stream can beat the answer)."""
        key = (read_id, list_id, entry_id)
        self.owed.add(key)
        if self.seen[key] == 0:
            self.outstanding.add(key)

    def add(
        self,
        hit: dict[str, Any],
        arrived_ms: float,
        due_ms: Callable[[str], float | None] | None = None,
    ) -> bool:
        """Count one hit from the stream; False when it is not one of ours."""
        read = hit.get("read") or {}
        read_id = str(read.get("read_id", ""))
        if not read_id.startswith(self.prefix):
            self.other_hits += 1
            return False
        self.hit_ids[str(hit.get("hit_id"))] += 1
        key = (read_id, str(hit.get("list_id")), str(hit.get("entry_id")))
        self.seen[key] += 1
        self.outstanding.discard(key)
        match = hit.get("match") or {}
        self.kinds[f"{match.get('kind')}/{match.get('source')}"] += 1
        received = read.get("received_at")
        if isinstance(received, int | float):
            self.received_to_stream_ms.append(arrived_ms - received)
        latency = hit.get("latency_ms") or {}
        if isinstance(latency.get("ingest_to_match"), int | float):
            self.ingest_to_match_ms.append(float(latency["ingest_to_match"]))
        if due_ms is not None:
            due = due_ms(read_id)
            if due is not None:
                self.due_to_stream_ms.append(arrived_ms - due)
        return True

    @property
    def missing(self) -> list[HitKey]:
        return sorted(key for key in self.owed if self.seen[key] == 0)

    @property
    def repeated(self) -> list[HitKey]:
        return sorted(key for key, n in self.seen.items() if n > 1)

    @property
    def duplicate_hit_ids(self) -> list[str]:
        return sorted(hit_id for hit_id, n in self.hit_ids.items() if n > 1)

    @property
    def complete(self) -> bool:
        return not self.outstanding

    @property
    def ok(self) -> bool:
        return self.complete and not self.repeated and not self.duplicate_hit_ids

    def report(self) -> dict[str, Any]:
        missing, repeated, dup_ids = self.missing, self.repeated, self.duplicate_hit_ids
        return {
            "ok": not missing and not repeated and not dup_ids,
            "hits": sum(self.hit_ids.values()),
            "distinct_hit_ids": len(self.hit_ids),
            "owed": len(self.owed),
            "owed_arrived": len(self.owed) - len(missing),
            "owed_missing": len(missing),
            "missing_examples": [list(k) for k in missing[:MAX_LISTED]],
            "repeated": len(repeated),
            "repeated_examples": [list(k) for k in repeated[:MAX_LISTED]],
            "duplicate_hit_ids": len(dup_ids),
            "kinds": dict(sorted(self.kinds.items())),
            "other_hits": self.other_hits,
            "received_to_stream_ms": summarize(self.received_to_stream_ms),
            "due_to_stream_ms": summarize(self.due_to_stream_ms),
            "ingest_to_match_ms": summarize(self.ingest_to_match_ms),
        }
