"""The mapping language: a built-in format re-expressed as a mapping gives the same reads; each
setting (paths, time formats, scales, country forms) behaves as documented; bad mappings are
refused with the mapping field named; whatever a camera sends, a mapping answers safely."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anpr.formats import BUILTIN_FORMATS, FormatMapping, PathError, validate_mapping
from anpr.formats.paths import compile_json
from ingest.adapters import ADAPTERS, AdapterError, PayloadTooLarge, UnsafePayload
from ingest.adapters.convert import convert
from ingest.adapters.mapping import MappingAdapter
from tests.fixtures.vendor import load

MAPPINGS = Path(__file__).parents[1] / "fixtures" / "mappings"


def mapping_file(name: str) -> FormatMapping:
    found = validate_mapping(yaml.safe_load((MAPPINGS / name).read_text()))
    assert isinstance(found, FormatMapping), found
    return found


def make(**changes: Any) -> MappingAdapter:
    spec: dict[str, Any] = {
        "name": "acme",
        "body": "json",
        "reads": "$.events[*]",
        "fields": {"plate": "plate.text", "captured_at": "ts"},
        "camera": ["$.device"],
        "time": {"format": "epoch_ms"},
    }
    spec.update(changes)
    found = validate_mapping(spec)
    assert isinstance(found, FormatMapping), found
    return MappingAdapter(found)


def push(adapter: MappingAdapter, doc: object, tz: str | None = None) -> Any:
    body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    return adapter.parse(body, None, camera_tz=tz)


# -- a built-in adapter re-expressed as a mapping ---------------------------------------------

EQUIVALENT = {
    "genetec JSON, naive Timestamp in Toronto": (
        "genetec", "genetec_json.yaml", "genetec_sharpv_http_extension.json", "America/Toronto"),
    "genetec JSON, UTC camera": (
        "genetec", "genetec_json.yaml", "genetec_sharpv_http_extension.json", None),
    "genetec XML with namespace, wrapped image, analytics": (
        "genetec", "genetec_xml.yaml", "genetec_sharpv_http_extension.xml", "Europe/Brussels"),
    "platerecognizer Stream webhook, candidates": (
        "platerecognizer", "platerecognizer_webhook.yaml", "platerecognizer_stream_webhook.json",
        "Europe/Paris"),
    "platerecognizer Snapshot webhook, naive UTC timestamp": (
        "platerecognizer", "platerecognizer_webhook.yaml",
        "platerecognizer_snapshot_webhook.json", "America/New_York"),
    "platerecognizer detection_mode=vehicle": (
        "platerecognizer", "platerecognizer_vehicle_mode.yaml",
        "platerecognizer_vehicle_mode.json", "Europe/Paris"),
}  # fmt: skip


@pytest.mark.parametrize(
    "builtin_name, mapping, fixture, tz", EQUIVALENT.values(), ids=EQUIVALENT.keys()
)
def test_builtin_reexpressed_as_a_mapping_gives_identical_reads(
    builtin_name: str, mapping: str, fixture: str, tz: str | None
) -> None:
    body, content_type = load(fixture)
    builtin = ADAPTERS[builtin_name].parse(body, content_type, camera_tz=tz)
    mapped = MappingAdapter(mapping_file(mapping)).parse(body, content_type, camera_tz=tz)
    assert builtin.reads, "the fixture must give reads"
    assert mapped.reads == builtin.reads
    # Events without a plate: the built-in may call them notices, a mapping calls them problems.
    assert len(mapped.problems) == len(builtin.problems) + len(builtin.notices)
    # Same identities under the mapping's name: `<name>:<SourceUrl>:<LprCameraName>`, then shorter.
    name = mapping_file(mapping).name
    assert mapped.vendor_ids == [
        [v.replace(f"{builtin_name}:", f"{name}:", 1) for v in ids] for ids in builtin.vendor_ids
    ]


GENETEC_VARIANTS = {
    "confidence, motion, lane, vehicle, location": {
        "PlateAnalytics": [
            {"Key": "Confidence Score", "Value": "91"},
            {"Key": "Relative Motion", "Value": "Approaching"},
            {"Key": "Lane", "Value": "2"},
            {"Key": "Vehicle Make", "Value": "Volvo"},
            {"Key": "Vehicle Type", "Value": "Car"},
            {"Key": "Context", "Value": "BEL"},
        ],
        "Latitude": 50.85,
        "Longitude": 4.35,
        "Timestamp": "2024-03-31T02:30:00.5+02:00",
    },
    "an array of two plate reads": None,
}


@pytest.mark.parametrize("changes", GENETEC_VARIANTS.values(), ids=GENETEC_VARIANTS.keys())
def test_genetec_mapping_matches_builtin_on_variants(changes: dict[str, Any] | None) -> None:
    doc: Any = orjson.loads(load("genetec_sharpv_http_extension.json")[0])
    if changes is None:
        other = copy.deepcopy(doc)
        other.update(PlateRead="1ABC234", Id="second")
        doc = [doc, other]
    else:
        doc.update(changes)
    body = orjson.dumps(doc)
    builtin = ADAPTERS["genetec"].parse(body, None, camera_tz="Europe/Brussels")
    mapped = MappingAdapter(mapping_file("genetec_json.yaml")).parse(
        body, None, camera_tz="Europe/Brussels"
    )
    assert mapped.reads == builtin.reads
    assert len(mapped.reads) == (2 if changes is None else 1)


def test_every_builtin_adapter_name_is_reserved() -> None:
    assert set(ADAPTERS) <= BUILTIN_FORMATS


# -- what each setting does -------------------------------------------------------------------

TIMES: dict[str, tuple[dict[str, Any], object, str | None, str]] = {
    "epoch seconds": ({"format": "epoch_s"}, 1717200000, None, "2024-06-01T00:00:00.000Z"),
    "epoch seconds as text, fractional": (
        {"format": "epoch_s"}, "1717200000.25", None, "2024-06-01T00:00:00.250Z"),
    "epoch milliseconds": ({"format": "epoch_ms"}, 1717200000123, None, "2024-06-01T00:00:00.123Z"),
    "RFC 3339 with offset keeps it": (
        {"format": "rfc3339"}, "2024-06-01T10:00:00+02:00", "Asia/Tokyo",
        "2024-06-01T10:00:00.000+02:00"),
    "RFC 3339 without offset: the camera's wall clock": (
        {"format": "rfc3339"}, "2024-06-01T10:00:00", "Europe/Brussels",
        "2024-06-01T10:00:00.000+02:00"),
    "strftime in the camera's zone (winter)": (
        {"format": "strftime", "pattern": "%d/%m/%Y %H:%M:%S"}, "15/01/2024 08:05:09",
        "Europe/Brussels", "2024-01-15T08:05:09.000+01:00"),
    "strftime with its own offset": (
        {"format": "strftime", "pattern": "%Y%m%d%H%M%S%z"}, "20240115080509-0500",
        "Europe/Brussels", "2024-01-15T08:05:09.000-05:00"),
}  # fmt: skip


@pytest.mark.parametrize("time, raw, tz, want", TIMES.values(), ids=TIMES.keys())
def test_time_formats(time: dict[str, Any], raw: object, tz: str | None, want: str) -> None:
    result = push(make(time=time), {"events": [{"plate": {"text": "AB12"}, "ts": raw}]}, tz)
    assert result.problems == []
    assert result.reads[0]["captured_at"] == want


COUNTRIES: dict[str, tuple[str, object, str | None]] = {
    "alpha-2": ("alpha2", "be", "BE"),
    "alpha-2 region code": ("alpha2", "eu-de", "DE"),
    "alpha-2 refuses alpha-3": ("alpha2", "BEL", None),
    "alpha-3": ("alpha3", "NLD", "NL"),
    "alpha-3 refuses alpha-2": ("alpha3", "NL", None),
    "numeric as text with zeros": ("numeric", "056", "BE"),
    "numeric as a number": ("numeric", 276, "DE"),
    "numeric unassigned": ("numeric", 999, None),
    "auto takes a registration sign": ("auto", "D", "DE"),
}


def test_an_epoch_too_large_for_a_time_is_that_reads_problem_only() -> None:
    """1e306 seconds overflowed before the range check: a 500 that lost the push's good reads."""
    events = [
        {"plate": {"text": "AB12"}, "ts": 1e306},
        {"plate": {"text": "GOOD1"}, "ts": 1717200000},
    ]
    result = push(make(time={"format": "epoch_s"}), {"events": events})
    assert [r["plate"] for r in result.reads] == ["GOOD1"]
    assert [p["field"] for p in result.problems] == ["events[0].ts"]


