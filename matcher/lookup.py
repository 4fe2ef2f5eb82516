"""Finding the matches of one read (contract section 6): the hot path of the matcher.

Only records of live list generations count. Each entry matches the read's own plate by at most
one kind (exact and OCR need the same skeleton, fuzzy a skeleton at distance one, patterns are
entries of their own), so one pass per kind suffices; candidate readings are then tried for exact
matches of the entries not matched yet, which makes any plate match win over a candidate one.
"""

from __future__ import annotations

from collections.abc import Sequence

from anpr.hits import MatchKind, MatchSource
from anpr.hotlists import MatchMode
from anpr.reads import Candidate, ReadRecord
from matcher.fuzzy import MIN_FUZZY_LEN, skeletons_at_distance_one
from matcher.generation import ListGeneration
from matcher.matches import Match
from matcher.ocr import SKELETON_BYTES, differing_positions, plate_of, variant_code
from matcher.patterns import PatternEntry, PatternSet
from matcher.rules import ACTION, PRIORITY, REASON, TOKEN, Meta, applies
from matcher.table import Bucket, PlateTable, records_of

Found = dict[tuple[str, str], Match]
_EXACT = MatchMode.EXACT
_FUZZY = MatchMode.FUZZY


def _match(
    generation: ListGeneration,
    meta: Meta,
    entry_id: str,
    kind: MatchKind,
    source: MatchSource,
    read_plate: str,
    entry_plate: str,
    distance: int,
) -> Match:
    config = generation.config
    reason, action, priority = meta[REASON], meta[ACTION], meta[PRIORITY]
    if priority is None:
        priority = config.priority
    return Match(
        config, entry_id, kind, source, read_plate, entry_plate, distance, reason, action, priority
    )


def _same_skeleton(
    found: Found,
    bucket: Bucket,
    live: dict[str, ListGeneration],
    plate: str,
    ascii_plate: bytes,
    skeleton: bytes,
    country: str | None,
    captured_at: int,
    zones: frozenset[str],
) -> None:
    code = variant_code(ascii_plate)
    for entry_id, entry_code, meta in records_of(bucket):
        generation = live.get(meta[TOKEN])
        if generation is None:
            continue
        if entry_code == code:
            kind: MatchKind = "exact"
            distance, entry_plate = 0, plate
        elif generation.config.match is _EXACT:
            continue
        else:
            distance = differing_positions(code, entry_code)
            if distance > 2:
                continue
            kind, entry_plate = "ocr", plate_of(skeleton, entry_code)
        if applies(meta, country, zones, captured_at):
            entry = entry_id.decode()
            found[(generation.config.list_id, entry)] = _match(
                generation, meta, entry, kind, "plate", plate, entry_plate, distance
            )


def _fuzzy(
    found: Found,
    table: PlateTable,
    neighbours: list[bytes],
    live: dict[str, ListGeneration],
    plate: str,
    skeleton: bytes,
    country: str | None,
    captured_at: int,
    zones: frozenset[str],
) -> None:
    for other in neighbours:
        if not skeletons_at_distance_one(skeleton, other):
            continue
        for entry_id, entry_code, meta in table.records(other):
            generation = live.get(meta[TOKEN])
            if generation is None or generation.config.match is not _FUZZY:
                continue
            if applies(meta, country, zones, captured_at):
                entry_plate, entry = plate_of(other, entry_code), entry_id.decode()
                found[(generation.config.list_id, entry)] = _match(
                    generation, meta, entry, "fuzzy", "plate", plate, entry_plate, 1
                )


def _patterns(
    found: Found,
    entries: list[PatternEntry],
    live: dict[str, ListGeneration],
    plate: str,
    country: str | None,
    captured_at: int,
    zones: frozenset[str],
) -> None:
    for entry in entries:
        meta = entry.meta
        generation = live.get(meta[TOKEN])
        if generation is not None and applies(meta, country, zones, captured_at):
            found[(generation.config.list_id, entry.entry_id)] = _match(
                generation, meta, entry.entry_id, "pattern", "plate", plate, entry.pattern, 0
            )


def _candidates(
    found: Found,
    table: PlateTable,
    live: dict[str, ListGeneration],
    candidates: Sequence[Candidate],
    plate: str,
    country: str | None,
    captured_at: int,
    zones: frozenset[str],
) -> None:
    plates = table.plates
    for candidate in candidates:
        alternative = candidate["plate_norm"]
        if alternative == plate:
            continue
        ascii_alternative = alternative.encode()
        bucket = plates.get(ascii_alternative.translate(SKELETON_BYTES))
        if bucket is None:
            continue
        code = variant_code(ascii_alternative)
        for entry_id, entry_code, meta in records_of(bucket):
            if entry_code != code:
                continue
            generation = live.get(meta[TOKEN])
            if generation is None:
                continue
            entry = entry_id.decode()
            key = (generation.config.list_id, entry)
            if key not in found and applies(meta, country, zones, captured_at):
                found[key] = _match(
                    generation, meta, entry, "exact", "candidate", alternative, alternative, 0
                )


def find_matches(
    table: PlateTable,
    live: dict[str, ListGeneration],
    patterns: PatternSet,
    read: ReadRecord,
    zones: frozenset[str],
) -> list[Match]:
    """Every applicable match of `read`, one per (list, entry)."""
    return find_matches_of(
        table,
        live,
        patterns,
        read["plate_norm"],
        read.get("candidates"),
        read.get("country"),
        read["captured_at_ms"],
        zones,
    )


def find_matches_of(
    table: PlateTable,
    live: dict[str, ListGeneration],
    patterns: PatternSet,
    plate: str,
    candidates: Sequence[Candidate] | None,
    country: str | None,
    captured_at: int,
    zones: frozenset[str],
) -> list[Match]:
    """Every applicable match of a read given by the fields matching looks at."""
    ascii_plate = plate.encode()
    skeleton = ascii_plate.translate(SKELETON_BYTES)
    found: Found = {}
    bucket = table.plates.get(skeleton)
    if bucket is not None:
        _same_skeleton(
            found, bucket, live, plate, ascii_plate, skeleton, country, captured_at, zones
        )
    # Most reads have no fuzzy neighbour and match no pattern: no call for them.
    if table.neighbours and len(plate) >= MIN_FUZZY_LEN:
        neighbours = table.fuzzy_neighbours(skeleton)
        if neighbours:
            _fuzzy(found, table, neighbours, live, plate, skeleton, country, captured_at, zones)
    pattern_entries = patterns.matches(plate)
    if pattern_entries:
        _patterns(found, pattern_entries, live, plate, country, captured_at, zones)
    if candidates:
        _candidates(found, table, live, candidates, plate, country, captured_at, zones)
    return list(found.values()) if found else []
