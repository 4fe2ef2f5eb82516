"""`anpr convert`'s core, captured HTTP requests, and the multipart reader under it."""

from __future__ import annotations

import orjson
import pytest

from anpr.reads import ReadLimits, validate_read
from ingest.adapters import ADAPTERS, AdapterError
from ingest.adapters.capture import CaptureError, is_request, parse_request
from ingest.adapters.convert import convert
from ingest.adapters.multipart import MultipartError, header_params, parse_multipart, sniff_boundary
from tests.fixtures.vendor import HERE, JPEG

FIXTURES = sorted(p.name for p in HERE.iterdir() if p.name.split("_", 1)[0] in ADAPTERS)
# Captured payloads that carry nothing to take, by the vendor's own semantics.
NOTHING_TO_TAKE = {
    "dahua_notify_eventstream_noplate.json",
    "openalpr_agent_alpr_group_preview.json",
}
GENETEC = (HERE / "genetec_sharpv_http_extension.json").read_bytes()


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_converts_to_reads_the_gateway_accepts(name: str) -> None:
    result = convert(name.split("_", 1)[0], (HERE / name).read_bytes())
    assert [p for p in result.problems if "index" not in p] == []
    if name in NOTHING_TO_TAKE:
        assert not result.reads and not result.problems and result.notices
    else:
        assert result.reads or result.result.heartbeats
    limits = ReadLimits(now_ms=2**62, retention_ms=2**62)
    for line in result.reads:
        assert isinstance(line["vendor_ids"], list)
        read = {"camera_id": "cam-1", **line}
        outcome = validate_read(read, integrator_id="int-1", received_at_ms=0, limits=limits)
        assert not isinstance(outcome, list), outcome


def request(head: str, body: bytes, newline: str = "\r\n") -> bytes:
    return head.replace("\n", newline).encode() + newline.encode() * 2 + body


@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["CRLF", "LF"])
def test_a_captured_request_gives_content_type_and_camera_id(newline: str) -> None:
    head = "POST /v1/ingest/genetec?camera_id=gate-2&x=1 HTTP/1.1\nHost: a\n"
    head += f"Content-Type: application/json\nContent-Length: {len(GENETEC)}"
    data = request(head, GENETEC, newline)
    result = convert("genetec", data)
    assert result.content_type == "application/json"
    assert result.camera_id == "gate-2"
    (line,) = result.reads
    assert line["camera_id"] == "gate-2" and line["plate"] == "AA7D2"
    assert line["vendor_ids"] == ["genetec:SHARPV12345:Lpr Camera", "genetec:SHARPV12345"]


def test_chunked_transfer_encoding_is_undone() -> None:
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(GENETEC[i : i + 100]), GENETEC[i : i + 100])
        for i in range(0, len(GENETEC), 100)
    )
    data = request(
        "POST /x HTTP/1.1\nTransfer-Encoding: chunked\nContent-Type: application/json",
        chunks + b"0\r\n\r\n",
    )
    result = convert("genetec", data)
    assert result.problems == [] and result.reads[0]["plate"] == "AA7D2"


def test_a_cut_chunked_body_is_said() -> None:
    data = request("POST /x HTTP/1.1\nTransfer-Encoding: chunked", b"400\r\n" + GENETEC[:100])
    result = convert("genetec", data)
    assert any("cut inside a chunk" in n["message"] for n in result.notices)
    assert result.reads == [] and result.problems


def test_the_response_after_the_body_is_cut_off() -> None:
    data = request(
        f"POST /x HTTP/1.1\nContent-Length: {len(GENETEC)}", GENETEC + b"HTTP/1.1 200 OK\r\n\r\nOK"
    )
    assert parse_request(data).body == GENETEC
    assert convert("genetec", data).reads[0]["plate"] == "AA7D2"


def test_a_short_body_is_noted() -> None:
    data = request("POST /x HTTP/1.1\nContent-Length: 99999", GENETEC)
    result = convert("genetec", data)
    assert result.reads and any("cut short" in n["message"] for n in result.notices)


def test_a_bare_body_is_not_a_request() -> None:
    assert not is_request(GENETEC)
    assert is_request(b"POST /x HTTP/1.1\r\n\r\n")
    with pytest.raises(CaptureError):
        parse_request(b"POST /x HTTP/1.1\r\nHost: a")


def test_ndjson_and_explanations() -> None:
    data = orjson.dumps([orjson.loads(GENETEC), {**orjson.loads(GENETEC), "PlateRead": ""}])
    result = convert("genetec", data)
    lines = result.ndjson().splitlines()
    assert len(lines) == 1 and orjson.loads(lines[0])["plate"] == "AA7D2"
    assert result.explanations() == [
        "problem: read 1, PlateRead: missing or empty: a read needs a plate"
    ]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        convert("nosuchvendor", b"{}")
    assert caught.value.field == "format" and "openalpr" in caught.value.message


def test_an_adapter_error_becomes_an_explained_problem() -> None:
    bomb = b'<!DOCTYPE a [<!ENTITY x "y">]><Plate>&x;</Plate>'
    result = convert("genetec", bomb)
    assert result.reads == [] and result.problems[0]["field"] == "body"
    assert convert("genetec", GENETEC, camera_tz="Nowhere/Land").problems[0]["field"] == "camera_tz"


# --- multipart ---------------------------------------------------------------------------------


def test_multipart_parts_with_crlf_or_lf() -> None:
    for nl in (b"\r\n", b"\n"):
        body = (
            b"preamble"
            + nl
            + b"--b"
            + nl
            + b'Content-Disposition: form-data; name="json"'
            + nl
            + nl
        )
        body += (
            b"{}"
            + nl
            + b"--b"
            + nl
            + b'Content-Disposition: form-data; name="upload"; filename="a.jpg"'
        )
        body += nl + b"Content-Type: image/jpeg" + nl + nl + JPEG + nl + b"--b--" + nl
        parsed = parse_multipart(body, "b")
        assert [(p.name, p.filename, p.content_type, p.data) for p in parsed.parts] == [
            ("json", None, None, b"{}"),
            ("upload", "a.jpg", "image/jpeg", JPEG),
        ]
        assert parsed.notes == []


def test_a_multipart_without_its_boundary_is_an_error() -> None:
    with pytest.raises(MultipartError):
        parse_multipart(b"--other\r\n\r\nx\r\n--other--", "b")
    with pytest.raises(MultipartError):
        parse_multipart(b"--b\r\nContent-Type: text/xml\r\n\r\n<a>", "b")


def test_header_params_and_boundary_sniffing() -> None:
    assert header_params('multipart/form-data; boundary="a;b"; x=1') == (
        "multipart/form-data",
        {"boundary": "a;b", "x": "1"},
    )
    assert sniff_boundary(b"\r\n--MIME_boundary\r\nContent-Type: text/xml") == "MIME_boundary"
    assert sniff_boundary(b"{}") is None
