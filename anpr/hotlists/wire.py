"""Wire form of `anpr.hotlists.v1` (contract section 5): keys, and list/entry records as JSON.

Key `list_id` holds the list configuration, key `list_id/entry_id` an entry; a `None` value is a
tombstone. Ids cannot contain `/`, so a key splits unambiguously. Decoding checks every field and
raises `InvalidRecord` for anything malformed; it never raises anything else for bad bytes.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from anpr.countries import ISO_ALPHA2
from anpr.errors import InvalidRecord
from anpr.heldjson import dumps_held
from anpr.hotlists.model import (
    GROUP_WINDOW_DEFAULT_S,
    GROUP_WINDOW_MAX_S,
    MAX_PLATE_LEN,
    MIN_PATTERN_LITERALS,
    PAST_MATCH_HOURS_MAX,
    PRIORITY_MAX,
    PRIORITY_MIN,
    Entry,
    EntrySpec,
    ListConfig,
    MatchMode,
    pattern_literals,
)
from anpr.ids import ID_PATTERN, EntryId, ListId
from anpr.normalize import normalize_pattern, normalize_plate, normalize_zone

WIRE_VERSION = 1
_PATTERN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789?*")


def _normal_plate(plate: str) -> bool:
    """Whether `plate` is its own normal form (contract section 6, amended: letters of other
    scripts are kept, so `กข1234` is one). Latin plates, nearly all, take the quick check."""
    if plate.isascii():
        return plate.isalnum() and plate == plate.upper()
    return normalize_plate(plate) == plate


def _normal_pattern(pattern: str) -> bool:
    if pattern.isascii():
        return _PATTERN_CHARS.issuperset(pattern)
    return normalize_pattern(pattern) == pattern


# Reasons, actions and zone sets repeat across the entries of a list; sharing one object per
# distinct value keeps staging small. The cache stops growing at this size.
_SHARE_LIMIT = 65536


def list_key(list_id: str) -> str:
    return list_id


def entry_key(list_id: str, entry_id: str) -> str:
    return f"{list_id}/{entry_id}"


def split_key(key: str | bytes | None) -> tuple[str, str | None]:
    """(list_id, entry_id or None) of a record key; InvalidRecord when it is not a valid key."""
    if isinstance(key, bytes):
        try:
            key = key.decode()
        except UnicodeDecodeError:
            raise InvalidRecord("hotlist key is not UTF-8") from None
    if not isinstance(key, str):
        raise InvalidRecord("hotlist record without a key")
    list_id, sep, entry_id = key.partition("/")
    if ID_PATTERN.fullmatch(list_id) is None or (sep and ID_PATTERN.fullmatch(entry_id) is None):
        raise InvalidRecord(f"bad hotlist key {key[:300]!r}")
    return list_id, (entry_id if sep else None)


def config_fields(config: ListConfig) -> dict[str, Any]:
    return {
        "list_id": config.list_id,
        "name": config.name,
        "category": config.category,
        "priority": config.priority,
        "match": config.match.value,
        "covert": config.covert,
        "version": config.version,
        "epoch": config.epoch,
        "updated_at": config.updated_at_ms,
        "group_window_s": config.group_window_s,
        **(
            {} if config.past_match_hours is None else {"past_match_hours": config.past_match_hours}
        ),
    }


def entry_fields(spec: EntrySpec) -> dict[str, Any]:
    """The JSON fields of an entry (times as epoch ms), leaving out absent ones."""
    out: dict[str, Any] = {"entry_id": spec.entry_id}
    if spec.plate is not None:
        out["plate"] = spec.plate
    if spec.pattern is not None:
        out["pattern"] = spec.pattern
    if spec.country is not None:
        out["country"] = spec.country
    if spec.zones:
        out["zones"] = list(spec.zones)
    if spec.valid_from_ms is not None:
        out["valid_from"] = spec.valid_from_ms
    if spec.valid_until_ms is not None:
        out["valid_until"] = spec.valid_until_ms
    if spec.reason is not None:
        out["reason"] = spec.reason
    if spec.action is not None:
        out["action"] = spec.action
    if spec.priority is not None:
        out["priority"] = spec.priority
    return out


def encode_list_config(config: ListConfig) -> bytes:
    return orjson.dumps({"v": WIRE_VERSION, "kind": "list", **config_fields(config)})


def encode_entry(spec: EntrySpec, *, list_id: str, version: int) -> bytes:
    record = {"v": WIRE_VERSION, "kind": "entry", "list_id": list_id, **entry_fields(spec)}
    record["version"] = version
    return dumps_held(record)  # an upload holds every entry's record until it is published


# --- decoding ----------------------------------------------------------------------------------


def _load(value: object, kind: str) -> dict[str, Any]:
    if not isinstance(value, bytes | bytearray | memoryview | str):
        raise InvalidRecord(f"{kind} record value is not bytes")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidRecord(f"{kind} record is not valid JSON") from None
    if not isinstance(obj, dict):
        raise InvalidRecord(f"{kind} record is not a JSON object")
    if obj.get("v") != WIRE_VERSION or obj.get("kind") != kind:
        raise InvalidRecord(f"not a v{WIRE_VERSION} {kind} record")
    return obj


def _id(obj: dict[str, Any], field: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or ID_PATTERN.fullmatch(value) is None:
        raise InvalidRecord(f"bad {field}")
    return sys.intern(value) if field == "list_id" else value


def _int(obj: dict[str, Any], field: str, low: int | None = None, high: int | None = None) -> int:
    value = obj.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRecord(f"{field} must be an integer")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidRecord(f"{field} out of range")
    return value


def _opt_int(obj: dict[str, Any], field: str) -> int | None:
    return None if obj.get(field) is None else _int(obj, field)


def _str(obj: dict[str, Any], field: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str):
        raise InvalidRecord(f"{field} must be a string")
    return value


def decode_list_config(value: object) -> ListConfig:
    """A list configuration record; InvalidRecord when malformed."""
    obj = _load(value, "list")
    covert = obj.get("covert")
    if not isinstance(covert, bool):
        raise InvalidRecord("covert must be a boolean")
    try:
        match = MatchMode(_str(obj, "match"))
    except ValueError:
        raise InvalidRecord("bad match mode") from None
    version = _int(obj, "version", 1)
    # Records written before the field existed carry none: the default applies.
    window = GROUP_WINDOW_DEFAULT_S
    if obj.get("group_window_s") is not None:
        window = _int(obj, "group_window_s", 0, GROUP_WINDOW_MAX_S)
    return ListConfig(
        list_id=ListId(_id(obj, "list_id")),
        name=_str(obj, "name"),
        category=_str(obj, "category"),
        priority=_int(obj, "priority", PRIORITY_MIN, PRIORITY_MAX),
        match=match,
        covert=covert,
        version=version,
        epoch=_int(obj, "epoch", 1, version),
        updated_at_ms=_int(obj, "updated_at"),
        group_window_s=window,
        past_match_hours=None
        if obj.get("past_match_hours") is None
        else _int(obj, "past_match_hours", 1, PAST_MATCH_HOURS_MAX),
    )


class EntryDecoder:
    """Decodes entry records, sharing one object per distinct reason, action, zones and version."""

    def __init__(self) -> None:
        self._shared: dict[object, object] = {}

    def _share(self, value: Any) -> Any:
        shared = self._shared.get(value)
        if shared is not None:
            return shared
        if len(self._shared) < _SHARE_LIMIT:
            self._shared[value] = value
        return value

    def _text(self, value: object, field: str) -> str | None:
        if value is None:
            return None
        if type(value) is not str:
            raise InvalidRecord(f"{field} must be a string")
        return self._share(value)  # type: ignore[no-any-return]

    def decode(self, value: object, *, key: tuple[str, str] | None = None) -> Entry:
        """An entry record; InvalidRecord when malformed (plates must already be normalized).

        With `key` (list_id, entry_id) the record must carry those ids.
        """
        obj = _load(value, "entry")
        get = obj.get
        if key is None:
            list_id, entry_id = _id(obj, "list_id"), _id(obj, "entry_id")
        elif get("list_id") != key[0] or get("entry_id") != key[1]:
            raise InvalidRecord("entry record under another entry's key")
        else:
            list_id, entry_id = self._share(key[0]), key[1]
        plate, pattern = get("plate"), get("pattern")
        if plate is not None:
            if pattern is not None:
                raise InvalidRecord("an entry needs exactly one of plate or pattern")
            if not (
                type(plate) is str and 1 <= len(plate) <= MAX_PLATE_LEN and _normal_plate(plate)
            ):
                raise InvalidRecord("plate is not a normalized plate")
        elif not (
            type(pattern) is str
            and _normal_pattern(pattern)
            and pattern_literals(pattern) >= MIN_PATTERN_LITERALS
        ):
            raise InvalidRecord("an entry needs a plate or a normalized pattern")
        country = get("country")
        if country is not None and (type(country) is not str or country not in ISO_ALPHA2):
            raise InvalidRecord("country is not an ISO 3166-1 alpha-2 code")
        zones: tuple[str, ...] = ()
        listed = get("zones")
        if listed is not None:
            if type(listed) is not list or not all(type(z) is str for z in listed):
                raise InvalidRecord("zones must be an array of strings")
            zones = self._share(tuple(sorted({normalize_zone(z) for z in listed})))
        valid_from, valid_until = get("valid_from"), get("valid_until")
        if (valid_from is not None and type(valid_from) is not int) or (
            valid_until is not None and type(valid_until) is not int
        ):
            raise InvalidRecord("valid_from and valid_until must be integers")
        if valid_from is not None and valid_until is not None and valid_from >= valid_until:
            raise InvalidRecord("valid_from must be before valid_until")
        priority = get("priority")
        if priority is not None and (
            type(priority) is not int or not PRIORITY_MIN <= priority <= PRIORITY_MAX
        ):
            raise InvalidRecord("priority out of range")
        version = get("version")
        if type(version) is not int or version < 1:
            raise InvalidRecord("version must be a positive integer")
        return Entry(
            list_id=ListId(list_id),
            entry_id=EntryId(entry_id),
            version=self._share(version),
            plate=plate,
            pattern=pattern,
            country=country,
            zones=zones,
            valid_from_ms=valid_from,
            valid_until_ms=valid_until,
            reason=self._text(get("reason"), "reason"),
            action=self._text(get("action"), "action"),
            priority=priority,
        )


def decode_entry(value: object) -> Entry:
    """An entry record, without sharing (see `EntryDecoder` for bulk decoding)."""
    return EntryDecoder().decode(value)
