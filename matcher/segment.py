"""The plate table: every plate entry of every list, looked up by skeleton.

`plates` maps a skeleton to its bucket: one record, or a list of records when several entries
share the skeleton (the same plate on several lists, OCR look-alikes, or two generations of a list
while one replaces the other). A record is the tuple `(entry_id, variant_code, meta)`, where
`meta[0]` is the token of the list generation the entry belongs to; with the skeleton key the
variant code gives back the entry's plate (`matcher.ocr`). Skeletons and entry ids are ASCII
bytes, 16 bytes smaller each than str. Exact and OCR matches are both found by
looking up the read's skeleton, so a plate entry costs one key.

Fuzzy matching needs more, so only skeletons (of five or more characters) with a record of a fuzzy
list pay for it: `fuzzy` holds them, and `deletions` maps each of their single-character deletions
to the skeleton (or to a list of skeletons sharing that deletion).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from matcher.fuzzy import MIN_FUZZY_LEN, deletions
from matcher.rules import Meta

Record = tuple[bytes, int, Meta]
Bucket = Record | list[Record]


def records_of(bucket: Bucket) -> list[Record] | tuple[Record]:
    return bucket if type(bucket) is list else (bucket,)  # type: ignore[return-value]


class PlateTable:
    __slots__ = ("deletions", "fuzzy", "plates")

    def __init__(self) -> None:
        self.plates: dict[bytes, Bucket] = {}
        self.deletions: dict[bytes, bytes | list[bytes]] = {}
        self.fuzzy: set[bytes] = set()

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
            if bucket[0] == entry_id and bucket[2][0] == token:
                del self.plates[skeleton]
                return True
            return False
        for i, record in enumerate(bucket):
            if record[0] == entry_id and record[2][0] == token:
                del bucket[i]
                if len(bucket) == 1:
                    self.plates[skeleton] = bucket[0]
                return True
        return False

    def records(self, skeleton: bytes) -> Iterator[Record]:
        bucket = self.plates.get(skeleton)
        if bucket is not None:
            yield from records_of(bucket)

    def sync_fuzzy(self, skeleton: bytes, is_fuzzy: Callable[[str], bool]) -> None:
        """Index or unindex the deletions of `skeleton` as its records now require."""
        wanted = len(skeleton) >= MIN_FUZZY_LEN and any(
            is_fuzzy(record[2][0]) for record in self.records(skeleton)
        )
        if wanted == (skeleton in self.fuzzy):
            return
        table = self.deletions
        if wanted:
            self.fuzzy.add(skeleton)
            for key in set(deletions(skeleton)):
                held = table.get(key)
                if held is None:
                    table[key] = skeleton
                elif type(held) is list:
                    held.append(skeleton)
                else:
                    table[key] = [held, skeleton]  # type: ignore[list-item]
            return
        self.fuzzy.discard(skeleton)
        for key in set(deletions(skeleton)):
            held = table.get(key)
            if type(held) is list:
                held.remove(skeleton)
                if len(held) == 1:
                    table[key] = held[0]
            elif held == skeleton:
                del table[key]

    def fuzzy_neighbours(self, skeleton: bytes) -> list[bytes]:
        """Fuzzy skeletons that may be at edit distance one from `skeleton` (to be verified).

        The read's skeleton is a deletion of a longer one; a deletion of the read's skeleton is a
        deletion of one as long (a substitution) or is a shorter one. May repeat a skeleton.
        """
        read_deletions = [skeleton[:i] + skeleton[i + 1 :] for i in range(len(skeleton))]
        found: list[bytes] = []
        if len(skeleton) > MIN_FUZZY_LEN:
            found.extend(self.fuzzy.intersection(read_deletions))
        table = self.deletions
        read_deletions.append(skeleton)
        if table.keys().isdisjoint(read_deletions):  # the usual case, checked in C
            return found
        for held in map(table.get, read_deletions):
            if type(held) is list:
                found.extend(held)
            elif held is not None:
                found.append(held)  # type: ignore[arg-type]
        return found
