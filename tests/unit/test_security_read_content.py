"""Issue 11, item 7: read content that people will be shown is validated on ingest: image URLs
are http(s), embedded images are base64 JPEGs, vehicle strings are short plain text."""

from __future__ import annotations

import base64

import pytest

from anpr.clock import now_ms
from anpr.reads import FieldError, ReadLimits, validate_read

JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9").decode()
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()


def check(**fields: object) -> list[FieldError] | dict[str, object]:
    now = now_ms()
    raw = {"camera_id": "cam-1", "plate": "AB123", "captured_at": now - 1000, **fields}
    result = validate_read(
        raw,
        integrator_id="int-1",
        received_at_ms=now,
        limits=ReadLimits(now_ms=now, retention_ms=10**9),
    )
    return result if isinstance(result, list) else dict(result)


@pytest.mark.parametrize(
    ("images", "field"),
    [
        pytest.param({"plate_url": "https://cam.example/p.jpg"}, None, id="https-url"),
        pytest.param({"overview_url": "http://10.0.0.5/o.jpg?x=1"}, None, id="http-url"),
        pytest.param({"plate_url": "javascript:alert(1)"}, "images.plate_url", id="javascript"),
        pytest.param({"plate_url": "data:image/jpeg;base64,AAAA"}, "images.plate_url", id="data"),
        pytest.param({"overview_url": "file:///etc/passwd"}, "images.overview_url", id="file"),
        pytest.param({"plate_url": "https://"}, "images.plate_url", id="no-host"),
        pytest.param({"plate_url": "//cam.example/p.jpg"}, "images.plate_url", id="no-scheme"),
        pytest.param({"plate_url": "https://a/" + "x" * 3000}, "images.plate_url", id="too-long"),
        pytest.param({"plate_url": "https://a/\nb"}, "images.plate_url", id="control-char"),
        pytest.param({"plate_jpeg_b64": JPEG}, None, id="jpeg"),
        pytest.param({"plate_jpeg_b64": PNG}, "images.plate_jpeg_b64", id="png-is-not-jpeg"),
        pytest.param({"overview_jpeg_b64": "not base64!"}, "images.overview_jpeg_b64", id="junk"),
        pytest.param(
            {"overview_jpeg_b64": JPEG[:-1]}, "images.overview_jpeg_b64", id="bad-padding"
        ),
    ],
)
def test_images(images: dict[str, str], field: str | None) -> None:
    result = check(images=images)
    if field is None:
        assert isinstance(result, dict) and result["images"] == images
    else:
        assert isinstance(result, list)
        assert [e.field for e in result] == [field]


@pytest.mark.parametrize(
    ("vehicle", "field"),
    [
        pytest.param({"make": "Škoda", "color": "grey"}, None, id="plain"),
        pytest.param({"model": "x" * 64}, None, id="at-the-limit"),
        pytest.param({"model": "x" * 65}, "vehicle.model", id="too-long"),
        pytest.param({"class": "car\x1b[31m"}, "vehicle.class", id="escape-sequence"),
        pytest.param({"make": "a\nb"}, "vehicle.make", id="newline"),
    ],
)
def test_vehicle_strings(vehicle: dict[str, str], field: str | None) -> None:
    result = check(vehicle=vehicle)
    if field is None:
        assert isinstance(result, dict) and result["vehicle"] == vehicle
    else:
        assert isinstance(result, list)
        assert [e.field for e in result] == [field]
