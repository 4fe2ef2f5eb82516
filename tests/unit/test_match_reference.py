"""The index agrees with a slow, literal reading of contract section 6 on random hotlists.

`reference_hits` loops over every entry of every list and applies the rules as written. Cases
come from `random_case`, which draws plates from a small alphabet heavy in OCR-confusable
characters and derives reads from entry plates by OCR swaps, edits and candidates, so every kind
of match (and every reason to reject one) occurs often; `test_sweep_covers_every_kind` checks
that they do.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from anpr.hotlists import Entry, ListConfig, MatchMode
from anpr.normalize import OCR_CLASSES, skeleton
from anpr.reads import ReadRecord
from matcher.index import HotlistIndex
from tests.support.factories import T0, make_config, make_entry, make_read

# Thai and Arabic letters (kept by normalization) are three and two bytes in UTF-8.
ALPHABET = "0ODQ1I8BAX5กع"
COUNTRIES = (None, None, None, "BE", "NL")
ZONES = ("n", "s", "e")
Hit = tuple[str, str, str, str, str, str, int]


# --- the reference ----------------------------------------------------------------------------


def levenshtein(a: str, b: str) -> int:
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
    return table[len(a)][len(b)]


def pattern_matches(pattern: str, plate: str) -> bool:
    if not pattern:
        return not plate
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(pattern_matches(rest, plate[i:]) for i in range(len(plate) + 1))
    return bool(plate) and head in ("?", plate[0]) and pattern_matches(rest, plate[1:])


def applicable(entry: Entry, read: ReadRecord, zones: frozenset[str]) -> bool:
    country = read.get("country")
    if entry.country is not None and country is not None and entry.country != country:
        return False
    if entry.zones and not set(entry.zones) & zones:
        return False
    at = read["captured_at_ms"]
    if entry.valid_from_ms is not None and not entry.valid_from_ms <= at:
        return False
    return entry.valid_until_ms is None or at < entry.valid_until_ms


def plate_kind(mode: MatchMode, read: str, entry: str) -> tuple[str, int] | None:
    """The strongest kind by which `entry` matches the read plate, in the order of section 6."""
    if read == entry:
        return "exact", 0
    if mode in (MatchMode.OCR, MatchMode.FUZZY) and len(read) == len(entry):
        differing = sum(r != e for r, e in zip(read, entry, strict=True))
        if skeleton(read) == skeleton(entry) and differing <= 2:
            return "ocr", differing
    fuzzy_lengths = len(read) >= 5 and len(entry) >= 5
    if (
        mode is MatchMode.FUZZY
        and fuzzy_lengths
        and levenshtein(skeleton(read), skeleton(entry)) == 1
    ):
        return "fuzzy", 1
    return None


def reference_hits(
    lists: list[tuple[ListConfig, list[Entry]]], read: ReadRecord, zones: frozenset[str]
) -> set[Hit]:
    plate = read["plate_norm"]
    hits: set[Hit] = set()
    for config, entries in lists:
        for entry in entries:
            if not applicable(entry, read, zones):
                continue
            if entry.pattern is not None:
                if pattern_matches(entry.pattern, plate):
                    hits.add(
                        (
                            config.list_id,
                            entry.entry_id,
                            "pattern",
                            "plate",
                            plate,
                            entry.pattern,
                            0,
                        )
                    )
                continue
            assert entry.plate is not None
            found = plate_kind(config.match, plate, entry.plate)
            if found is not None:
                kind, distance = found
                hits.add(
                    (config.list_id, entry.entry_id, kind, "plate", plate, entry.plate, distance)
                )
                continue
            for candidate in read.get("candidates", []):
                if candidate["plate_norm"] == entry.plate:
                    hits.add(
                        (
                            config.list_id,
                            entry.entry_id,
                            "exact",
                            "candidate",
                            entry.plate,
                            entry.plate,
                            0,
                        )
                    )
                    break
    return hits


# --- random cases ------------------------------------------------------------------------------

_CLASS_OF = {ch: cls for cls in OCR_CLASSES for ch in cls}


def random_plate(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(3, 7)))


def mutate(rng: random.Random, plate: str) -> str:
    """The plate as an OCR engine might misread it: class swaps, edits, or unchanged."""
    for _ in range(rng.choice((0, 1, 1, 2, 2, 2, 3))):
        i = rng.randrange(len(plate))
        op = rng.choice(("swap", "swap", "swap", "swap", "replace", "insert", "delete"))
        if op == "swap":
            plate = plate[:i] + rng.choice(_CLASS_OF.get(plate[i], plate[i])) + plate[i + 1 :]
        elif op == "replace":
            plate = plate[:i] + rng.choice(ALPHABET) + plate[i + 1 :]
        elif op == "insert":
            plate = plate[:i] + rng.choice(ALPHABET) + plate[i:]
        elif len(plate) > 1:
            plate = plate[:i] + plate[i + 1 :]
    return plate


def random_pattern(rng: random.Random, plate: str) -> str | None:
    chars = [("?" if rng.random() < 0.25 else ch) for ch in plate]
    if rng.random() < 0.6:
        start = rng.randrange(len(chars) + 1)
        chars[start : rng.randint(start, len(chars))] = ["*"]
    pattern = re.sub(r"\*+", "*", "".join(chars))
    literals = sum(ch not in "?*" for ch in pattern)
    return pattern if literals >= 3 else None


def random_bounds(rng: random.Random) -> tuple[int | None, int | None]:
    points = [None, None, None, None, None, T0 - 1, T0, T0 + 1]
    low, high = rng.choice(points), rng.choice(points)
    if low is not None and high is not None and low >= high:
        return None, None
    return low, high


def random_entry(rng: random.Random, list_id: str, entry_id: str, plates: list[str]) -> Entry:
    plate = rng.choice(plates) if plates and rng.random() < 0.3 else random_plate(rng)
    pattern = random_pattern(rng, plate) if rng.random() < 0.3 else None
    low, high = random_bounds(rng)
    zones = tuple(sorted(z for z in ZONES if rng.random() < 0.1))
    fields = {"pattern": pattern} if pattern else {"plate": plate}
    return make_entry(
        entry_id,
        list_id=list_id,
        country=rng.choice(COUNTRIES),
        zones=zones,
        valid_from_ms=low,
        valid_until_ms=high,
        **fields,
    )


@dataclass
class Case:
    lists: list[tuple[ListConfig, list[Entry]]]
    read: ReadRecord
    zones: frozenset[str]


def random_case(rng: random.Random) -> Case:
    lists: list[tuple[ListConfig, list[Entry]]] = []
    plates: list[str] = []
    for number in range(rng.randint(1, 3)):
        list_id = f"l{number}"
        config = make_config(list_id, match=rng.choice(tuple(MatchMode)))
        entries = []
        for e in range(rng.randint(0, 8)):
            entry = random_entry(rng, list_id, f"e{e}", plates)
            entries.append(entry)
            if entry.plate:
                plates.append(entry.plate)
        lists.append((config, entries))
    source = rng.choice(plates) if plates and rng.random() < 0.85 else random_plate(rng)
    plate = mutate(rng, source)
    candidates = [
        mutate(rng, rng.choice(plates or [source])) for _ in range(rng.choice((0, 0, 1, 2)))
    ]
    read = make_read(
        plate,
        candidates=candidates,
        captured_at_ms=T0 + rng.choice((-1, 0, 0, 1)),
        **({"country": c} if (c := rng.choice(COUNTRIES)) else {}),
    )
    zones = frozenset(z for z in ZONES if rng.random() < 0.4)
    return Case(lists, read, zones)


def build_index(rng: random.Random, lists: list[tuple[ListConfig, list[Entry]]]) -> HotlistIndex:
    """The same hotlists reached by different paths: replacement, upserts, deletes, mode changes."""
    index = HotlistIndex(purge_at_once=rng.choice((0, 3, 100_000)))
    for config, entries in lists:
        path = rng.choice(("replace", "upsert", "churn", "mode"))
        if path == "replace":
            index.replace_list(config, entries)
        elif path == "upsert":
            index.set_config(config)
            index.upsert(config.list_id, entries)
        elif path == "churn":
            noise = [random_entry(rng, config.list_id, f"e{i}", []) for i in range(8)]
            index.replace_list(config, noise, purge=rng.random() < 0.5)
            index.upsert(config.list_id, entries)
            index.delete(config.list_id, [e.entry_id for e in noise[len(entries) :]])
            index.replace_list(config, entries, purge=False)
        else:
            other = rng.choice([m for m in MatchMode if m is not config.match])
            index.replace_list(make_config(config.list_id, match=other), entries)
            index.set_config(config)
        index.purge(budget=rng.choice((0, 2, None)))
    return index


def index_hits(index: HotlistIndex, case: Case) -> set[Hit]:
    return {
        (m.list_id, m.entry_id, m.kind, m.source, m.read_plate, m.entry_plate, m.distance)
        for m in index.match(case.read, case.zones)
    }


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False))
def test_index_agrees_with_the_reference(rng: random.Random) -> None:
    case = random_case(rng)
    index = build_index(rng, case.lists)
    assert index_hits(index, case) == reference_hits(case.lists, case.read, case.zones)


def test_sweep_covers_every_kind() -> None:
    rng = random.Random(20260101)
    seen: Counter[tuple[str, str]] = Counter()
    for _ in range(2500):
        case = random_case(rng)
        expected = reference_hits(case.lists, case.read, case.zones)
        assert index_hits(build_index(rng, case.lists), case) == expected
        seen.update((kind, source) for _, _, kind, source, _, _, _ in expected)
        seen["no hit", ""] += not expected
        seen["ocr distance 2", ""] += any(h[2] == "ocr" and h[6] == 2 for h in expected)
    for kind in (
        ("exact", "plate"),
        ("ocr", "plate"),
        ("fuzzy", "plate"),
        ("pattern", "plate"),
        ("exact", "candidate"),
        ("no hit", ""),
        ("ocr distance 2", ""),
    ):
        assert seen[kind] >= 20, (kind, seen)


def test_a_plate_always_matches_itself_exactly() -> None:
    rng = random.Random(7)
    for _ in range(300):
        case = random_case(rng)
        index = build_index(rng, case.lists)
        for config, entries in case.lists:
            for entry in entries:
                if entry.plate is None:
                    continue
                read = make_read(entry.plate, country=entry.country or "BE")
                if entry.valid_from_ms is not None:
                    read["captured_at_ms"] = entry.valid_from_ms
                elif entry.valid_until_ms is not None:
                    read["captured_at_ms"] = entry.valid_until_ms - 1
                matches = index.match(read, frozenset(entry.zones))
                assert any(
                    (m.list_id, m.entry_id, m.kind) == (config.list_id, entry.entry_id, "exact")
                    for m in matches
                )
