"""The plate table: every plate entry of every list, looked up by skeleton.

`plates` maps a skeleton to its bucket: one record, or a list of records when several entries
share the skeleton (the same plate on several lists, OCR look-alikes, or two generations of a list
while one replaces the other). A record is the tuple `(entry_id, variant_code, meta)`, where
`meta[TOKEN]` is the token of the list generation the entry belongs to; with the skeleton key the
variant code gives back the entry's plate (`matcher.ocr`). Skeletons and entry ids are ASCII
bytes, 16 bytes smaller each than str. Exact and OCR matches are both found by looking up the
read's skeleton, so a plate entry costs one key.

Fuzzy matching needs more, so only skeletons (of five or more characters) with a record of a fuzzy
list pay for it: `neighbours` files each such skeleton under itself and under each of its
single-character deletions (a key holds one skeleton, or a list when several share it). A read
then needs L + 1 lookups, one per deletion of its skeleton and one for the skeleton itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import combinations

from matcher.fuzzy import MIN_FUZZY_LEN, deletions
from matcher.rules import TOKEN, Meta

Record = tuple[bytes, int, Meta]
Bucket = Record | list[Record]


def records_of(bucket: Bucket) -> list[Record] | tuple[Record]:
    return bucket if type(bucket) is list else (bucket,)  # type: ignore[return-value]


class PlateTable:
    __slots__ = ("neighbours", "plates")

    def __init__(self) -> None:
        self.plates: dict[bytes, Bucket] = {}
        self.neighbours: dict[bytes, bytes | list[bytes]] = {}

    def __len__(self) -> int:
        return sum(1 if type(b) is not list else len(b) for b in self.plates.values())

    def add(self, skeleton: bytes, record: Record) -> None:
        plates = self.plates
        bucket = plates.get(skeleton)
        if bucket is None:
            plates[skeleton] = record
        elif type(bucket) is list:
            bucket.append(record)
        else:
            plates[skeleton] = [bucket, record]  # type: ignore[list-item]

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
        """Whether `skeleton` is filed in `neighbours` (it then files itself under itself)."""
        held = self.neighbours.get(skeleton)
        return held == skeleton or (type(held) is list and skeleton in held)

    def sync_fuzzy(self, skeleton: bytes, is_fuzzy: Callable[[str], bool]) -> None:
        """File or unfile `skeleton` in `neighbours` as its records now require."""
        wanted = len(skeleton) >= MIN_FUZZY_LEN and any(
            is_fuzzy(record[2][TOKEN]) for record in self.records(skeleton)
        )
        if wanted == self.fuzzy_indexed(skeleton):
            return
        table = self.neighbours
        keys = {skeleton, *deletions(skeleton)}
        if wanted:
            for key in keys:
                held = table.get(key)
                if held is None:
                    table[key] = skeleton
                elif type(held) is list:
                    held.append(skeleton)
                else:
                    table[key] = [held, skeleton]  # type: ignore[list-item]
            return
        for key in keys:
            held = table.get(key)
            if type(held) is list:
                held.remove(skeleton)
                if len(held) == 1:
                    table[key] = held[0]
            elif held == skeleton:
                del table[key]

    def fuzzy_neighbours(self, skeleton: bytes) -> list[bytes]:
        """Fuzzy skeletons that may be at edit distance one from `skeleton` (to be verified).

        Looking up the read's skeleton finds the ones it is a deletion of (one longer); looking up
        its deletions finds the ones sharing a deletion (a substitution) and the ones equal to a
        deletion (one shorter). May repeat a skeleton, or give the read's own.
        """
        keys = list(map(bytes, combinations(skeleton, len(skeleton) - 1)))
        keys.append(skeleton)
        neighbours = self.neighbours
        # Nine reads in ten find nothing: one pass in C (the keys view costs no memory) instead
        # of a Python loop over every key.
        if neighbours.keys().isdisjoint(keys):
            return []
        found: list[bytes] = []
        for held in map(neighbours.get, keys):
            if held is not None:
                if type(held) is list:
                    found.extend(held)
                else:
                    found.append(held)  # type: ignore[arg-type]
        return found
