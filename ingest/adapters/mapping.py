"""A declarative mapping (`anpr.formats`) run as an adapter: same contract as the built-in ones.

`MappingAdapter(mapping).parse(body, content_type, camera_tz=...)` is pure and raises nothing but
`AdapterError`. Each problem names the payload path in `field` and starts its message with the
mapping field that looked there (`fields.captured_at 'ts': ...`), so whoever wrote the mapping
sees which line to fix and where in the payload it went wrong.

Values are coerced exactly as the built-in adapters coerce them (`ingest.adapters.fields`), so a
built-in format re-expressed as a mapping gives the same reads. XML is parsed by defusedxml (no
DTD, no entity, no external reference) and its tags lose their namespaces before any XPath runs.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from anpr.formats import FormatMapping
from anpr.formats.paths import Path
from anpr.reads import BadTime
from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.envelope import (
    INVALID,
    MAX_RECORDS,
    Envelope,
    json_type,
    load_json,
    records,
)
from ingest.adapters.errors import PayloadTooLarge, UnsafePayload
from ingest.adapters.mapping_values import country, first, lane, moment, shown, url
from ingest.adapters.result import (
    CandidateIn,
    CanonicalRead,
    Collector,
    SuccessResponse,
    put,
)
from ingest.adapters.xml import MAX_XML_BYTES, local_name

Record = tuple[Any, str]  # a read record (JSON object or XML element) and where it is


class MappingAdapter(VendorAdapter):
    """The gateway's adapter for one registered mapping: `VendorAdapter` opens the body, the
    mapping's paths walk it."""

    def __init__(self, mapping: FormatMapping) -> None:
        self.mapping = mapping
        self.name = mapping.name or "mapping"
        success = mapping.success
        self.success_response = SuccessResponse(
            success.status, success.content_type, success.body.encode("utf-8")
        )
        self._paths: dict[str, Path] = mapping.compiled()

    def zone(self, camera_tz: str | None) -> tzinfo:
        """The mapping's `time.zone`: a fixed zone, or `camera` for the camera's."""
        zone = self.mapping.time.zone
        return f.zone(camera_tz if zone == "camera" else zone)

    def walk(self, envelope: Envelope, ctx: Context, out: Collector) -> None:
        """Request headers reach `ctx` like every adapter's; a mapping names no header (yet)."""
        if self.mapping.body == "json":
            document = load_json(envelope, out)
            found = [] if document is INVALID else self._json_reads(document, out)
        else:
            wrapper = _load_xml(envelope, out)
            document = wrapper
            found = [] if wrapper is None else self._xml_reads(wrapper, out)
        if len(found) > MAX_RECORDS:
            # Refused whole, as /v1/reads refuses over 1,000 reads: taking the first 1,000 and
            # answering success lost the rest for good (the device does not send them again).
            raise PayloadTooLarge(
                "reads", f"{len(found)} reads in one payload; at most {MAX_RECORDS}: split it"
            )
        for record, where in found:
            _Read(self, document, record, where, ctx.tz, out).take()
        if not found and not out.result.problems:
            out.notice("reads", f"no read at {self.mapping.reads or 'the document'}")

    def _json_reads(self, document: Any, out: Collector) -> list[Record]:
        path = self._paths.get("reads")
        if path is None:
            return [(r, f"[{i}]" if isinstance(document, list) else "$") for i, r in
                    enumerate(records(document, out))]  # fmt: skip
        taken: list[Record] = []
        for hit in path.find(document, "$"):
            items = enumerate(hit.value) if isinstance(hit.value, list) else [(None, hit.value)]
            for i, item in items:
                where = hit.where if i is None else f"{hit.where}[{i}]"
                if isinstance(item, dict):
                    taken.append((item, where))
                else:
                    out.problem(where, f"reads {path.text!r}: expected an object, got "
                                f"{json_type(item)}")  # fmt: skip
        return taken

    def _xml_reads(self, wrapper: Element, out: Collector) -> list[Record]:
        path = self._paths.get("reads")
        if path is None:
            root = wrapper[0]
            return [(root, f"/{root.tag}")]
        taken: list[Record] = []
        for hit in path.find(wrapper, ""):
            if isinstance(hit.value, Element):
                taken.append((hit.value, hit.where if hit.where.startswith("/") else
                              f"/{hit.where}"))  # fmt: skip
            else:
                out.problem(hit.where, f"reads {path.text!r}: expected elements, got an attribute")
        return taken

    def path(self, key: str) -> Path | None:
        return self._paths.get(f"fields.{key}")


