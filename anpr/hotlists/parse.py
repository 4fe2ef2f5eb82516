"""Parsing hotlist entry uploads given as JSON objects or NDJSON, with per-line errors.

The field checks here are shared with the CSV parser (`anpr.hotlists.parse_csv`). Every rejection
names the field and the 1-based physical line, so a supervisor can fix the file. The iterator
forms hold one line at a time (plus the set of entry ids seen, to reject duplicates), so the CLI
can stream a 10-million-line file behind a progress bar, and `split_lines` cuts an upload held in
memory into lines a piece at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import AnyStr

import orjson

from anpr.clock import RANGE_MESSAGE, in_range, rfc3339_to_ms
from anpr.countries import normalize_country
from anpr.gcpolicy import BULK_FREEZE_RECORDS, freeze_arrivals
from anpr.hotlists.model import (
    MAX_PLATE_LEN,
    MAX_TEXT_LEN,
    MAX_ZONE_LEN,
    MAX_ZONES,
    MIN_PATTERN_LITERALS,
    PRIORITY_MAX,
    PRIORITY_MIN,
    EntrySpec,
    pattern_literals,
)
from anpr.ids import ID_PATTERN, EntryId
from anpr.normalize import normalize_pattern, normalize_plate, normalize_zone
from anpr.reads import FieldError

DUPLICATE = "duplicate entry_id in this upload"
TIME_MESSAGE = "must be RFC 3339 with an offset (Z or ±hh:mm), or integer epoch milliseconds"

Parsed = tuple[int, EntrySpec | list[FieldError]]

# Characters `split_lines` splits at once (a few ms of work).
LINES_PIECE = 1 << 20


@dataclass(frozen=True, slots=True)
class LineError:
    """Everything wrong with one line of an upload (or, for JSON arrays, one item)."""

    line: int
    errors: tuple[FieldError, ...]

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "errors": [e.as_dict() for e in self.errors]}


# --- field checks shared by every format -------------------------------------------------------


def check_plate(raw: str, errors: list[FieldError]) -> str | None:
    norm = normalize_plate(raw)
    if not 1 <= len(norm) <= MAX_PLATE_LEN:
        errors.append(
            FieldError("plate", f"must have 1 to {MAX_PLATE_LEN} letters or digits once normalized")
        )
        return None
    return norm


def check_pattern(raw: str, errors: list[FieldError]) -> str | None:
    norm = normalize_pattern(raw)
    literals = pattern_literals(norm)
    if literals < MIN_PATTERN_LITERALS:
        errors.append(
            FieldError(
                "pattern",
                f"needs at least {MIN_PATTERN_LITERALS} letters or digits besides ? and *",
            )
        )
        return None
    if len(norm) - norm.count("*") > MAX_PLATE_LEN:
        errors.append(FieldError("pattern", f"can never match a plate of {MAX_PLATE_LEN} or less"))
        return None
    return norm


def check_text(value: str, field: str, errors: list[FieldError]) -> str | None:
    if len(value) > MAX_TEXT_LEN:
        errors.append(FieldError(field, f"at most {MAX_TEXT_LEN} characters"))
        return None
    if not is_text(value):
        errors.append(FieldError(field, LONE_SURROGATE))
        return None
    return value


LONE_SURROGATE = "holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text"


def is_text(value: str) -> bool:
    """Whether `value` can be encoded (the stdlib JSON parser FastAPI uses takes a lone
    surrogate escape for a character; the entry's record could not be written)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_zones(zones: Iterable[str], errors: list[FieldError]) -> tuple[str, ...]:
    """The zone names given, normalized (`normalize_zone`, as a camera's are), blanks beside
    real names ignored (a trailing `;`). Names given but all blank are an error: no zones
    means every zone, and an entry meant for some zones must not silently match everywhere."""
    given = list(zones)
    if not all(is_text(zone) for zone in given):
        errors.append(FieldError("zones", LONE_SURROGATE))
        return ()
    cleaned = {normalize_zone(zone) for zone in given} - {""}
    if given and not cleaned:
        errors.append(FieldError("zones", "blank zone names: leave zones out to mean every zone"))
        return ()
    if len(cleaned) > MAX_ZONES:
        errors.append(FieldError("zones", f"at most {MAX_ZONES} zones"))
        return ()
    if any(len(zone) > MAX_ZONE_LEN for zone in cleaned):
        errors.append(FieldError("zones", f"a zone name is at most {MAX_ZONE_LEN} characters"))
        return ()
    return tuple(sorted(cleaned))


def finish(
    *,
    entry_id: object,
    plate: str | None,
    pattern: str | None,
    country: str | None,
    zones: tuple[str, ...],
    valid_from: int | None,
    valid_until: int | None,
    reason: str | None,
    action: str | None,
    priority: int | None,
    errors: list[FieldError],
) -> EntrySpec | list[FieldError]:
    if not isinstance(entry_id, str) or ID_PATTERN.fullmatch(entry_id) is None:
        errors.insert(0, FieldError("entry_id", "required string of 1-128 of [A-Za-z0-9._:-]"))
    if valid_from is not None and valid_until is not None and valid_from >= valid_until:
        errors.append(FieldError("valid_until", "must be after valid_from"))
    if errors:
        return errors
    assert isinstance(entry_id, str)  # noqa: S101 - narrowed by the check above
    return EntrySpec(
        entry_id=EntryId(entry_id),
        plate=plate,
        pattern=pattern,
        country=country,
        zones=zones,
        valid_from_ms=valid_from,
        valid_until_ms=valid_until,
        reason=reason,
        action=action,
        priority=priority,
    )


def check_plate_or_pattern(
    plate: object, pattern: object, errors: list[FieldError]
) -> tuple[str | None, str | None]:
    if plate is not None and pattern is not None:
        errors.append(FieldError("pattern", "give exactly one of plate or pattern"))
        return None, None
    if plate is None and pattern is None:
        errors.append(FieldError("plate", "required (or a pattern)"))
        return None, None
    if plate is not None:
        if not isinstance(plate, str):
            errors.append(FieldError("plate", "must be a string"))
            return None, None
        return check_plate(plate, errors), None
    if not isinstance(pattern, str):
        errors.append(FieldError("pattern", "must be a string"))
        return None, None
    return None, check_pattern(pattern, errors)


def check_country(value: object, errors: list[FieldError]) -> str | None:
    country = normalize_country(value)
    if country is None:
        errors.append(FieldError("country", "must be an ISO 3166-1 alpha-2 code"))
    return country


def check_priority(value: object, errors: list[FieldError]) -> int | None:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and PRIORITY_MIN <= value <= PRIORITY_MAX
    ):
        return value
    errors.append(
        FieldError("priority", f"must be an integer from {PRIORITY_MIN} to {PRIORITY_MAX}")
    )
    return None