@pytest.mark.parametrize("form", ["alpha2", "alpha3"])
@pytest.mark.parametrize("raw", ["-", "_", "--", " - "])
def test_a_country_placeholder_is_no_country(form: str, raw: str) -> None:
    """A device's "no country" placeholder raised IndexError: a 500 losing the push."""
    adapter = make(
        country_code=form, fields={"plate": "plate.text", "captured_at": "ts", "country": "c"}
    )
    result = push(adapter, {"events": [{"plate": {"text": "AB12"}, "ts": 1717200000000, "c": raw}]})
    assert [r.get("country") for r in result.reads] == [None]


def test_a_recursive_path_over_a_document_nested_hundreds_deep_finds_nothing() -> None:
    """`$..[*]` over 600 nested arrays raised RecursionError (a 500) building the paths."""
    adapter = make(reads="$..[*]")
    result = push(adapter, b"[" * 600 + b"]" * 600)
    assert result.reads == []


@pytest.mark.parametrize("form, raw, want", COUNTRIES.values(), ids=COUNTRIES.keys())
def test_country_code_forms(form: str, raw: object, want: str | None) -> None:
    adapter = make(
        country_code=form, fields={"plate": "plate.text", "captured_at": "ts", "country": "c"}
    )
    result = push(adapter, {"events": [{"plate": {"text": "AB12"}, "ts": 1717200000000, "c": raw}]})
    assert result.reads[0].get("country") == want
    if want is None:  # kept without a country, and said why
        assert [n["field"] for n in result.notices] == ["events[0].c"]


