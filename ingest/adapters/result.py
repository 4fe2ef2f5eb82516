"""What an adapter gives back: canonical reads, camera identities, heartbeats and problems.

`AdapterResult.reads[i]` is a read in the canonical *input* shape of `POST /v1/reads` (contract
section 3) without `camera_id` unless the payload itself names one; `AdapterResult.vendor_ids[i]`
lists the vendor identities of the camera that made `reads[i]`, most specific first, to be looked
up in the cameras' registered `external_ids`. The gateway then validates each read exactly as
`/v1/reads` does. `problems` are the reads (with `index`) or payloads (without) that could not be
translated; `notices` are things dropped or ignored on purpose, which are not errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, NotRequired, Protocol, TypedDict

from anpr.reads import MAX_READ_WITH_IMAGES_BYTES
from anpr.shown import image_problem
from ingest.adapters.errors import PayloadTooLarge

# Reads in one payload, as `POST /v1/reads` takes at most 1,000: a payload with more is refused
# whole (413), never cut (the device does not send again what was answered as a success).
MAX_READS = 1000


# What `ingest.adapters.fields.moment` reads, for the problem an integrator gets when a
# payload's time is not one.
_TIME_FORMS = (
    "ISO 8601 or RFC 3339, without an offset in the camera's time zone; epoch seconds or "
    "milliseconds; compact YYYYMMDDhhmm, YYYYMMDDhhmmss or YYYYMMDDhhmmssSSS"
)


def not_a_time(fields: str = "") -> str:
    where = f" in {fields}" if fields else ""
    return f"missing or not a time{where} (read: {_TIME_FORMS})"


NOT_A_TIME = not_a_time()


class CandidateIn(TypedDict):
    plate: str
    confidence: NotRequired[float]


class LocationIn(TypedDict):
    lat: float
    lon: float


class CanonicalRead(TypedDict, total=False):
    """A read as `POST /v1/reads` takes it (contract section 3); only what the payload had."""

    read_id: str
    camera_id: str
    captured_at: str  # RFC 3339 with an offset, millisecond precision
    plate: str
    country: str  # ISO 3166-1 alpha-2, upper case
    confidence: float  # 0-1
    candidates: list[CandidateIn]  # at most 10, the read's own plate left out
    direction: str  # approaching | receding | unknown
    lane: int
    vehicle: dict[str, str]  # make, model, color, class
    images: dict[str, str]  # plate_jpeg_b64, overview_jpeg_b64, plate_url, overview_url
    location: LocationIn


class VendorHeartbeat(TypedDict):
    """A camera heartbeat found in a vendor payload (an OpenALPR agent's, per video stream)."""

    vendor_ids: list[str]
    sent_at: str  # RFC 3339
    status: dict[str, Any]


class Problem(TypedDict):
    """Why a read (`index` = its position among the payload's reads) or a payload was not used."""

    field: str
    message: str
    index: NotRequired[int]


class SuccessResponse(NamedTuple):
    """What the vendor's device expects back once its push is durable, so it does not resend."""

    status: int
    content_type: str
    body: bytes


PLAIN_OK = SuccessResponse(200, "text/plain; charset=utf-8", b"OK")


@dataclass(slots=True)
class AdapterResult:
    reads: list[CanonicalRead] = field(default_factory=list)
    vendor_ids: list[list[str]] = field(default_factory=list)  # parallel to `reads`
    heartbeats: list[VendorHeartbeat] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)
    success_response: SuccessResponse = PLAIN_OK

    def pairs(self) -> list[tuple[CanonicalRead, list[str]]]:
        """Each read with the vendor identities of its camera."""
        return list(zip(self.reads, self.vendor_ids, strict=True))


class Adapter(Protocol):
    """Translate one vendor push into canonical reads. Pure: no I/O, no awaits, no clock."""

    name: str
    success_response: SuccessResponse

    def parse(
        self,
        body: bytes,
        content_type: str | None,
        *,
        camera_tz: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AdapterResult:
        """Never raises anything but `AdapterError`; every other fault is a problem.

        `headers` are the request's (some devices name themselves only there).
        """
        ...


class Collector:
    """Gathers one payload's reads, problems and notices while an adapter walks it."""

    def __init__(self, success: SuccessResponse) -> None:
        self.result = AdapterResult(success_response=success)
        self.next_index = 0  # position of the next read record in the payload

    def take_index(self) -> int:
        """The position of the payload's next read record; `PayloadTooLarge` past `MAX_READS`."""
        index = self.next_index
        if index >= MAX_READS:
            raise PayloadTooLarge("body", f"more than {MAX_READS} reads in one payload: split it")
        self.next_index += 1
        return index

    def add_read(self, read: CanonicalRead, vendor_ids: list[str], index: int) -> None:
        """Keep a read; pictures that cannot be stored (not a JPEG, not an http(s) link) or
        that would take it over the contract's size are dropped with a notice: a bad picture
        never costs the read."""
        images = read.get("images")
        if images:
            for key, value in list(images.items()):
                problem = image_problem(key, value)
                if problem is not None:
                    del images[key]
                    self.notice(f"images.{key}", f"picture dropped: {problem}", index)
            for key in ("overview_jpeg_b64", "plate_jpeg_b64"):
                if sum(len(v) for v in images.values()) <= MAX_READ_WITH_IMAGES_BYTES:
                    break
                if images.pop(key, None) is not None:
                    self.notice(f"images.{key}", "picture dropped: over 512 KiB with it", index)
            if not images:
                del read["images"]
        self.result.reads.append(read)
        self.result.vendor_ids.append(vendor_ids)

    def begin(
        self,
        index: int,
        plate: tuple[str, str | None],
        captured_at: tuple[str, str | None],
        *,
        time_message: str = NOT_A_TIME,
    ) -> CanonicalRead | None:
        """A read with its two required fields, each given as (payload field, value or None);
        None, with a problem naming the payload field, when one of them is missing."""
        (plate_field, plate_value), (time_field, time_value) = plate, captured_at
        if plate_value is None:
            self.problem(plate_field, "missing or empty: a read needs a plate", index)
            return None
        if time_value is None:
            self.problem(time_field, time_message, index)
            return None
        return {"captured_at": time_value, "plate": plate_value}

    def problem(self, field: str, message: str, index: int | None = None) -> None:
        self.result.problems.append(_entry(field, message, index))

    def notice(self, field: str, message: str, index: int | None = None) -> None:
        self.result.notices.append(_entry(field, message, index))


def put(read: CanonicalRead, key: str, value: object) -> None:
    """Set an optional field of a read only when the payload had a usable value for it."""
    if value is not None:
        read[key] = value  # type: ignore[literal-required]


def _entry(field: str, message: str, index: int | None) -> Problem:
    entry: Problem = {"field": field, "message": message}
    if index is not None:
        entry["index"] = index
    return entry
