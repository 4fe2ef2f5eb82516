"""Which hotlist versions each matcher has applied, folded from the matcher-status topic. Pure.

The record this expects (compacted topic `<prefix>matcher-status.v1`, key = matcher_id, a
tombstone when a matcher is retired):

    {"v": 1, "kind": "matcher_status", "matcher_id": "m-1",
     "applied": {"<list_id>": <version>, ...}, "at": <epoch ms>}
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

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
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidRecord(f"matcher status is not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("kind") != "matcher_status":
            raise InvalidRecord("not a matcher_status record")
        applied = data.get("applied")
        at = data.get("at")
        if not isinstance(applied, dict) or not isinstance(at, int):
            raise InvalidRecord("matcher status needs `applied` and `at`")
        versions = {
            str(list_id): version
            for list_id, version in applied.items()
            if isinstance(version, int) and not isinstance(version, bool)
        }
        self.matchers[matcher_id] = MatcherStatus(matcher_id, versions, at)

    def applied(self, list_id: str) -> list[tuple[MatcherStatus, int | None]]:
        """Every known matcher with the version of `list_id` it has applied (None: not yet)."""
        return [
            (status, status.applied.get(list_id)) for _, status in sorted(self.matchers.items())
        ]