@pytest.mark.parametrize(
    "scale, raw, want", [("0-1", 0.8, 0.8), ("0-100", 80, 0.8), ("0-100", "80.5", 0.805)]
)
def test_confidence_scales(scale: str, raw: object, want: float) -> None:
    adapter = make(
        confidence_scale=scale,
        fields={"plate": "plate.text", "captured_at": "ts", "confidence": "score"},
    )
    doc = {"events": [{"plate": {"text": "AB12"}, "ts": 1717200000000, "score": raw}]}
    assert push(adapter, doc).reads[0]["confidence"] == pytest.approx(want)


def test_json_pointer_reads_and_document_level_fields() -> None:
    adapter = make(
        reads="/data/results",
        fields={"plate": "/plate", "captured_at": "$.data.timestamp", "lane": "/lane"},
        camera=["$.data.camera"],
        time={"format": "rfc3339"},
    )
    doc = {
        "data": {
            "camera": "gate-1",
            "timestamp": "2024-06-01T00:00:00Z",
            "results": [{"plate": "AB12", "lane": 1}, {"plate": "CD34", "lane": 99}],
        }
    }
    result = push(adapter, doc)
    assert [r["plate"] for r in result.reads] == ["AB12", "CD34"]
    assert [r.get("lane") for r in result.reads] == [1, None]
    assert result.vendor_ids == [["acme:gate-1"], ["acme:gate-1"]]
    assert result.notices[0]["field"] == "data.results[1].lane"


def test_xml_attributes_and_namespaces() -> None:
    adapter = make(
        body="xml",
        reads=".//Read",
        fields={"plate": "Plate", "captured_at": "@time", "direction": "Dir"},
        camera=["/Event/@device"],
        time={"format": "epoch_ms"},
        direction_values={"IN": "approaching", "OUT": "receding"},
    )
    body = (
        b'<e:Event xmlns:e="urn:x" e:device="cam-9"><e:Read time="1717200000000">'
        b"<e:Plate>AB12</e:Plate><e:Dir>out</e:Dir></e:Read></e:Event>"
    )
    result = adapter.parse(body, "text/xml")
    assert result.reads == [
        {"plate": "AB12", "captured_at": "2024-06-01T00:00:00.000Z", "direction": "receding"}
    ]
    assert result.vendor_ids == [["acme:cam-9"]]


def test_success_answer_is_the_mappings() -> None:
    adapter = make(success={"status": 201, "content_type": "application/json", "body": '{"ok":1}'})
    assert tuple(push(adapter, {"events": []}).success_response) == (
        201,
        "application/json",
        b'{"ok":1}',
    )


# -- errors name the mapping field and the payload path ----------------------------------------

