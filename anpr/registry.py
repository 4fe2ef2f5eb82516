"""The registry of integrators, cameras and tokens, as records on the compacted registry topic.

`RegistryView` is the pure fold of that topic that every process keeps in memory;
`RegistryWriter` is the one code path that publishes changes (used by `anpr admin` and the API).
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from anpr.auth import Principal, Role, hash_token, new_token
from anpr.bus.base import Bus, Message
from anpr.clock import now_ms
from anpr.errors import InvalidRecord
from anpr.formats import FormatMapping, describe, format_key, validate_mapping
from anpr.hotlists.model import MAX_ZONE_LEN
from anpr.ids import ID_PATTERN
from anpr.normalize import normalize_zone
from anpr.webhooks import WEBHOOK_KIND, WebhookTarget, decode_webhook

log = logging.getLogger(__name__)

IdStr = Annotated[str, Field(pattern=f"^{ID_PATTERN.pattern}$", min_length=1, max_length=128)]
PUBLISH_TIMEOUT_S = 10.0


class CameraState(StrEnum):
    COMMISSIONING = "commissioning"
    LIVE = "live"


class GeoPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CameraSpec(BaseModel):
    """A camera registration as an administrator submits it (contract section 2)."""

    model_config = ConfigDict(extra="ignore")

    camera_id: IdStr
    integrator_id: IdStr
    name: str = Field(min_length=1, max_length=200)
    # Trimmed, as a hotlist entry's zones are (`anpr.hotlists.parse.check_zones`), and as
    # long: the same text on both sides must be the same zone (compared `normalize_zone`d).
    zones: list[
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ZONE_LEN)
        ]
    ] = Field(default_factory=list, max_length=100)
    location: GeoPoint | None = None
    # strict: a boolean or a string is refused, not read as a number (true was 1 read an hour).
    expected_reads_per_hour: float | None = Field(
        default=None, ge=0, le=1e6, allow_inf_nan=False, strict=True
    )
    timezone: str = "UTC"
    external_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20
    )
    state: CameraState = CameraState.LIVE

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Europe/Brussels") from exc
        return value


@dataclass(frozen=True, slots=True)
class Camera:
    camera_id: str
    integrator_id: str
    name: str
    zones: frozenset[str]
    timezone: str
    state: CameraState
    expected_reads_per_hour: float | None
    external_ids: tuple[str, ...]
    record: dict[str, Any] = field(compare=False, repr=False)
    # When `state` began (the writer's clock) and the state before it: None in records
    # written before they were kept, and `state_before` None for a camera created in `state`.
    state_since: int | None = None
    state_before: CameraState | None = None
    registered_at: int | None = None  # None in records written before it was kept

    def state_at(self, at_ms: int) -> CameraState:
        """The camera's state at `at_ms` (a read's `received_at`): a read received before the
        last change of state, and handled after it, belongs to the state it was received in."""
        since, before = self.state_since, self.state_before
        if since is not None and before is not None and at_ms < since:
            return before
        return self.state


# The fields of a camera record the writer sets, not the administrator: not part of its spec.
WRITER_FIELDS = ("v", "kind", "updated_at", "registered_at", "state_since", "state_before")


def lifecycle_fields(state: CameraState, previous: Camera | None, now: int) -> dict[str, int | str]:
    """The `registered_at`, `state_since` and `state_before` of a camera record written with
    `state` over `previous` (None: a new camera): the registration kept for good, the state's
    start kept while the state stays and set anew, with the state before, when it changes.
    A record compacted to the latest one still says when the camera came and changed."""
    if previous is None:
        return {"registered_at": now, "state_since": now}
    kept: dict[str, int | str] = {}
    if previous.registered_at is not None:
        kept["registered_at"] = previous.registered_at
    if previous.state is not state:
        return {**kept, "state_since": now, "state_before": previous.state.value}
    if previous.state_since is not None:
        kept["state_since"] = previous.state_since
    if previous.state_before is not None:
        kept["state_before"] = previous.state_before.value
    return kept


@dataclass(frozen=True, slots=True)
class Integrator:
    integrator_id: str
    name: str


def camera_key(camera_id: str) -> str:
    return f"camera/{camera_id}"


def integrator_key(integrator_id: str) -> str:
    return f"integrator/{integrator_id}"


def token_key(token_hash: str) -> str:
    return f"token/{token_hash}"


TOKEN_ID_LEN = 16


def token_id(token_hash: str) -> str:
    """The public id of a token: the first 64 bits of its hash, shown in listings and the
    audit log and used to revoke it (the token itself is never shown again)."""
    return token_hash[:TOKEN_ID_LEN]


def default_token_name(role: Role, token_hash: str) -> str:
    """The name of a token made without one (`anpr admin token`): unique, and telling the
    audit log's reader which token acted."""
    return f"{role.value}-{token_id(token_hash)}"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    token_id: str
    token_hash: str
    role: Role
    name: str
    integrator_id: str | None
    created_at: int | None


