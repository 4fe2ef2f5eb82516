"""A declarative vendor mapping (`PUT /v1/formats/{name}`): what it may say, and its checks.

The language is documented with a worked example in `docs/connection-standard.md`. In short:

```yaml
body: json                      # json | xml
reads: "$.events[*]"            # where the reads are (default: the document, or its root element)
fields:                         # canonical field -> path, read from each read record
  plate: plate.text             # required
  captured_at: time             # required
  confidence: plate.score
camera: [device.serial]         # vendor identity: `<name>:<value>[:<value>...]` in external_ids
time: {format: strftime, pattern: "%d/%m/%Y %H:%M:%S"}   # epoch_s | epoch_ms | rfc3339 | strftime
candidates: {path: "alternatives[*]", plate: text, confidence: score}
confidence_scale: "0-100"       # "0-1" | "0-100"
country_code: alpha3            # alpha2 | alpha3 | numeric | auto
direction_values: {"Going away": receding}
success: {status: 200, content_type: application/json, body: '{"result": "ok"}'}
```

`validate_mapping` gives either the checked `FormatMapping` or every error as `{"field",
"message"}` where `field` names the mapping field (`fields.plate`, `time.pattern`, ...). It is
pure; the registry, the API, the gateway and `anpr convert --mapping` all use it.
"""

from __future__ import annotations

import re
import zoneinfo
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from anpr.formats.paths import BodyKind, Path, PathError, compile_path

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# The built-in adapters' names (gateway `ingest.adapters.ADAPTERS`, checked by a test there):
# a mapping can never take one of them over.
BUILTIN_FORMATS = frozenset(
    {
        "openalpr",
        "platerecognizer",
        "hikvision",
        "axis",
        "genetec",
        "dahua",
        "survision",
        "tattile",
        "milestone",
        "frigate",
        "verkada",
    }
)
REQUIRED_FIELDS = ("plate", "captured_at")
CANONICAL_FIELDS = frozenset(
    {
        "plate",
        "captured_at",
        "read_id",
        "country",
        "confidence",
        "direction",
        "lane",
        "vehicle.make",
        "vehicle.model",
        "vehicle.color",
        "vehicle.class",
        "images.plate_jpeg_b64",
        "images.overview_jpeg_b64",
        "images.plate_url",
        "images.overview_url",
        "location.lat",
        "location.lon",
    }
)
DIRECTIONS = frozenset({"approaching", "receding", "unknown"})
MAX_SUCCESS_BODY = 4096

PathText = Annotated[str, Field(max_length=300)]


class TimeFormat(StrEnum):
    EPOCH_S = "epoch_s"
    EPOCH_MS = "epoch_ms"
    RFC3339 = "rfc3339"
    STRFTIME = "strftime"


class ConfidenceScale(StrEnum):
    UNIT = "0-1"
    PERCENT = "0-100"


class CountryCode(StrEnum):
    ALPHA2 = "alpha2"
    ALPHA3 = "alpha3"
    NUMERIC = "numeric"
    AUTO = "auto"  # whatever the built-in adapters take: alpha-2, alpha-3, `us-ca`, `D`


class TimeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: TimeFormat = TimeFormat.RFC3339
    pattern: str | None = Field(default=None, min_length=2, max_length=100)
    # Where times without an offset are read: `camera` (its registered time zone) or an IANA
    # zone the vendor documents (Plate Recognizer's `timestamp` is UTC, offset or not).
    zone: str = Field(default="camera", min_length=1, max_length=64)


class CandidatesSpec(BaseModel):
    """Alternative readings: `path` finds them in the read, `plate`/`confidence` in each."""

    model_config = ConfigDict(extra="forbid")
    path: PathText
    plate: PathText
    confidence: PathText | None = None


class SuccessSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int = Field(default=200, ge=200, le=299)
    # A header value as it is sent: printable ASCII (a CR/LF or a `€` could not be sent).
    content_type: str = Field(
        default="text/plain; charset=utf-8",
        min_length=3,
        max_length=100,
        pattern=r"^[\x20-\x7e]+$",
    )
    body: str = Field(default="OK", max_length=MAX_SUCCESS_BODY)

    @model_validator(mode="after")
    def _no_body_without_content(self) -> SuccessSpec:
        # HTTP forbids a body on 204 and 205: the server then fails every push's answer
        # (after its reads were stored), and the device retries them.
        if self.status in (204, 205) and self.body:
            raise ValueError(f'a {self.status} answer has no body: set body to ""')
        return self