# --- JSON --------------------------------------------------------------------------------------


def _json_time(value: object, field: str, errors: list[FieldError]) -> int | None:
    if value is None:
        return None
    parsed: int | None = None
    if isinstance(value, str):
        parsed = rfc3339_to_ms(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    if parsed is None:
        errors.append(FieldError(field, TIME_MESSAGE))
        return None
    if not in_range(parsed):
        errors.append(FieldError(field, RANGE_MESSAGE))
        return None
    return parsed


def _json_text(value: object, field: str, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(field, "must be a string"))
        return None
    return check_text(value, field, errors) or None


def parse_entry_obj(obj: object) -> EntrySpec | list[FieldError]:
    """Validate one entry given as a JSON object; unknown fields are ignored."""
    if not isinstance(obj, dict):
        return [FieldError("entry", "must be a JSON object")]
    errors: list[FieldError] = []
    plate, pattern = check_plate_or_pattern(obj.get("plate"), obj.get("pattern"), errors)
    raw_country = obj.get("country")
    country = check_country(raw_country, errors) if raw_country is not None else None
    raw_zones = obj.get("zones")
    zones: tuple[str, ...] = ()
    if isinstance(raw_zones, str):  # "a;b", as in a CSV cell; empty as an empty cell
        zones = check_zones(raw_zones.split(";"), errors) if raw_zones.strip() else ()
    elif isinstance(raw_zones, list) and all(isinstance(z, str) for z in raw_zones):
        zones = check_zones(raw_zones, errors)
    elif raw_zones is not None:
        errors.append(FieldError("zones", "must be an array of strings"))
    raw_priority = obj.get("priority")
    return finish(
        entry_id=obj.get("entry_id"),
        plate=plate,
        pattern=pattern,
        country=country,
        zones=zones,
        valid_from=_json_time(obj.get("valid_from"), "valid_from", errors),
        valid_until=_json_time(obj.get("valid_until"), "valid_until", errors),
        reason=_json_text(obj.get("reason"), "reason", errors),
        action=_json_text(obj.get("action"), "action", errors),
        priority=check_priority(raw_priority, errors) if raw_priority is not None else None,
        errors=errors,
    )


def _dedupe(parsed: Iterator[Parsed]) -> Iterator[Parsed]:
    seen: set[str] = set()
    for line, result in parsed:
        if isinstance(result, EntrySpec):
            if result.entry_id in seen:
                yield line, [FieldError("entry_id", DUPLICATE)]
                continue
            seen.add(result.entry_id)
        yield line, result


UTF8_BOM = b"\xef\xbb\xbf"


class _Unreadable:
    """A value Python cannot hold as a number (an integer past `sys.get_int_max_str_digits()`
    digits, NaN, Infinity): no entry field takes it, so the field's own check names it."""

    __slots__ = ()


_UNREADABLE = _Unreadable()


def _int_or_unreadable(digits: str) -> object:
    try:
        return int(digits)
    except ValueError:
        return _UNREADABLE


def loads_json(data: str | bytes) -> object:
    """A JSON document, parsed by orjson; if orjson refuses it whole (for a number past a double,
    NaN, a lone surrogate escape: one value of one entry), parsed again by the stdlib's JSON,
    which reads those values, so that only the entry holding one is rejected, naming its field.

    Raises `orjson.JSONDecodeError` (orjson's, with its position) when neither reads it.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as refused:
        try:
            return json.loads(
                data,
                parse_int=_int_or_unreadable,
                parse_constant=lambda _constant: _UNREADABLE,
            )
        except (ValueError, RecursionError):
            raise refused from None


def loads_entry_array(text: str) -> object:
    """A JSON document of up to millions of entries, parsed on a worker thread without holding
    the event loop: the stdlib's parser, reading what `loads_json` reads, calls back into Python
    at each object, where the worker hands the GIL over (`anpr.threadwork`), and freezes what
    it built every `BULK_FREEZE_RECORDS` objects (`anpr.gcpolicy`). orjson holds the GIL for
    the whole document: 70 ms for 13 MB, the loop and every request waiting.

    Raises `json.JSONDecodeError`, or `RecursionError` for nesting too deep.
    """
    count = 0

    def each_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
        nonlocal count
        count += 1
        if count % BULK_FREEZE_RECORDS == 0:
            freeze_arrivals()
        return dict(pairs)

    return json.loads(
        text,
        object_pairs_hook=each_object,
        parse_int=_int_or_unreadable,
        parse_constant=lambda _constant: _UNREADABLE,
    )


def without_bom(line: str | bytes) -> str | bytes:
    """A first line without its byte order mark (Windows tools write one; CSV drops it too)."""
    if isinstance(line, bytes):
        return line.removeprefix(UTF8_BOM)
    return line.removeprefix("\ufeff")


def iter_entries_ndjson(lines: Iterable[str | bytes]) -> Iterator[Parsed]:
    """Yield (line number, entry or errors) for each non-blank NDJSON line."""

    def raw() -> Iterator[Parsed]:
        for number, line in enumerate(lines, start=1):
            if number == 1:
                line = without_bom(line)
            if not line.strip():
                continue
            try:
                obj = loads_json(line)
            except orjson.JSONDecodeError:
                yield number, [FieldError("entry", "not valid JSON")]
                continue
            yield number, parse_entry_obj(obj)

    return _dedupe(raw())


def iter_entry_list(items: Iterable[object]) -> Iterator[Parsed]:
    """Yield (item number, entry or errors) for each item of a JSON array of entries."""
    return _dedupe((i, parse_entry_obj(obj)) for i, obj in enumerate(items, start=1))


def parse_entry_list(items: Iterable[object]) -> tuple[list[EntrySpec], list[LineError]]:
    """Validate a JSON array of entries; `LineError.line` is the 1-based item number."""
    return collect(iter_entry_list(items))


def parse_entries_ndjson(text: str | bytes) -> tuple[list[EntrySpec], list[LineError]]:
    return collect(iter_entries_ndjson(text.splitlines()))


def split_lines(text: AnyStr, *, keepends: bool = False) -> Iterator[AnyStr]:
    """The lines of `text.splitlines(keepends)`, split a piece of about `LINES_PIECE` at a time.

    A piece ends just after a line feed, which ends a line in either form (a CR LF included),
    so the lines are the same. One call on a whole upload (67 MB for 1M entries) took 60-140 ms
    with the GIL held, on a worker thread or not: the event loop waited as long.
    """
    line_feed = "\n" if isinstance(text, str) else b"\n"
    start = 0
    while start < len(text):
        cut = text.find(line_feed, start + LINES_PIECE)
        end = len(text) if cut < 0 else cut + 1
        yield from text[start:end].splitlines(keepends)
        start = end


def collect(parsed: Iterable[Parsed]) -> tuple[list[EntrySpec], list[LineError]]:
    """Split an iterator of parsed lines into the accepted entries and the line errors."""
    entries: list[EntrySpec] = []
    rejected: list[LineError] = []
    for line, result in parsed:
        if isinstance(result, EntrySpec):
            entries.append(result)
        else:
            rejected.append(LineError(line, tuple(result)))
    return entries, rejected
