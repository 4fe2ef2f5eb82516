"""Applicability of an entry to a read (contract section 6): country, zones and validity.

The index stores each plate entry's conditions, together with what a hit needs, in a `Meta`
tuple shared by every entry of a list that has the same values (most entries of a list do). Metas
hold only strings, ints and tuples, so CPython's garbage collector untracks them and the records
that point to them: millions of entries add nothing to a full collection.

`Meta` stays an exact tuple rather than a `NamedTuple`: the collector untracks exact tuples only,
so a `NamedTuple` meta keeps itself and every record pointing to it tracked. Measured on 2 million
records sharing 50 metas (CPython 3.11): a full `gc.collect()` took 54 ms with tuples and 2.4 s
with a `NamedTuple`, and unpacking one took twice as long. Its fields
are named instead by the `Final` positions below, which mypy types exactly (`meta[TOKEN]` is a
`str`, `meta[PRIORITY]` an `int | None`).
"""

from __future__ import annotations

from typing import Final

from anpr.hotlists import EntrySpec

Meta = tuple[
    str, str | None, tuple[str, ...], int | None, int | None, str | None, str | None, int | None
]
# The positions of a `Meta`'s fields.
TOKEN: Final = 0  # the token of the list generation the entry belongs to (`list_id#n`)
COUNTRY: Final = 1
ZONES: Final = 2
VALID_FROM: Final = 3
VALID_UNTIL: Final = 4
REASON: Final = 5
ACTION: Final = 6
PRIORITY: Final = 7


def meta_of(list_id: str, entry: EntrySpec) -> Meta:
    return (
        list_id,
        entry.country,
        entry.zones,
        entry.valid_from_ms,
        entry.valid_until_ms,
        entry.reason,
        entry.action,
        entry.priority,
    )


def applies(
    meta: Meta, country: str | None, camera_zones: frozenset[str], captured_at_ms: int
) -> bool:
    """Whether an entry with these conditions applies to a read with these facts."""
    _, entry_country, zones, valid_from, valid_until, _, _, _ = meta  # one unpack: the hot path
    if entry_country is not None and country is not None and entry_country != country:
        return False
    if zones and camera_zones.isdisjoint(zones):
        return False
    if valid_from is not None and captured_at_ms < valid_from:
        return False
    return valid_until is None or captured_at_ms < valid_until