class FormatMapping(BaseModel):
    """A mapping as submitted; `validate_mapping` adds the checks across fields and paths."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=63)
    description: str | None = Field(default=None, max_length=500)
    body: BodyKind
    reads: PathText | None = None
    fields: dict[str, PathText]
    candidates: CandidatesSpec | None = None
    camera: list[PathText] = Field(default_factory=list, max_length=5)
    time: TimeSpec = Field(default_factory=TimeSpec)
    confidence_scale: ConfidenceScale = ConfidenceScale.UNIT
    country_code: CountryCode = CountryCode.ALPHA2
    direction_values: dict[str, str] = Field(default_factory=dict, max_length=50)
    success: SuccessSpec = Field(default_factory=SuccessSpec)

    def paths(self) -> dict[str, str]:
        """Every path of the mapping, by the mapping field that holds it."""
        out = {f"fields.{key}": path for key, path in self.fields.items()}
        out.update({f"camera[{i}]": path for i, path in enumerate(self.camera)})
        if self.candidates is not None:
            out["candidates.path"] = self.candidates.path
            out["candidates.plate"] = self.candidates.plate
            if self.candidates.confidence is not None:
                out["candidates.confidence"] = self.candidates.confidence
        if self.reads is not None:
            out["reads"] = self.reads
        return out

    def compiled(self) -> dict[str, Path]:
        """The compiled paths by mapping field; `PathError` for the first bad one."""
        return {where: compile_path(path, self.body) for where, path in self.paths().items()}


Error = dict[str, str]


def check_name(name: str) -> str | None:
    """Why `name` cannot name a mapping, or None."""
    if not NAME_PATTERN.fullmatch(name):
        return "1-63 of a-z, 0-9, `_` and `-`, starting with a letter or digit"
    if name in BUILTIN_FORMATS:
        return f"{name!r} is a built-in format and cannot be replaced by a mapping"
    return None


# What Python's strptime reads. `%Z` is not among them here: it matches a zone name and then
# ignores it, so "08:05:09 UTC" became 08:05:09 in the camera's zone, an hour or more off.
_STRPTIME_DIRECTIVES = frozenset("aAwdbBmyYHIpMSfzjUWcxXGuV%")
_DIRECTIVE = re.compile(r"%(.?)")


def _pattern_problems(pattern: str) -> list[dict[str, str]]:
    for directive in _DIRECTIVE.findall(pattern):
        if directive == "Z":
            message = "%Z is matched and ignored by strptime: use %z (an offset), or time.zone"
            return [{"field": "time.pattern", "message": message}]
        if directive not in _STRPTIME_DIRECTIVES:
            return [
                {"field": "time.pattern", "message": f"%{directive} is not a strptime directive"}
            ]
    return []


def validate_mapping(data: object, *, name: str | None = None) -> FormatMapping | list[Error]:
    """The checked mapping, or every error with the mapping field it concerns."""
    if not isinstance(data, dict):
        return [{"field": "body", "message": "a mapping is an object (JSON or YAML mapping)"}]
    try:
        mapping = FormatMapping.model_validate(data)
    except ValidationError as exc:
        return [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
            for err in exc.errors()
        ]
    errors: list[Error] = []
    given = mapping.name
    if name is not None and given is not None and given != name:
        errors.append({"field": "name", "message": f"{given!r} differs from {name!r} in the URL"})
    problem = check_name(name or given or "")
    if problem is not None:
        errors.append({"field": "name", "message": problem})
    errors.extend(_field_errors(mapping))
    for where, path in mapping.paths().items():
        try:
            compile_path(path, mapping.body)
        except PathError as exc:
            errors.append({"field": where, "message": f"{path!r}: {exc}"})
    return errors or mapping.model_copy(update={"name": name or given})


def _field_errors(mapping: FormatMapping) -> list[Error]:
    errors: list[Error] = []
    for key in REQUIRED_FIELDS:
        if key not in mapping.fields:
            errors.append({"field": f"fields.{key}", "message": "required: a read needs it"})
    for key in mapping.fields:
        if key not in CANONICAL_FIELDS:
            known = ", ".join(sorted(CANONICAL_FIELDS))
            errors.append(
                {"field": f"fields.{key}", "message": f"not a read field; one of {known}"}
            )
    for part in ("location.lat", "location.lon"):
        other = "location.lon" if part == "location.lat" else "location.lat"
        if part in mapping.fields and other not in mapping.fields:
            errors.append({"field": f"fields.{other}", "message": f"needed with fields.{part}"})
    fmt, pattern = mapping.time.format, mapping.time.pattern
    if fmt is TimeFormat.STRFTIME and (pattern is None or "%" not in pattern):
        errors.append(
            {"field": "time.pattern", "message": "a strftime pattern such as %d/%m/%Y %H:%M:%S"}
        )
    if fmt is not TimeFormat.STRFTIME and pattern is not None:
        errors.append({"field": "time.pattern", "message": "only with time.format strftime"})
    if fmt is TimeFormat.STRFTIME and pattern is not None:
        errors.extend(_pattern_problems(pattern))
    zone = mapping.time.zone
    if zone != "camera":
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(
                {"field": "time.zone", "message": f"{zone!r}: `camera` or an IANA time zone"}
            )
    for raw, canonical in mapping.direction_values.items():
        if canonical not in DIRECTIONS:
            errors.append(
                {
                    "field": f"direction_values.{raw}",
                    "message": f"{canonical!r}: one of {', '.join(sorted(DIRECTIONS))}",
                }
            )
    return errors


def describe(mapping: FormatMapping) -> dict[str, Any]:
    """The mapping as stored and shown (`GET /v1/formats/{name}`): JSON, defaults filled in."""
    return mapping.model_dump(mode="json", exclude_none=True)
