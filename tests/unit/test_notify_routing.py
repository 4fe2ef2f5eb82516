"""Which targets get a hit (list, entry, priority, covert, test), the payload, the URL policy,
the delivery id, and the webhook records on the registry topic."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from anpr.errors import InvalidRecord
from anpr.registry import RegistryView
from anpr.webhooks import (
    UrlRefused,
    WebhookTarget,
    check_url,
    decode_webhook,
    delivery_id,
    encode_webhook,
    webhook_key,
)
from notify.routing import HitFields, Skip, payload, route
from tests.unit.api_fixtures import make_hit


def target(target_id: str = "t1", **overrides: Any) -> WebhookTarget:
    values: dict[str, Any] = {
        "target_id": target_id,
        "list_id": "stolen",
        "entry_id": None,
        "url": "https://dispatch.example/hook",
        "secret": "0123456789abcdef-secret",
        "min_priority": 5,
        "covert_allowed": False,
        "include_images": False,
        "include_test": False,
        "description": "",
        "created_at": 1,
        "updated_at": 1,
    }
    values.update(overrides)
    return WebhookTarget(**values)


def fields(**overrides: Any) -> HitFields:
    return HitFields.model_validate(make_hit(**overrides))


@pytest.mark.parametrize(
    ("case", "hit", "tgt", "delivered", "skip"),
    [
        ("same list", {}, {}, True, None),
        ("other list: not a target at all", {"list_id": "other"}, {}, False, None),
        ("entry target, same entry", {"entry_id": "e-1"}, {"entry_id": "e-1"}, True, None),
        ("entry target, other entry", {"entry_id": "e-2"}, {"entry_id": "e-1"}, False, Skip.ENTRY),
        ("priority more urgent than the minimum", {"priority": 1}, {"min_priority": 2}, True, None),
        ("priority equal to the minimum", {"priority": 2}, {"min_priority": 2}, True, None),
        ("priority less urgent", {"priority": 3}, {"min_priority": 2}, False, Skip.PRIORITY),
        ("covert hit, covert not allowed", {"covert": True}, {}, False, Skip.COVERT),
        ("covert hit, covert allowed", {"covert": True}, {"covert_allowed": True}, True, None),
        ("covert beats priority", {"covert": True, "priority": 5}, {"min_priority": 1},
         False, Skip.COVERT),
        ("test hit, target without tests", {"test": True}, {}, False, Skip.TEST),
        ("test hit, target takes tests", {"test": True}, {"include_test": True}, True, None),
    ],
)  # fmt: skip
def test_route(
    case: str, hit: dict[str, Any], tgt: dict[str, Any], delivered: bool, skip: Skip | None
) -> None:
    routed = route(fields(**hit), [target(**tgt)])
    assert bool(routed.targets) is delivered, case
    assert dict(routed.skipped) == ({skip: 1} if skip else {}), case


def test_route_picks_each_matching_target_once_in_id_order() -> None:
    targets = [
        target("t3"),
        target("t1", covert_allowed=True),
        target("t2", list_id="other"),
        target("t0", min_priority=1),
    ]
    routed = route(fields(covert=True, priority=2), targets)
    assert [t.target_id for t in routed.targets] == ["t1"]
    assert routed.skipped == {Skip.COVERT: 2}


def test_payload_is_stable_and_drops_image_bytes_unless_asked() -> None:
    hit = make_hit()
    hit["read"]["images"] = {"plate_jpeg_b64": "AAAA", "plate_url": "https://cdn.example/p.jpg"}
    did, body = payload(hit, target())
    assert did == delivery_id(hit["hit_id"], "t1")
    assert payload(hit, target()) == (did, body)
    sent = orjson.loads(body)
    assert sent["event"] == "hit"
    assert sent["delivery_id"] == did
    assert sent["target_id"] == "t1"
    assert sent["hit"]["hit_id"] == hit["hit_id"]
    assert sent["hit"]["read"]["images"] == {"plate_url": "https://cdn.example/p.jpg"}
    assert hit["read"]["images"]["plate_jpeg_b64"] == "AAAA", "the hit itself is untouched"
    _, with_images = payload(hit, target(include_images=True))
    assert orjson.loads(with_images)["hit"]["read"]["images"]["plate_jpeg_b64"] == "AAAA"


def test_delivery_id_is_deterministic_per_hit_and_target() -> None:
    assert delivery_id("h-1", "t1") == delivery_id("h-1", "t1")
    ids = {delivery_id(h, t) for h in ("h-1", "h-2") for t in ("t1", "t2")}
    assert len(ids) == 4
    assert delivery_id("h-1", "t1").startswith("d-")


@pytest.mark.parametrize(
    ("case", "url", "allow_http", "ok"),
    [
        ("https", "https://dispatch.example/hook", False, True),
        ("https with port", "https://dispatch.example:8443/hook?x=1", False, True),
        ("http refused by default", "http://dispatch.example/hook", False, False),
        ("http loopback refused by default", "http://127.0.0.1:8080/hook", False, False),
        ("http loopback when allowed", "http://127.0.0.1:8080/hook", True, True),
        ("http localhost when allowed", "http://localhost:8080/hook", True, True),
        ("http ipv6 loopback when allowed", "http://[::1]:8080/hook", True, True),
        ("http remote never", "http://dispatch.example/hook", True, False),
        ("http private address is not loopback", "http://10.0.0.5/hook", True, False),
        ("other scheme", "ftp://dispatch.example/hook", True, False),
        ("no host", "https:///hook", False, False),
        ("credentials in the url", "https://user:pw@dispatch.example/hook", False, False),
        ("bad port", "https://dispatch.example:99999/hook", False, False),
        ("fragment", "https://dispatch.example/hook#x", False, False),
        ("nul in the host", "https://\u0000/", False, False),
        ("space in the host", "https://a b/", False, False),
        ("line break splitting the request", "https://a/\r\nX: y", False, False),
        ("leading space", " https://dispatch.example/hook", False, False),
        ("not an ipv6 literal", "https://[v1.x]/", False, False),
        ("ipv6 literal", "https://[2001:db8::1]:8443/hook", False, True),
        ("international host name", "https://exämple.org/hook", False, True),
        # Host names urlsplit takes and httpx cannot send (IDNA 2008): refused when configured,
        # not a crash at every attempt.
        ("emoji host name", "https://i\u2764\ufe0f.ws/hook", False, False),
        ("snowman host name", "https://\u2603.net/hook", False, False),
        ("fullwidth host name", "https://\uff41.example/hook", False, False),
        ("malformed punycode", "https://xn--abc.example/hook", False, False),
        ("an emoji host name as punycode", "https://xn--n3h.net/hook", False, False),
    ],
)
def test_url_policy(case: str, url: str, allow_http: bool, ok: bool) -> None:
    if ok:
        assert check_url(url, allow_http_loopback=allow_http) == url, case
    else:
        with pytest.raises(UrlRefused):
            check_url(url, allow_http_loopback=allow_http)


def test_a_bad_webhook_record_is_refused_without_quoting_its_secret() -> None:
    # The error is logged at ERROR by every process that folds the registry: pydantic's
    # message quotes each bad field's value, here the secret.
    record = orjson.loads(encode_webhook(target()))
    value = orjson.dumps({**record, "secret": "too-short-key", "min_priority": 9})
    with pytest.raises(InvalidRecord) as refused:
        RegistryView().apply(webhook_key("t1").encode(), value)
    message = str(refused.value)
    assert "secret" in message and "min_priority" in message, "it names the fields"
    assert "too-short-key" not in message


def test_registry_folds_webhook_records_and_tombstones() -> None:
    view = RegistryView()
    tgt = target("t9", entry_id="e-3", min_priority=2)
    view.apply(webhook_key("t9").encode(), encode_webhook(tgt))
    assert view.webhooks == {"t9": tgt}
    view.apply(webhook_key("t9").encode(), None)
    assert view.webhooks == {}


@pytest.mark.parametrize(
    ("case", "key", "value"),
    [
        ("not json", "t1", b"{"),
        ("short secret", "t1", encode_webhook(target()).replace(b"0123456789abcdef-secret", b"x")),
        ("key names another target", "t2", encode_webhook(target("t1"))),
        ("priority out of range", "t1", encode_webhook(target(min_priority=9))),
    ],
)
def test_bad_webhook_records_are_invalid(case: str, key: str, value: bytes) -> None:
    with pytest.raises(InvalidRecord):
        decode_webhook(key, value)
    view = RegistryView()
    with pytest.raises(InvalidRecord):
        view.apply(webhook_key(key).encode(), value)
    assert view.webhooks == {}, case
