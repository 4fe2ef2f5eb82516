"""Parsing hotlist entry uploads given as CSV, with per-line errors.

Header `entry_id,plate,country,zones,valid_from,valid_until,reason,action` (columns in any order,
`pattern` and `priority` also accepted, `zones` separated by `;`, an empty cell is an absent
value). Line numbers are 1-based physical lines, the header being line 1. `iter_entries_csv` holds
one row at a time (plus the entry ids seen): a 10-million-row file streams at a few microseconds a
row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from anpr.clock import RANGE_MESSAGE, in_range, rfc3339_to_ms
from anpr.countries import normalize_country
from anpr.hotlists.model import MAX_PLATE_LEN, EntrySpec
from anpr.hotlists.parse import (
    DUPLICATE,
    TIME_MESSAGE,
    LineError,
    Parsed,
    check_plate,
    check_plate_or_pattern,
    check_priority,
    check_text,
    check_zones,
    collect,
    finish,
)
from anpr.normalize import normalize_plate
from anpr.reads import FieldError

CSV_COLUMNS = (
    "entry_id",
    "plate",
    "pattern",
    "country",
    "zones",
    "valid_from",
    "valid_until",
    "reason",
    "action",
    "priority",
)


def _csv_header(row: list[str]) -> tuple[list[str], list[FieldError]]:
    names = [cell.strip().lower() for cell in row]
    names[0] = names[0].removeprefix("\ufeff")
    errors: list[FieldError] = []
    unknown = [name for name in names if name not in CSV_COLUMNS]
    if unknown:
        allowed = ",".join(CSV_COLUMNS)
        errors.append(FieldError("header", f"unknown column {unknown[0]!r}; columns: {allowed}"))
    if len(set(names)) != len(names):
        errors.append(FieldError("header", "a column appears twice"))
    if "entry_id" not in names:
        errors.append(FieldError("header", "needs an entry_id column"))
    if "plate" not in names and "pattern" not in names:
        errors.append(FieldError("header", "needs a plate or a pattern column"))
    return names, errors


def _fast_plate(raw: str) -> str:
    """`normalize_plate`, with a fast path for the usual ASCII plate with dashes or spaces."""
    if raw.isascii():
        upper = raw.upper()
        if upper.isalnum():
            return upper
        upper = upper.replace("-", "").replace(" ", "")
        if upper.isalnum():
            return upper
    return normalize_plate(raw)


class _CsvRows:
    """Parses the rows under one header; values repeated across rows are parsed once."""

    _CACHE_LIMIT = 4096

    def __init__(self, names: list[str]) -> None:
        self.width = len(names)
        # An absent column reads the padding cell at index `width`, always empty.
        column = {name: i for i, name in enumerate(names)}
        self.columns = tuple(column.get(name, self.width) for name in CSV_COLUMNS)
        self._times: dict[str, int | None] = {}
        self._countries: dict[str, str | None] = {}

    def _time(self, cell: str, field: str, errors: list[FieldError]) -> int | None:
        parsed = self._times.get(cell, -1)
        if parsed == -1:
            digits = cell[1:] if cell[0] == "-" else cell
            if digits.isascii() and digits.isdigit():
                # Epoch ms have at most 16 digits; int() refuses 4,300 and more (a 500 before).
                parsed = int(cell) if len(digits) <= 19 else None
            else:
                parsed = rfc3339_to_ms(cell)
                if len(self._times) < self._CACHE_LIMIT:
                    self._times[cell] = parsed
        if parsed is None:
            errors.append(FieldError(field, TIME_MESSAGE))
        elif not in_range(parsed):
            errors.append(FieldError(field, RANGE_MESSAGE))
            return None
        return parsed

    def _country(self, cell: str, errors: list[FieldError]) -> str | None:
        if cell in self._countries:
            country = self._countries[cell]
        else:
            country = normalize_country(cell)
            if len(self._countries) < self._CACHE_LIMIT:
                self._countries[cell] = country
        if country is None:
            errors.append(FieldError("country", "must be an ISO 3166-1 alpha-2 code"))
        return country

    def parse(self, row: list[str]) -> EntrySpec | list[FieldError]:
        if len(row) > self.width:
            return [FieldError("line", f"has {len(row)} cells, the header has {self.width}")]
        cells = [cell.strip() for cell in row]
        cells.extend([""] * (self.width + 1 - len(cells)))
        (
            i_id,
            i_plate,
            i_pattern,
            i_country,
            i_zones,
            i_from,
            i_until,
            i_reason,
            i_action,
            i_prio,
        ) = self.columns
        errors: list[FieldError] = []
        plate_cell, pattern_cell = cells[i_plate], cells[i_pattern]
        plate: str | None = None
        pattern: str | None = None
        if plate_cell and not pattern_cell:
            plate = _fast_plate(plate_cell)
            if not 1 <= len(plate) <= MAX_PLATE_LEN:
                plate = check_plate(plate_cell, errors)
        else:
            plate, pattern = check_plate_or_pattern(
                plate_cell or None, pattern_cell or None, errors
            )
        country, zones_cell = cells[i_country], cells[i_zones]
        valid_from, valid_until = cells[i_from], cells[i_until]
        reason, action, priority_cell = cells[i_reason], cells[i_action], cells[i_prio]
        priority: int | None = None
        if priority_cell:
            value = (
                int(priority_cell)
                if priority_cell.isascii() and priority_cell.isdigit() and len(priority_cell) <= 3
                else None
            )
            priority = check_priority(value, errors)
        return finish(
            entry_id=cells[i_id] or None,
            plate=plate,
            pattern=pattern,
            country=self._country(country, errors) if country else None,
            zones=check_zones(zones_cell.split(";"), errors) if zones_cell else (),
            valid_from=self._time(valid_from, "valid_from", errors) if valid_from else None,
            valid_until=self._time(valid_until, "valid_until", errors) if valid_until else None,
            reason=check_text(reason, "reason", errors) if reason else None,
            action=check_text(action, "action", errors) if action else None,
            priority=priority,
            errors=errors,
        )


def iter_entries_csv(lines: Iterable[str]) -> Iterator[Parsed]:
    """Yield (line number, entry or errors) per CSV record; a bad header ends it at line 1.

    `lines` are physical lines with their line ends (a file opened with `newline=""`); a quoted
    cell may span lines, and the record is then reported at its first line.
    """
    reader = csv.reader(lines, strict=True)
    rows: _CsvRows | None = None
    seen: set[str] = set()
    consumed = 0
    while True:
        start = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if reader.line_num == consumed:
                break
            consumed = reader.line_num
            yield start, [FieldError("line", f"malformed CSV: {exc}")]
            continue
        consumed = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if rows is None:
            names, errors = _csv_header(row)
            if errors:
                yield start, errors
                return
            rows = _CsvRows(names)
            continue
        result = rows.parse(row)
        if isinstance(result, EntrySpec):
            if result.entry_id in seen:
                result = [FieldError("entry_id", DUPLICATE)]
            else:
                seen.add(result.entry_id)
        yield start, result
    if rows is None:
        yield 1, [FieldError("header", "missing")]


def parse_entries_csv(text: str) -> tuple[list[EntrySpec], list[LineError]]:
    return collect(iter_entries_csv(text.splitlines(keepends=True)))
