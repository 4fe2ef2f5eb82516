"""Demo and benchmark hotlists: their configuration, their entries as CSV, and probes. Pure.

`plan_lists(total)` shares `total` entries out like a national deployment: an exact list of
stolen vehicles, an OCR-tolerant list of uninsured ones, a small fuzzy "wanted" list with a few
partial plates (patterns) from witnesses, and local lists bound to zones and expiring in 30
days, of every mode. `build_list` makes a list's CSV upload (the header of contract section 4
plus `pattern`) and keeps a sample of its entries as `Probe`s: the traffic sends reads of those
plates, so it knows which hits the system owes. A few entries have already expired and are
never probed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from simulator.fleet import ZONES
from simulator.noise import compact
from simulator.plates import PlateGenerator

CSV_HEADER = "entry_id,plate,pattern,country,zones,valid_from,valid_until,reason,action"
DAY_MS = 86_400_000
MIN_PATTERN_PLATE = 6  # a pattern is made only from a plate this long (keeps 3+ literals)
MIN_FUZZY_PLATE = 6  # fuzzy probes drop or add a character: both sides stay >= 5
EXPIRED_SHARE = 0.01
COUNTRY_SHARE = 0.7


@dataclass(frozen=True, slots=True)
class ListPlan:
    list_id: str
    name: str
    category: str
    priority: int
    match: str  # exact | ocr | fuzzy
    covert: bool
    size: int  # entries, patterns included
    patterns: int = 0
    zones: tuple[str, ...] = ()
    expires: bool = False

    def config(self) -> dict[str, object]:
        """The body of `PUT /v1/hotlists/{list_id}`."""
        return {
            "name": self.name,
            "category": self.category,
            "priority": self.priority,
            "match": self.match,
            "covert": self.covert,
        }


@dataclass(frozen=True, slots=True)
class Probe:
    """A live entry the traffic may send a read for; `plate` is compact, `pattern` normalized."""

    list_id: str
    entry_id: str
    match: str
    plate: str
    pattern: str | None
    country: str | None
    zones: tuple[str, ...]


def plan_lists(total: int, *, prefix: str = "sim") -> list[ListPlan]:
    """Lists holding `total` entries: 35 % exact, 50 % ocr, 5 % fuzzy, 10 % local lists."""
    if total < 100:
        raise ValueError("at least 100 entries")
    local_count = 10 if total >= 10_000 else 3
    local_size = max(10, total // 10 // local_count)
    fuzzy = max(20, total * 5 // 100)
    uninsured = total // 2
    stolen = total - uninsured - fuzzy - local_size * local_count
    modes = ("exact", "ocr", "fuzzy")
    plans = [
        ListPlan(f"{prefix}-stolen", "Stolen vehicles", "stolen", 2, "exact", False, stolen),
        ListPlan(f"{prefix}-uninsured", "No insurance", "uninsured", 4, "ocr", False, uninsured),
        ListPlan(
            f"{prefix}-wanted",
            "Wanted (partial plates from witnesses)",
            "wanted",
            1,
            "fuzzy",
            False,
            fuzzy,
            patterns=min(500, max(5, fuzzy // 100)),
        ),
    ]
    for i in range(local_count):
        zone = ZONES[i % len(ZONES)]
        plans.append(
            ListPlan(
                f"{prefix}-local-{i + 1}",
                f"Local watch list {i + 1} ({zone})",
                "local",
                3,
                modes[i % len(modes)],
                False,
                local_size,
                zones=(zone,),
                expires=True,
            )
        )
    return plans


def _pattern(plates: PlateGenerator, plate: str) -> str:
    """A witness's partial plate; the `*` forms keep at least three literals of a 6+ plate."""
    return plates.pattern_from(plate)


def build_list(
    plan: ListPlan, plates: PlateGenerator, *, now_ms: int, probes: int
) -> tuple[str, list[Probe]]:
    """The list's CSV upload and up to about `probes` probes sampled evenly from its entries."""
    rng = plates.rng
    lines = [CSV_HEADER]
    sample: list[Probe] = []
    every = max(1, plan.size // max(1, probes))
    zones = ";".join(plan.zones)
    until_live = str(now_ms + 30 * DAY_MS) if plan.expires else ""
    reason = f"{plan.category} vehicle"
    action = "stop and check" if plan.match == "fuzzy" else "report to the control room"
    for n in range(plan.size):
        display, country = plates.plate()
        plate = compact(display)
        pattern = None
        if n < plan.patterns:
            while len(plate) < MIN_PATTERN_PLATE:
                display, country = plates.plate()
                plate = compact(display)
            pattern = _pattern(plates, plate)
        entry_country = country if rng.random() < COUNTRY_SHARE else None
        expired = not pattern and rng.random() < EXPIRED_SHARE
        until = str(now_ms - DAY_MS) if expired else until_live
        entry_id = f"E{n:07d}"
        lines.append(
            f"{entry_id},{'' if pattern else display},{pattern or ''},{entry_country or ''},"
            f"{zones},,{until},{reason},{action}"
        )
        if not expired and (pattern is not None or n % every == 0):
            sample.append(
                Probe(plan.list_id, entry_id, plan.match, plate, pattern, entry_country, plan.zones)
            )
    lines.append("")
    return "\n".join(lines), sample


def build_lists(
    plans: list[ListPlan], *, seed: int, now_ms: int, probes_per_list: int = 2000
) -> Iterator[tuple[ListPlan, str, list[Probe]]]:
    """Every list of `plans` in order, deterministic for `seed` (one generator for all)."""
    plates = PlateGenerator(seed)
    for plan in plans:
        csv_text, sample = build_list(plan, plates, now_ms=now_ms, probes=probes_per_list)
        yield plan, csv_text, sample
