"""Webhook targets: outbound notification configuration, kept on the compacted registry topic.

An administrator configures targets on the API; each is a record keyed `webhook/<target_id>` on
`anpr.registry.v1`, so every process that folds the registry (`anpr.registry.RegistryView`) knows
them within seconds and with no restart, and the delivery workers (`anpr notify`) read them from
there. A target belongs to one list (and optionally one entry of it). The record carries the
signing secret: HMAC needs the secret itself, not a hash, so the registry topic must be readable
only by the project's processes (it already holds the token hashes).

Pure, except `WebhookWriter`, which publishes through the bus like `RegistryWriter`.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anpr.bus.base import Bus, Message
from anpr.clock import now_ms
from anpr.errors import AnprError, InvalidRecord

WEBHOOK_KIND = "webhook"
PUBLISH_TIMEOUT_S = 10.0
MIN_SECRET_LEN = 16
MAX_URL_LEN = 2000
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

IdStr = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]


def webhook_key(target_id: str) -> str:
    return f"{WEBHOOK_KIND}/{target_id}"


def delivery_id(hit_id: str, target_id: str) -> str:
    """The same (hit, target) always gives the same delivery id, so a receiver can dedupe."""
    key = "\x1f".join((hit_id, target_id)).encode()
    return "d-" + hashlib.sha256(key).hexdigest()[:32]


class UrlRefused(AnprError):
    """A target URL the URL policy does not allow."""


def is_loopback_host(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http_loopback: bool) -> str:
    """The URL if it may be a target: https always; http only to a loopback host and only
    when the setting allows it (tests, a local relay). Raises `UrlRefused` saying why."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        # Spaces and control characters (a NUL, a CR/LF that would split the request line):
        # urlsplit takes them, no request could carry them.
        raise UrlRefused("must not hold spaces or control characters (percent-encode them)")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
        if "[" in parts.netloc and host is not None:
            ipaddress.IPv6Address(host)  # urlsplit lets `[v1.x]` through
    except ValueError as exc:
        raise UrlRefused(f"not a valid URL: {exc}") from exc
    if not host:
        raise UrlRefused("has no host")
    # Here, not at the top: every process folds the registry, only the API and notify check
    # URLs, and the gateway and matcher need not load an HTTP client.
    import httpx

    try:
        # What the sender's client makes of the host (IDNA 2008): urlsplit takes host names
        # it cannot encode (an emoji, a fullwidth letter, broken punycode).
        httpx.URL(url).host  # noqa: B018 - raises on a host it cannot send to
    except (httpx.InvalidURL, ValueError) as exc:  # idna's errors are ValueErrors
        raise UrlRefused(f"has a host name that cannot be sent to: {exc}") from exc
    if parts.username or parts.password:
        raise UrlRefused("must not carry credentials; the target's secret signs every request")
    if parts.fragment:
        raise UrlRefused("must not have a #fragment")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_http_loopback and is_loopback_host(host):
        return url
    if parts.scheme == "http":
        raise UrlRefused(
            "must be https (http only to a loopback host with "
            "ANPR_WEBHOOK_ALLOW_HTTP_LOOPBACK=true)"
        )
    raise UrlRefused("must be an https URL")


class WebhookSpec(BaseModel):
    """A target as stored on the registry topic (the API validates what admins send)."""

    model_config = ConfigDict(extra="ignore")

    target_id: IdStr
    list_id: IdStr
    entry_id: IdStr | None = None
    url: str = Field(min_length=1, max_length=MAX_URL_LEN)
    secret: str = Field(min_length=MIN_SECRET_LEN, max_length=512)
    min_priority: int = Field(default=5, ge=1, le=5)
    covert_allowed: bool = False
    include_images: bool = False
    include_test: bool = False
    description: str = Field(default="", max_length=500)
    created_at: int = 0
    updated_at: int = 0


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A target as every process holds it. `min_priority` is the least urgent priority still
    sent: priority 1 is the most urgent, so a hit goes out when `priority <= min_priority`."""

    target_id: str
    list_id: str
    entry_id: str | None
    url: str
    secret: str
    min_priority: int
    covert_allowed: bool
    include_images: bool
    include_test: bool
    description: str
    created_at: int
    updated_at: int

    @classmethod
    def from_spec(cls, spec: WebhookSpec) -> WebhookTarget:
        return cls(**spec.model_dump())

    @property
    def secret_hint(self) -> str:
        """What may be shown of the secret after creation: its last four characters."""
        return "…" + self.secret[-4:]


def decode_webhook(target_id: str, value: bytes) -> WebhookTarget:
    """The target of a registry record; `InvalidRecord` if it is not one."""
    try:
        data = orjson.loads(value)
        spec = WebhookSpec.model_validate(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(f"bad webhook record {target_id!r}: {exc}") from exc
    except ValidationError as exc:
        # The fields and why, never their values (pydantic's message quotes them): the secret,
        # or a token in the URL, would be logged by every process that folds the registry.
        errors = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise InvalidRecord(f"bad webhook record {target_id!r}: {errors}") from None
    if spec.target_id != target_id:
        raise InvalidRecord(f"webhook record key {target_id!r} names {spec.target_id!r}")
    return WebhookTarget.from_spec(spec)


def encode_webhook(target: WebhookTarget) -> bytes:
    record: dict[str, Any] = {
        "v": 1,
        "kind": WEBHOOK_KIND,
        "target_id": target.target_id,
        "list_id": target.list_id,
        "entry_id": target.entry_id,
        "url": target.url,
        "secret": target.secret,
        "min_priority": target.min_priority,
        "covert_allowed": target.covert_allowed,
        "include_images": target.include_images,
        "include_test": target.include_test,
        "description": target.description,
        "created_at": target.created_at,
        "updated_at": target.updated_at,
    }
    return orjson.dumps(record)


class WebhookWriter:
    """Publishes target changes on the registry topic (the API's one write path for them)."""

    def __init__(self, bus: Bus, registry_topic: str) -> None:
        self._bus = bus
        self._topic = registry_topic

    async def put(self, target: WebhookTarget) -> None:
        value = encode_webhook(target)
        await self._publish(target.target_id, value)

    async def delete(self, target_id: str) -> None:
        await self._publish(target_id, None)

    async def _publish(self, target_id: str, value: bytes | None) -> None:
        message = Message(self._topic, webhook_key(target_id).encode(), value)
        await self._bus.publish([message], timeout_s=PUBLISH_TIMEOUT_S)


def stamp(target: WebhookTarget, *, created: bool, at: int | None = None) -> WebhookTarget:
    """The target with its times set for a write at `at` (now by default)."""
    now = now_ms() if at is None else at
    if created:
        return replace(target, created_at=now, updated_at=now)
    return replace(target, updated_at=now)