class RegistryView:
    """The registry as every process sees it: folded from the compacted topic, in memory."""

    def __init__(self) -> None:
        self.cameras: dict[str, Camera] = {}
        self.integrators: dict[str, Integrator] = {}
        self.tokens: dict[str, Principal] = {}
        self.formats: dict[str, FormatMapping] = {}  # declarative vendor mappings, by name
        # Outbound notification targets (`anpr.webhooks`), by target_id.
        self.webhooks: dict[str, WebhookTarget] = {}
        self.token_created: dict[str, int] = {}
        # external id -> the cameras claiming it; only an unambiguous claim resolves (a second
        # camera registering a device's id must not take over its pushes).
        self._external: dict[str, set[str]] = {}
        self.version = 0

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Apply one record; malformed records raise `InvalidRecord` and change nothing."""
        if key is None:
            raise InvalidRecord("registry record without a key")
        kind, _, ident = key.decode("utf-8", "replace").partition("/")
        self.version += 1
        if value is None:
            self._delete(kind, ident)
            return
        if kind == WEBHOOK_KIND:
            self.webhooks[ident] = decode_webhook(ident, value)
            return
        try:
            data = orjson.loads(value)
            if not isinstance(data, dict):
                raise TypeError(f"a JSON object expected, not {type(data).__name__}")
            if kind == "camera":
                self._put_camera(data)
            elif kind == "integrator":
                self.integrators[ident] = Integrator(ident, str(data.get("name", "")))
            elif kind == "token":
                integrator = data.get("integrator_id")
                created = data.get("created_at")
                if isinstance(created, int):
                    self.token_created[ident] = created
                self.tokens[ident] = Principal(
                    role=Role(data["role"]),
                    name=str(data.get("name", "")),
                    token_hash=ident,
                    integrator_id=str(integrator) if integrator else None,
                )
            elif kind == "format":
                mapping = validate_mapping(data.get("mapping"), name=ident)
                if not isinstance(mapping, FormatMapping):
                    raise InvalidRecord(f"bad mapping {ident!r}: {mapping[:3]}")
                self.formats[ident] = mapping
            else:
                raise InvalidRecord(f"unknown registry record kind {kind!r}")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            # A token's key is its hash, the registry's look-up key: the error (logged, and
            # copied to the dead-letter topic with the record's offset) names only the kind.
            where = "token/<hash>" if kind == "token" else repr(key)
            raise InvalidRecord(f"bad registry record {where}: {exc}") from exc

    def _put_camera(self, data: dict[str, Any]) -> None:
        zones = data.get("zones")
        if isinstance(zones, list) and any(isinstance(z, str) and not z.strip() for z in zones):
            # Written before blank zone names were refused: the camera stays, without them.
            data = {**data, "zones": [z for z in zones if not isinstance(z, str) or z.strip()]}
        spec = CameraSpec.model_validate(data)
        old = self.cameras.get(spec.camera_id)
        if old is not None:
            self._release_external(old)
        self.cameras[spec.camera_id] = Camera(
            camera_id=spec.camera_id,
            integrator_id=spec.integrator_id,
            name=spec.name,
            zones=frozenset(normalize_zone(z) for z in spec.zones),
            timezone=spec.timezone,
            state=spec.state,
            expected_reads_per_hour=spec.expected_reads_per_hour,
            external_ids=tuple(spec.external_ids),
            record=data,
            state_since=_int_or_none(data.get("state_since")),
            state_before=_state_or_none(data.get("state_before")),
            registered_at=_int_or_none(data.get("registered_at")),
        )
        for ext in spec.external_ids:
            self._external.setdefault(ext, set()).add(spec.camera_id)

    def _release_external(self, camera: Camera) -> None:
        for ext in camera.external_ids:
            claims = self._external.get(ext)
            if claims is not None:
                claims.discard(camera.camera_id)
                if not claims:
                    del self._external[ext]

    def _delete(self, kind: str, ident: str) -> None:
        if kind == "camera":
            old = self.cameras.pop(ident, None)
            if old is not None:
                self._release_external(old)
        elif kind == "integrator":
            self.integrators.pop(ident, None)
        elif kind == "token":
            self.tokens.pop(ident, None)
            self.token_created.pop(ident, None)
        elif kind == WEBHOOK_KIND:
            self.webhooks.pop(ident, None)
        elif kind == "format":
            self.formats.pop(ident, None)

    def principal(self, token: str) -> Principal | None:
        return self.tokens.get(hash_token(token))

    def camera_by_external_id(self, external_id: str) -> Camera | None:
        """The one camera claiming `external_id`; None when none or several do."""
        claims = self._external.get(external_id)
        if not claims or len(claims) != 1:
            return None
        return self.cameras.get(next(iter(claims)))

    def external_id_claims(self, external_id: str) -> frozenset[str]:
        return frozenset(self._external.get(external_id, ()))

    def token_infos(self) -> list[TokenInfo]:
        return sorted(
            (
                TokenInfo(
                    token_id=token_id(digest),
                    token_hash=digest,
                    role=p.role,
                    name=p.name,
                    integrator_id=p.integrator_id,
                    created_at=self.token_created.get(digest),
                )
                for digest, p in self.tokens.items()
            ),
            key=lambda t: (t.created_at or 0, t.token_id),
        )

    def tokens_by_id(self, ident: str) -> list[str]:
        """Hashes of the tokens whose id is `ident` (normally one)."""
        if len(ident) != TOKEN_ID_LEN:
            return []
        return [digest for digest in self.tokens if digest.startswith(ident)]


def _encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps({"v": 1, **record})


class RegistryWriter:
    """Publishes registry changes; the API and `anpr admin` both go through here."""

    def __init__(self, bus: Bus, topic: str) -> None:
        self._bus = bus
        self._topic = topic

    async def _publish(self, key: str, value: bytes | None) -> None:
        await self._bus.publish(
            [Message(self._topic, key.encode(), value)], timeout_s=PUBLISH_TIMEOUT_S
        )

    async def create_integrator(self, integrator_id: str, name: str) -> str:
        """Register an integrator and return its first token (shown once)."""
        token = new_token()
        now = now_ms()
        await self._publish(
            integrator_key(integrator_id),
            _encode(
                {
                    "kind": "integrator",
                    "integrator_id": integrator_id,
                    "name": name,
                    "created_at": now,
                }
            ),
        )
        await self._publish(
            token_key(hash_token(token)),
            _encode(
                {
                    "kind": "token",
                    "role": Role.INTEGRATOR.value,
                    "name": name,
                    "integrator_id": integrator_id,
                    "created_at": now,
                }
            ),
        )
        return token

    async def create_token(self, role: Role, name: str | None) -> str:
        """A new token for `role` (shown once); None for `name`: `default_token_name`."""
        token = new_token()
        if name is None:
            name = default_token_name(role, hash_token(token))
        await self._publish(
            token_key(hash_token(token)),
            _encode({"kind": "token", "role": role.value, "name": name, "created_at": now_ms()}),
        )
        return token

    async def revoke_token(self, token_hash: str) -> None:
        await self._publish(token_key(token_hash), None)

    async def rotate_integrator_token(
        self, integrator_id: str, name: str, old_hashes: list[str]
    ) -> str:
        """A new token for the integrator, published before its old tokens are revoked (a
        failure in between leaves both valid, never none)."""
        token = new_token()
        await self._publish(
            token_key(hash_token(token)),
            _encode(
                {
                    "kind": "token",
                    "role": Role.INTEGRATOR.value,
                    "name": name,
                    "integrator_id": integrator_id,
                    "created_at": now_ms(),
                }
            ),
        )
        for digest in old_hashes:
            await self.revoke_token(digest)
        return token

    async def put_camera(self, spec: CameraSpec, previous: Camera | None = None) -> dict[str, Any]:
        """Publish `spec`; `previous`: the camera as registered now (None: a new one), whose
        state's start is kept unless `spec` changes the state."""
        now = now_ms()
        record = {
            "kind": "camera",
            **spec.model_dump(mode="json"),
            **lifecycle_fields(spec.state, previous, now),
            "updated_at": now,
        }
        await self._publish(camera_key(spec.camera_id), _encode(record))
        return record

    async def delete_camera(self, camera_id: str) -> None:
        await self._publish(camera_key(camera_id), None)

    async def put_format(self, mapping: FormatMapping) -> dict[str, Any]:
        """Publish a checked mapping (`anpr.formats.validate_mapping`) under `format/<name>`."""
        name = mapping.name or ""
        record = {"kind": "format", "name": name, "mapping": describe(mapping)}
        await self._publish(format_key(name), _encode({**record, "updated_at": now_ms()}))
        return record

    async def delete_format(self, name: str) -> None:
        await self._publish(format_key(name), None)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _state_or_none(value: object) -> CameraState | None:
    try:
        return CameraState(value) if isinstance(value, str) else None
    except ValueError:
        return None


def validate_camera(data: object) -> CameraSpec | list[dict[str, str]]:
    """A camera spec, or the field errors as `{"field", "message"}`."""
    try:
        return CameraSpec.model_validate(data)
    except ValidationError as exc:
        return [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
            for err in exc.errors()
        ]