class _Read:
    """One read record being turned into a canonical read."""

    def __init__(
        self, adapter: MappingAdapter, document: Any, record: Any, where: str, tz: tzinfo,
        out: Collector,
    ) -> None:  # fmt: skip
        self.adapter = adapter
        self.mapping = adapter.mapping
        self.document = document
        self.record = record
        self.where = where
        self.tz = tz
        self.out = out
        self.index = out.take_index()

    def value(self, key: str) -> tuple[object, str]:
        """The value of canonical field `key` (None when absent) and where it was looked for."""
        path = self.adapter.path(key)
        if path is None:
            return None, ""
        node = self.document if path.from_document else self.record
        base = "" if path.from_document else self.where
        found = path.find(node, base)
        if not found:
            sep = "/" if self.mapping.body == "xml" else "."
            return None, f"{base}{sep}{path.text}" if base else path.text
        hit = found[0]
        if isinstance(hit.value, Element):
            return (hit.value.text or "").strip() or None, hit.where
        return hit.value, hit.where

    def problem(self, key: str, where: str, message: str) -> None:
        text = self.mapping.fields[key]
        self.out.problem(where or self.where, f"fields.{key} {text!r}: {message}", self.index)

    def notice(self, key: str, where: str, message: str) -> None:
        text = self.mapping.fields[key]
        self.out.notice(where or self.where, f"fields.{key} {text!r}: {message}", self.index)

    def take(self) -> None:
        raw_plate, at = self.value("plate")
        plate = f.text(raw_plate, max_len=64)
        if plate is None:
            self.problem("plate", at, "missing or empty: a read needs a plate")
            return
        raw_time, at = self.value("captured_at")
        try:
            when = moment(raw_time, self.mapping, self.tz)
        except BadTime as exc:
            self.problem("captured_at", at, exc.message)
            return
        read: CanonicalRead = {"captured_at": f.rfc3339(when), "plate": plate}
        self.optional(read)
        self.out.add_read(read, self.vendor_ids(), self.index)

    def optional(self, read: CanonicalRead) -> None:
        m = self.mapping
        put(read, "read_id", self.coerce("read_id", f.read_id))
        percent = m.confidence_scale.value == "0-100"
        put(read, "confidence", self.coerce("confidence",
            lambda v: f.confidence(v, scale="percent" if percent else "unit")))  # fmt: skip
        put(read, "country", self.coerce("country", lambda v: country(v, m.country_code)))
        put(read, "direction", self.coerce("direction", self.direction))
        put(read, "lane", self.coerce("lane", lane))
        vehicle = {k: self.coerce(f"vehicle.{k}", f.label) for k in ("make", "model", "color",
                                                                      "class")}  # fmt: skip
        put(read, "vehicle", {k: v for k, v in vehicle.items() if isinstance(v, str)} or None)
        images = {
            "plate_jpeg_b64": self.coerce("images.plate_jpeg_b64", f.inline_jpeg_b64),
            "overview_jpeg_b64": self.coerce("images.overview_jpeg_b64", f.inline_jpeg_b64),
            "plate_url": self.coerce("images.plate_url", url),
            "overview_url": self.coerce("images.overview_url", url),
        }
        put(read, "images", {k: v for k, v in images.items() if isinstance(v, str)} or None)
        if m.candidates is not None:
            put(read, "candidates", self.candidates(read["plate"]) or None)
        if self.adapter.path("location.lat") is not None:
            lat, _ = self.value("location.lat")
            lon, _ = self.value("location.lon")
            put(read, "location", f.location(lat, lon))

    def coerce(self, key: str, convert: Any) -> Any:
        """The canonical value of an optional field; an unusable one is a notice, not a fault."""
        raw, at = self.value(key)
        if raw is None or raw == "":
            return None
        found = convert(raw)
        if found is None and f.label(raw) is not None:
            self.notice(key, at, f"{shown(raw)} is not usable; the read is kept without it")
        return found

    def candidates(self, plate: str) -> list[CandidateIn]:
        """Alternative readings, as the built-ins keep them: own plate and repeats left out."""
        paths = self.adapter._paths
        where = paths["candidates.path"]
        found = where.find(self.document if where.from_document else self.record, self.where)
        items: list[Any] = []
        for hit in found:
            items.extend(hit.value if isinstance(hit.value, list) else [hit.value])
        percent = self.mapping.confidence_scale.value == "0-100"
        options: list[tuple[object, float | None]] = []
        for item in items[:50]:
            raw_plate = first(paths["candidates.plate"], item)
            score = paths.get("candidates.confidence")
            conf = f.confidence(first(score, item), scale="percent" if percent else "unit") \
                if score is not None else None  # fmt: skip
            options.append((raw_plate, conf))
        return f.candidates(plate, options)

    def direction(self, raw: object) -> str | None:
        text = f.text(raw)
        if text is None:
            return None
        table = self.mapping.direction_values
        found = table.get(text) or {k.lower(): v for k, v in table.items()}.get(text.lower())
        if found is None and text.lower() in ("approaching", "receding", "unknown"):
            return text.lower()
        return found

    def vendor_ids(self) -> list[str]:
        """`<name>:<v1>:<v2>`, then `<name>:<v1>`: the most specific identity first."""
        values: list[str] = []
        for i, _ in enumerate(self.mapping.camera):
            path = self.adapter._paths[f"camera[{i}]"]
            node = self.document if path.from_document else self.record
            found = path.find(node, self.where)
            raw = found[0].value if found else None
            if isinstance(raw, Element):
                raw = (raw.text or "").strip()
            text = f.text(raw, max_len=128)
            if text is None:
                break
            values.append(text)
        return [f"{self.adapter.name}:{':'.join(values[:n])}" for n in range(len(values), 0, -1)]


def _load_xml(envelope: Envelope, out: Collector) -> Element | None:
    """The document wrapped in a `<document>` element, namespaces dropped; None when unusable."""
    if envelope.kind != "xml":
        out.problem("body", "expected an XML document (the mapping's body), got JSON")
        return None
    data = envelope.document
    if len(data) > MAX_XML_BYTES:
        raise PayloadTooLarge("body", f"XML document over {MAX_XML_BYTES // 1024} KiB")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafePayload(
            "body",
            f"XML with a DTD, entity or external reference is refused ({type(exc).__name__})",
        ) from exc
    except (ParseError, ValueError, LookupError) as exc:
        out.problem("body", f"not well-formed XML: {exc}")
        return None
    for element in root.iter():
        element.tag = local_name(element.tag) or "comment"
        if element.attrib:
            element.attrib = {local_name(k): v for k, v in element.attrib.items()}
    wrapper = Element("document")
    wrapper.append(root)
    return wrapper