PAYLOAD_ERRORS: dict[str, tuple[dict[str, Any], dict[str, Any], str, str]] = {
    "no plate": ({}, {"ts": 1}, "events[1].plate.text", "fields.plate 'plate.text': missing"),
    "time not matching the pattern": (
        {"time": {"format": "strftime", "pattern": "%d/%m/%Y"}},
        {"plate": {"text": "AB12"}, "ts": "2024-01-15"},
        "events[1].ts",
        "fields.captured_at 'ts': '2024-01-15' does not match '%d/%m/%Y' (time.pattern)",
    ),
    "epoch that is text": (
        {"time": {"format": "epoch_ms"}},
        {"plate": {"text": "AB12"}, "ts": "yesterday"},
        "events[1].ts",
        "fields.captured_at 'ts': 'yesterday' is not a number of ms since 1970 (time.format)",
    ),
    "RFC 3339 that is not a time": (
        {"time": {"format": "rfc3339"}},
        {"plate": {"text": "AB12"}, "ts": "soon"},
        "events[1].ts",
        "fields.captured_at 'ts': 'soon' is not an RFC 3339 time (time.format)",
    ),
}


@pytest.mark.parametrize(
    "changes, event, where, message", PAYLOAD_ERRORS.values(), ids=PAYLOAD_ERRORS.keys()
)
def test_payload_errors_name_mapping_field_and_payload_path(
    changes: dict[str, Any], event: dict[str, Any], where: str, message: str
) -> None:
    good = {"epoch_ms": 1717200000000, "strftime": "15/01/2024", "rfc3339": "2024-01-15T00:00:00Z"}
    adapter = make(**changes)
    first = {"plate": {"text": "OK1"}, "ts": good[adapter.mapping.time.format.value]}
    result = push(adapter, {"events": [first, event]})
    assert len(result.reads) == 1  # one bad read never costs the good ones
    assert result.problems[0]["field"] == where
    assert result.problems[0]["message"].startswith(message)
    assert result.problems[0]["index"] == 1


def test_wrong_body_kind_and_xml_entities_refused() -> None:
    assert push(make(), b"<a/>").problems[0]["field"] == "body"
    bomb = b'<!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><Event><Read>&x;</Read></Event>'
    with pytest.raises(UnsafePayload):
        make(body="xml", reads="Event", fields={"plate": "P", "captured_at": "T"}).parse(
            bomb, "text/xml"
        )


# -- bad mappings are refused with the field named ---------------------------------------------

GOOD = {"body": "json", "fields": {"plate": "p", "captured_at": "t"}}
BAD_MAPPINGS: dict[str, tuple[dict[str, Any], str]] = {
    "not an object": ({"$replace": ["a list"]}, "body"),
    "body type unknown": ({"body": "csv"}, "body"),
    "plate missing": ({"fields": {"captured_at": "t"}}, "fields.plate"),
    "captured_at missing": ({"fields": {"plate": "p"}}, "fields.captured_at"),
    "unknown read field": ({"fields": {**GOOD["fields"], "colour": "c"}}, "fields.colour"),
    "bad JSONPath": ({"fields": {"plate": "a[", "captured_at": "t"}}, "fields.plate"),
    "bad JSON pointer": ({"reads": "/a/~9"}, "reads"),
    "bad XPath": ({"body": "xml", "reads": "a[@"}, "reads"),
    "absolute XPath for an attribute misplaced": (
        {"body": "xml", "fields": {"plate": "a@b", "captured_at": "t"}}, "fields.plate"),
    "time format unknown": ({"time": {"format": "iso"}}, "time.format"),
    "strftime without pattern": ({"time": {"format": "strftime"}}, "time.pattern"),
    "pattern without strftime": ({"time": {"format": "epoch_s", "pattern": "%Y"}}, "time.pattern"),
    "%Z, matched then ignored by strptime": (
        {"time": {"format": "strftime", "pattern": "%Y-%m-%d %H:%M:%S %Z"}}, "time.pattern"),
    "not a strptime directive": (
        {"time": {"format": "strftime", "pattern": "%s"}}, "time.pattern"),
    "a lone % at the end": ({"time": {"format": "strftime", "pattern": "%H:%M %"}}, "time.pattern"),
    "time zone unknown": ({"time": {"zone": "Mars/Olympus"}}, "time.zone"),
    "candidates without plate": ({"candidates": {"path": "c[*]"}}, "candidates.plate"),
    "candidates with a bad path": ({"candidates": {"path": "c[", "plate": "p"}},
                                   "candidates.path"),
    "confidence scale unknown": ({"confidence_scale": "0-10"}, "confidence_scale"),
    "country form unknown": ({"country_code": "fips"}, "country_code"),
    "direction value not canonical": ({"direction_values": {"IN": "inbound"}},
                                      "direction_values.IN"),
    "success status not 2xx": ({"success": {"status": 302}}, "success.status"),
    "success body too long": ({"success": {"body": "x" * 5000}}, "success.body"),
    "204 with a body": ({"success": {"status": 204}}, "success"),
    "205 with a body": ({"success": {"status": 205, "body": "done"}}, "success"),
    "unknown top-level key": ({"bodytype": "json"}, "bodytype"),
    "latitude without longitude": (
        {"fields": {**GOOD["fields"], "location.lat": "la"}}, "fields.location.lon"),
    "built-in name": ({"name": "genetec"}, "name"),
    "name with capitals": ({"name": "Acme"}, "name"),
}  # fmt: skip


