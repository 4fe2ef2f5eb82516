"""Which hotlist versions each matcher has applied, folded from the matcher-status topic. Pure.

The record this expects (compacted topic `<prefix>matcher-status.v1`, key = matcher_id, a
tombstone when a matcher is retired):

    {"v": 1, "kind": "matcher_status", "matcher_id": "m-1",
     "applied": {"<list_id>": <version>, ...}, "at": <epoch ms>}
"""

from __future__ import annotations

from dataclasses import dataclass

from anpr.codecs import MATCHER_STATUS
from anpr.errors import InvalidRecord


@dataclass(frozen=True, slots=True)
class MatcherStatus:
    matcher_id: str
    applied: dict[str, int]
    at: int


class MatcherStatusBook:
    def __init__(self) -> None:
        self.matchers: dict[str, MatcherStatus] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            raise InvalidRecord("matcher status without a key")
        matcher_id = key.decode("utf-8", "replace")
        if value is None:
            self.matchers.pop(matcher_id, None)
            return
        data = MATCHER_STATUS.decode(value)
        if data["kind"] != "matcher_status":
            raise InvalidRecord("matcher status: not a matcher_status record")
        self.matchers[matcher_id] = MatcherStatus(matcher_id, dict(data["applied"]), data["at"])

    def applied(self, list_id: str) -> list[tuple[MatcherStatus, int | None]]:
        """Every known matcher with the version of `list_id` it has applied (None: not yet)."""
        return [
            (status, status.applied.get(list_id)) for _, status in sorted(self.matchers.items())
        ]
