"""Whatever a camera sends, an adapter answers with an AdapterResult or an AdapterError, fast.

Random bytes, truncated captures, wrong JSON types, broken multipart and XML bombs must never
raise anything else, and every read that does come out must be canonical in shape.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anpr.countries import ISO_ALPHA2
from anpr.reads import ReadLimits, validate_read
from ingest.adapters import ADAPTERS, AdapterError, AdapterResult, PayloadTooLarge
from ingest.adapters.capture import CaptureError, parse_request
from ingest.adapters.convert import convert
from ingest.adapters.multipart import MultipartError, parse_multipart

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vendor"
FORMATS = sorted(ADAPTERS)
CONTENT_TYPES = [
    None,
    "application/json",
    "text/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=boundary",
    "multipart/mixed; boundary=x",
    "multipart/form-data",
    "image/jpeg",
]
LIMITS = ReadLimits(now_ms=2**62, retention_ms=2**62)
FAST = settings(
    max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow], database=None
)


def fixture_bodies() -> list[tuple[str, bytes, str | None]]:
    """(format, body, content type) of every fixture, captured requests split open."""
    out = []
    for path in sorted(FIXTURES.iterdir()):
        fmt = path.name.split("_", 1)[0]
        if fmt not in ADAPTERS:
            continue
        data = path.read_bytes()
        if path.suffix == ".http":
            request = parse_request(data)
            out.append((fmt, request.body, request.content_type))
        else:
            out.append((fmt, data, None))
    return out


BODIES = fixture_bodies()


def check(fmt: str, body: bytes, content_type: str | None, camera_tz: str | None = None) -> None:
    adapter = ADAPTERS[fmt]
    try:
        result = adapter.parse(body, content_type, camera_tz=camera_tz)
    except AdapterError as exc:
        assert exc.field and exc.message
        return
    assert isinstance(result, AdapterResult)
    assert len(result.reads) == len(result.vendor_ids)
    for problem in [*result.problems, *result.notices]:
        assert problem["field"] and problem["message"]
    for read in result.reads:
        assert isinstance(read["plate"], str) and read["plate"].strip()
        assert isinstance(read["captured_at"], str)
        assert 0 <= read.get("confidence", 0) <= 1
        assert read.get("country", "BE") in ISO_ALPHA2
        assert len(read.get("candidates", [])) <= 10
        assert read.get("direction", "unknown") in ("approaching", "receding", "unknown")
        outcome = validate_read(
            {**read, "camera_id": "cam-1"}, integrator_id="i", received_at_ms=0, limits=LIMITS
        )
        if isinstance(outcome, list):  # only the plate may be judged differently by the gateway
            assert {e.field for e in outcome} <= {"plate", "candidates"}, outcome
    orjson.dumps(result.reads)  # JSON-serialisable as is


@pytest.mark.parametrize("fmt", FORMATS)
@FAST
@given(body=st.binary(max_size=2048), content_type=st.sampled_from(CONTENT_TYPES))
def test_random_bytes(fmt: str, body: bytes, content_type: str | None) -> None:
    check(fmt, body, content_type)


@pytest.mark.parametrize(
    ("fmt", "body", "content_type"), BODIES, ids=[str(i) for i in range(len(BODIES))]
)
@FAST
@given(data=st.data())
def test_truncated_and_corrupted_fixtures(
    fmt: str, body: bytes, content_type: str | None, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(body)))
    check(fmt, body[:cut], content_type)
    spot = data.draw(st.integers(0, max(len(body) - 1, 0)))
    flipped = body[:spot] + data.draw(st.binary(min_size=1, max_size=4)) + body[spot + 1 :]
    check(fmt, flipped, content_type)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def mutate(node: Any, path: list[int], value: Any) -> Any:
    """Replace the node a path of child positions leads to (wherever it ends) by `value`."""
    if not path or not isinstance(node, dict | list) or not node:
        return value
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    key = keys[path[0] % len(keys)]
    node[key] = mutate(node[key], path[1:], value)
    return node


JSON_FIXTURES = [(fmt, body) for fmt, body, _ in BODIES if body.lstrip()[:1] == b"{"]


@pytest.mark.parametrize(
    ("fmt", "body"), JSON_FIXTURES, ids=[str(i) for i in range(len(JSON_FIXTURES))]
)
@FAST
@given(path=st.lists(st.integers(0, 50), max_size=5), value=JSON_VALUES)
def test_wrong_json_types(fmt: str, body: bytes, path: list[int], value: Any) -> None:
    mutated = mutate(orjson.loads(body), path, value)
    check(fmt, orjson.dumps(mutated), "application/json")


@FAST
@given(
    boundary=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    parts=st.lists(st.binary(max_size=64), max_size=5),
    cut=st.integers(0, 400),
    newline=st.sampled_from([b"\r\n", b"\n"]),
)
def test_multipart_never_raises_other_errors(
    boundary: str, parts: list[bytes], cut: int, newline: bytes
) -> None:
    delimiter = b"--" + boundary.encode()
    body = b"".join(delimiter + newline + b"X-A: 1" + newline * 2 + p + newline for p in parts)
    body = (body + delimiter + b"--" + newline)[:cut]
    with contextlib.suppress(MultipartError):
        parse_multipart(body, boundary)
    for fmt in FORMATS:
        check(fmt, body, f"multipart/form-data; boundary={boundary}")


@FAST
@given(
    data=st.binary(max_size=600),
    prefix=st.sampled_from([b"POST / HTTP/1.1\r\n", b"GET /x?camera_id=a HTTP/1.0\n", b""]),
)
def test_captures_never_raise_other_errors(data: bytes, prefix: bytes) -> None:
    with contextlib.suppress(CaptureError):
        parse_request(prefix + data)
    result = convert("openalpr", prefix + b"Transfer-Encoding: chunked\r\n\r\n" + data)
    assert isinstance(result.problems, list)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<EventNotificationAlert><eventType>ANPR</eventType><ANPR><licensePlate>&lol9;</licensePlate></ANPR></EventNotificationAlert>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Plate [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Plate><PlateRead>&xxe;</PlateRead><Timestamp>2016-08-29T08:42:45Z</Timestamp></Plate>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE EventNotificationAlert SYSTEM "http://attacker.example/evil.dtd">
<EventNotificationAlert><eventType>ANPR</eventType></EventNotificationAlert>"""
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "'
    + b"A" * 50_000
    + b'">]><Plate>'
    + b"&x;" * 5000
    + b"</Plate>"
)
DEEP = b"<EventNotificationAlert>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</EventNotificationAlert>"