@pytest.mark.parametrize("changes, field", BAD_MAPPINGS.values(), ids=BAD_MAPPINGS.keys())
def test_bad_mappings_refused_with_the_field_named(changes: dict[str, Any], field: str) -> None:
    spec: Any = changes.get("$replace", {"name": "acme", **GOOD, **changes})
    errors = validate_mapping(spec)
    assert isinstance(errors, list), "the mapping should have been refused"
    assert field in [e["field"] for e in errors], errors


def test_a_204_without_a_body_is_taken() -> None:
    assert not isinstance(
        validate_mapping({"name": "acme", **GOOD, "success": {"status": 204, "body": ""}}), list
    )


def test_url_name_must_agree() -> None:
    errors = validate_mapping({"name": "acme", **GOOD}, name="other")
    assert isinstance(errors, list)
    assert errors[0]["field"] == "name"


# -- convert --mapping and fuzzing -------------------------------------------------------------


def test_convert_with_a_mapping_explains_problems() -> None:
    adapter = make(time={"format": "rfc3339"})
    doc = {"device": "d1", "events": [{"plate": {"text": "AB12"}, "ts": "x"}]}
    out = convert("acme", orjson.dumps(doc), adapter=adapter)
    assert out.reads == []
    assert out.explanations() == [
        "problem: read 0, events[0].ts: fields.captured_at 'ts': 'x' is not an RFC 3339 time "
        "(time.format)"
    ]


