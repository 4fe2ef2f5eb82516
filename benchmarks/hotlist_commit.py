"""How long a matcher holds its event loop while a large list replacement goes live.

    python -m benchmarks.hotlist_commit [--entries 1000000] [--json out.json]

The entries of a replacement are staged record by record (each short); its commit record then
moves all of them: the book folds it, the index builds the new list beside the old one, and the
entries it carried are dropped. The matcher does that in steps (`MatcherState.apply_in_steps`,
`HotlistBook.changes_in_steps`) and matches reads between two. Measured here in one process
with the matcher's own state and its garbage-collector policy (what is staged is frozen every
`BULK_FREEZE_RECORDS` records, as the hotlists follower does): the time between two hand-backs,
the longest of which is how long a read can wait behind the commit.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from typing import Any

from anpr.gcpolicy import BULK_FREEZE_RECORDS, freeze_arrivals
from anpr.hotlists import EntrySpec, ListConfig, MatchMode
from anpr.hotlists.wire import encode_entry, encode_list_config, entry_key, list_key
from anpr.ids import EntryId, ListId
from matcher.state import MatcherState


def measure(entries: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    state = MatcherState()
    started = time.perf_counter()
    for i in range(entries):
        plate = "".join(rng.choice(letters) for _ in range(2)) + f"{i:07d}"
        spec = EntrySpec(entry_id=EntryId(f"e{i}"), plate=plate)
        state.hotlist_changes(
            entry_key("big", f"e{i}").encode(), encode_entry(spec, list_id="big", version=1)
        )
        if i % BULK_FREEZE_RECORDS == 0:
            freeze_arrivals()
    staged_s = time.perf_counter() - started
    config = ListConfig(
        list_id=ListId("big"),
        name="big",
        category="stolen",
        priority=1,
        match=MatchMode.EXACT,
        covert=False,
        version=1,
        epoch=1,
        updated_at_ms=0,
    )
    holds: list[float] = []
    clock = time.perf_counter
    started = last = clock()
    steps = state.hotlist_changes_in_steps(list_key("big").encode(), encode_list_config(config))
    while True:
        try:
            next(steps)
        except StopIteration as done:
            changes = done.value
            break
        now = clock()
        holds.append(now - last)
        last = now
    folding = len(holds)
    for change in changes:
        for _ in state.apply_in_steps(change):
            now = clock()
            holds.append(now - last)
            last = now
    now = clock()
    holds.append(now - last)
    total_s = now - started
    if state.index.entry_count("big") != entries:
        raise RuntimeError(f"{state.index.entry_count('big')} entries live, not {entries}")
    ms = sorted(h * 1000 for h in holds)
    return {
        "entries": entries,
        "staged_s": round(staged_s, 1),
        "commit_s": round(total_s, 2),
        "steps": len(holds),
        "folding_steps": folding,
        "hold_ms": {
            "median": round(ms[len(ms) // 2], 1),
            "p99": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
            "max": round(ms[-1], 1),
        },
        "over_20ms": sum(1 for h in ms if h > 20),
        "python": sys.version.split()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--json", help="write the result to this file")
    args = parser.parse_args(argv)
    gc.collect()
    result = measure(args.entries)
    result["command"] = f"python -m benchmarks.hotlist_commit --entries {args.entries}"
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