XML_FORMATS = ["hikvision", "genetec", "tattile", "milestone", "survision"]


@pytest.mark.parametrize("fmt", XML_FORMATS)
@pytest.mark.parametrize(
    "bomb",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, QUADRATIC],
    ids=["laughs", "xxe", "dtd", "quadratic"],
)
def test_xml_bombs_are_refused_before_expansion(fmt: str, bomb: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(AdapterError) as caught:
        ADAPTERS[fmt].parse(bomb, "application/xml")
    assert time.perf_counter() - started < 1.0
    assert "DTD" in caught.value.message


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_deep_xml_is_a_problem_not_a_crash(fmt: str) -> None:
    result = ADAPTERS[fmt].parse(DEEP, "text/xml")
    assert not result.reads
    assert any("nested deeper" in p["message"] for p in result.problems)


@pytest.mark.parametrize("fmt", ["hikvision", "tattile"])
def test_a_bomb_inside_a_multipart_part_is_refused_too(fmt: str) -> None:
    body = b"--b\r\nContent-Type: text/xml\r\n\r\n" + BILLION_LAUGHS + b"\r\n--b--\r\n"
    with pytest.raises(AdapterError):
        ADAPTERS[fmt].parse(body, "multipart/form-data; boundary=b")


@pytest.mark.parametrize("fmt", FORMATS)
@FAST
@given(camera_tz=st.text(max_size=40))
def test_any_camera_zone_gives_a_result_or_an_adapter_error(fmt: str, camera_tz: str) -> None:
    body, content_type = next((b, c) for f, b, c in BODIES if f == fmt)
    check(fmt, body, content_type, camera_tz)


def test_a_huge_array_is_refused_whole() -> None:
    """Over 1,000 events is refused (413: split it), as /v1/reads refuses over 1,000 reads;
    taking the first 1,000 and answering success lost the others for good."""
    doc = orjson.loads((FIXTURES / "genetec_sharpv_http_extension.json").read_bytes())
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge, match="5000 events in one array; at most 1000"):
        ADAPTERS["genetec"].parse(orjson.dumps([doc] * 5000), "application/json")
    assert time.perf_counter() - started < 2.0
    assert (
        len(ADAPTERS["genetec"].parse(orjson.dumps([doc] * 1000), "application/json").reads) == 1000
    )


DAHUA_LINES = st.lists(
    st.one_of(
        st.builds(
            "Events[{}].{}={}".format,
            st.integers(0, 3),
            st.sampled_from(["TrafficCar.PlateNumber", "UTC", "RealUTC", "EventBaseInfo.Code",
                             "TrafficCar.MachineName", "Lane", "TrafficCar.Country", "a.b.c"]),
            st.text(max_size=12),
        ),
        st.builds(
            "Code={};action={};index={};data={}".format,
            st.sampled_from(["TrafficJunction", "VideoMotion", "X"]),
            st.sampled_from(["Pulse", "Start"]),
            st.integers(0, 99),
            JSON_VALUES.map(lambda v: orjson.dumps(v).decode()),
        ),
        st.text(max_size=30),
    ),
    max_size=8,
)  # fmt: skip


@FAST
@given(lines=DAHUA_LINES, multipart=st.booleans(), newline=st.sampled_from(["\r\n", "\n"]))
def test_dahua_text_events_never_raise(lines: list[str], multipart: bool, newline: str) -> None:
    text = newline.join(lines).encode()
    if multipart:
        text = (
            b"--myboundary\r\nContent-Type: text/plain\r\n\r\n" + text + b"\r\n--myboundary--\r\n"
        )
    check("dahua", text, "multipart/x-mixed-replace; boundary=myboundary" if multipart else None)


SURVISION_DECISIONS = st.dictionaries(
    st.sampled_from(["@plate", "@reliability", "@context", "@direction", "jpeg", "x"]),
    JSON_VALUES,
    max_size=6,
)


@FAST
@given(date=JSON_VALUES, decision=SURVISION_DECISIONS | JSON_VALUES, as_xml=st.booleans())
def test_survision_messages_never_raise(date: Any, decision: Any, as_xml: bool) -> None:
    if as_xml and isinstance(decision, dict):
        attrs = " ".join(
            f'{k[1:]}="{str(v)[:20]}"'.replace("&", "").replace("<", "")
            for k, v in decision.items()
            if k.startswith("@") and '"' not in str(v)
        )
        body = f'<anpr date="{str(date)[:20]}"><decision {attrs}/></anpr>'.encode()
        check("survision", body, "text/xml")
    else:
        check("survision", orjson.dumps({"anpr": {"@date": date, "decision": decision}}), None)
