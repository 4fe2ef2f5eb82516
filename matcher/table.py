"""The plate table: every plate entry of every list, looked up by skeleton.

`plates` maps a skeleton to its bucket: one record, or a list of records when several entries
share the skeleton (the same plate on several lists, OCR look-alikes, or two generations of a list
while one replaces the other). A record is the tuple `(entry_id, variant_code, meta)`, where
`meta[TOKEN]` is the token of the list generation the entry belongs to; with the skeleton key the
variant code gives back the entry's plate (`matcher.ocr`). Skeletons and entry ids are ASCII
bytes, 16 bytes smaller each than str. Exact and OCR matches are both found by looking up the
read's skeleton, so a plate entry costs one key.

Fuzzy matching needs more, so only skeletons (of five or more characters) with a record of a fuzzy
list pay for it: `neighbours` files each such skeleton under its four segment keys
(`matcher.fuzzy`) for reads one character shorter, as long and one longer (a key holds one
skeleton, or a list when several share it). A read then needs four lookups, in the tables of its
own length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from matcher.fuzzy import MIN_FUZZY_LEN, cuts, fuzzy_length, skeleton_keys
from matcher.rules import TOKEN, Meta

T = TypeVar("T")
Record = tuple[bytes, int, Meta]
Bucket = Record | list[Record]
Held = bytes | list[bytes]
KeyTable = dict[bytes, Held]
# A read length's three cuts and its four key tables, table i for the keys without segment i.
Filed = tuple[tuple[int, int, int], tuple[KeyTable, KeyTable, KeyTable, KeyTable]]
_NOTHING = (None, None, None, None)


def _file(table: dict[bytes, T | list[T]], key: bytes, value: T) -> None:
    """File `value` under `key`: alone, or in a list once the key holds more than one."""
    held = table.get(key)
    if held is None:
        table[key] = value
    elif type(held) is list:
        held.append(value)
    else:
        table[key] = [held, value]  # type: ignore[list-item]


def records_of(bucket: Bucket) -> list[Record] | tuple[Record]:
    return bucket if type(bucket) is list else (bucket,)  # type: ignore[return-value]


class PlateTable:
    __slots__ = ("neighbours", "plates")

    def __init__(self) -> None:
        self.plates: dict[bytes, Bucket] = {}
        self.neighbours: dict[int, Filed] = {}  # read length -> where fuzzy skeletons are filed

    def __len__(self) -> int:
        return sum(1 if type(b) is not list else len(b) for b in self.plates.values())

    def add(self, skeleton: bytes, record: Record) -> None:
        _file(self.plates, skeleton, record)

    def remove(self, skeleton: bytes, token: str, entry_id: bytes) -> bool:
        """Remove the record of entry `entry_id` of list generation `token`."""
        bucket = self.plates.get(skeleton)
        if bucket is None:
            return False
        if type(bucket) is not list:
            if bucket[0] == entry_id and bucket[2][TOKEN] == token:
                del self.plates[skeleton]
                return True
            return False
        for i, record in enumerate(bucket):
            if record[0] == entry_id and record[2][TOKEN] == token:
                del bucket[i]
                if len(bucket) == 1:
                    self.plates[skeleton] = bucket[0]
                return True
        return False

    def records(self, skeleton: bytes) -> Iterator[Record]:
        bucket = self.plates.get(skeleton)
        if bucket is not None:
            yield from records_of(bucket)

    def fuzzy_indexed(self, skeleton: bytes) -> bool:
        """Whether `skeleton` is filed in `neighbours`."""
        length = fuzzy_length(skeleton)
        filed = self.neighbours.get(length)
        if filed is None:
            return False
        held = filed[1][-1].get(skeleton_keys(skeleton, length)[-1])
        return held == skeleton or (type(held) is list and skeleton in held)

    def sync_fuzzy(self, skeleton: bytes, is_fuzzy: Callable[[str], bool]) -> None:
        """File or unfile `skeleton` in `neighbours` as its records now require."""
        n = fuzzy_length(skeleton)
        wanted = n >= MIN_FUZZY_LEN and any(
            is_fuzzy(record[2][TOKEN]) for record in self.records(skeleton)
        )
        if wanted == self.fuzzy_indexed(skeleton):
            return
        for length in (n - 1, n, n + 1):
            if length < MIN_FUZZY_LEN:
                continue
            keys = skeleton_keys(skeleton, length)
            if wanted:
                filed = self.neighbours.get(length)
                if filed is None:
                    filed = self.neighbours[length] = (cuts(length), ({}, {}, {}, {}))
                for table, key in zip(filed[1], keys, strict=True):
                    _file(table, key, skeleton)
                continue
            filed = self.neighbours[length]
            for table, key in zip(filed[1], keys, strict=True):
                held = table.get(key)
                if type(held) is list:
                    held.remove(skeleton)
                    if len(held) == 1:
                        table[key] = held[0]
                elif held == skeleton:
                    del table[key]
            if not filed[1][-1]:
                del self.neighbours[length]

    def fuzzy_neighbours(self, skeleton: bytes) -> list[bytes]:
        """Fuzzy skeletons that may be at edit distance one from `skeleton` (to be verified).

        May repeat a skeleton, or give the read's own.
        """
        found: tuple[Held | None, ...]
        if skeleton.isascii():
            filed = self.neighbours.get(len(skeleton))
            if filed is None:
                return []
            (a, b, c), (without_0, without_1, without_2, without_3) = filed
            found = (
                without_0.get(skeleton[a:]),
                without_1.get(skeleton[:a] + skeleton[b:]),
                without_2.get(skeleton[:b] + skeleton[c:]),
                without_3.get(skeleton[:c]),
            )
        else:
            length = fuzzy_length(skeleton)
            filed = self.neighbours.get(length)
            if filed is None:
                return []
            keys = skeleton_keys(skeleton, length)
            found = tuple(table.get(key) for table, key in zip(filed[1], keys, strict=True))
        if found == _NOTHING:
            return []
        out: list[bytes] = []
        for held in found:
            if held is not None:
                if type(held) is list:
                    out.extend(held)
                else:
                    out.append(held)  # type: ignore[arg-type]
        return out