FUZZ = settings(
    max_examples=80, deadline=2000, suppress_health_check=[HealthCheck.too_slow], database=None
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip


@FUZZ
@given(st.binary(max_size=400) | JSON_VALUES.map(orjson.dumps))
def test_mappings_never_raise_on_any_payload(body: bytes) -> None:
    for adapter in (
        MappingAdapter(mapping_file("genetec_json.yaml")),
        MappingAdapter(mapping_file("genetec_xml.yaml")),
        make(fields={"plate": "$..p", "captured_at": "$.x[?t > 5].t"}, time={"format": "epoch_s"}),
    ):
        try:
            result = adapter.parse(body, None, camera_tz="Europe/Brussels")
        except AdapterError:
            continue
        for read in result.reads:
            assert read["plate"] and read["captured_at"]


@FUZZ
@given(JSON_VALUES)
def test_validate_mapping_never_raises(data: object) -> None:
    validate_mapping(data)
    validate_mapping({"body": "json", "fields": data})


def test_the_worked_example_of_the_documentation_gives_the_read_it_shows() -> None:
    """docs/connection-standard.md section 9: its payload, mapping and read are kept true."""
    doc = (Path(__file__).parents[2] / "docs" / "connection-standard.md").read_text()
    section = doc.split("### A worked example", 1)[1].split("### The mapping language", 1)[0]
    payload, expected = re.findall(r"```json\n(.*?)```", section, re.S)
    (mapping_text,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    found = validate_mapping(yaml.safe_load(mapping_text), name="acme")
    assert isinstance(found, FormatMapping), found
    result = MappingAdapter(found).parse(payload.encode(), None, camera_tz="Europe/Brussels")
    assert result.problems == [] and result.notices == []
    assert result.reads == [orjson.loads(expected)]
    assert result.vendor_ids == [["acme:SN-0042"]]


XML_ATTACKS: dict[str, tuple[bytes, type[AdapterError] | None]] = {
    "billion laughs": (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'.encode()
                   for p, c in zip("abcdefgh", "bcdefghi", strict=True))
        + b"]><Plate><PlateRead>&i;</PlateRead></Plate>",
        UnsafePayload,
    ),
    "external entity": (
        b'<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Plate><PlateRead>&x;'
        b"</PlateRead></Plate>",
        UnsafePayload,
    ),
    "a bare DTD": (b"<!DOCTYPE Plate><Plate/>", UnsafePayload),
    "over 4 MiB": (b"<Plate>" + b"x" * (4 * 1024 * 1024) + b"</Plate>", PayloadTooLarge),
    "deeply nested": (b"<a>" * 20000 + b"</a>" * 20000, None),
    "not well-formed": (b"<Plate><PlateRead>AB</Plate>", None),
}  # fmt: skip


@pytest.mark.parametrize("body, refused", XML_ATTACKS.values(), ids=XML_ATTACKS.keys())
def test_xml_attacks_on_a_mapping(body: bytes, refused: type[AdapterError] | None) -> None:
    adapter = MappingAdapter(mapping_file("genetec_xml.yaml"))
    started = time.perf_counter()
    if refused is not None:
        with pytest.raises(refused):
            adapter.parse(body, "text/xml")
    else:
        result = adapter.parse(body, "text/xml")
        assert result.reads == []
    assert time.perf_counter() - started < 2.0


@FUZZ
@given(st.text(alphabet="<>/=\"' abcPlateRead&;!-[]", max_size=200))
def test_xml_mappings_never_raise_on_xml_like_text(text: str) -> None:
    with contextlib.suppress(AdapterError):
        MappingAdapter(mapping_file("genetec_xml.yaml")).parse(text.encode(), "text/xml")


PLAIN_PATHS = st.builds(
    lambda root, parts: ("$" if root else "") + "".join(parts),
    st.booleans(),
    st.lists(
        st.sampled_from(
            [
                ".a",
                ".b",
                ".k",
                ".a-b",
                "[0]",
                "[1]",
                "[*]",
                "[?k = 'x']",
                "[?(@.k == 'x')]",
                '[?k = "y"]',
            ]
        ),
        min_size=1,
        max_size=4,
    ),
).map(lambda p: p if p.startswith("$") else p.lstrip("."))
TREES = st.recursive(
    st.integers(0, 9) | st.text("xy", max_size=2),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "a-b"]), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow],
          database=None)  # fmt: skip
@given(PLAIN_PATHS, TREES)
def test_plain_paths_walked_directly_mean_what_jsonpath_ng_means(path: str, doc: Any) -> None:
    try:
        compiled = compile_json(path)
    except PathError:
        return  # not a path jsonpath-ng takes: refused either way
    if compiled.steps is None:
        return
    slow = dataclasses.replace(compiled, steps=None)
    # Around the random tree, items the filters select, so that they do select.
    wrapped = {"a": [{"k": "x", "b": 1}, {"k": "y", "b": [1]}, doc], "k": "x", "b": {"k": "x"}}
    for base in ("$", "events[3]"):
        assert compiled.find(doc, base) == slow.find(doc, base)
        assert compiled.find(wrapped, base) == slow.find(wrapped, base)


def test_an_xpath_predicate_on_an_attribute_in_the_last_step() -> None:
    """`Item[@key='time']` is ElementTree's own syntax; it was refused at PUT as a misplaced
    attribute step (`Plate/@id`)."""
    adapter = make(
        body="xml",
        reads=".//Read",
        camera=["Device"],
        fields={"plate": "Plate", "captured_at": "Analytics/Item[@key='time']"},
        time={"format": "rfc3339"},
    )
    body = (
        b"<Reads><Device>D1</Device><Read><Plate>AB12</Plate><Analytics>"
        b"<Item key='speed'>50</Item><Item key='time'>2024-06-01T10:00:00Z</Item>"
        b"</Analytics></Read></Reads>"
    )
    result = adapter.parse(body, "application/xml")
    assert result.problems == []
    assert [(r["plate"], r["captured_at"]) for r in result.reads] == [
        ("AB12", "2024-06-01T10:00:00.000Z")
    ]
