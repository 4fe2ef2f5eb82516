"""The shape every vendor adapter shares: open the body, then walk its document.

`VendorAdapter.parse` builds the camera's zone, the collector and the envelope once; a subclass
says what to do with each JSON record (`record`) or with the XML document (`xml`), or takes the
whole envelope (`walk`) when its vendor sends something else. `Context` carries what a record
needs besides itself: the camera's zone, the request's headers (names lower-cased; some vendors
name the device only there) and the pictures sent next to the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.envelope import INVALID, Envelope, load_json, load_xml, open_envelope, records
from ingest.adapters.multipart import Part
from ingest.adapters.result import PLAIN_OK, AdapterResult, Collector, SuccessResponse
from ingest.adapters.xml import XmlValue


@dataclass(frozen=True, slots=True)
class Context:
    tz: tzinfo
    headers: Mapping[str, str] = field(default_factory=dict)
    pictures: list[Part] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """A request header's value (blank or absent: None)."""
        return f.text(self.headers.get(name.lower()), max_len=128)


class VendorAdapter:
    """An `Adapter` (see `result.py`) built from per-record hooks."""

    name = ""
    success_response: SuccessResponse = PLAIN_OK
    accepts_xml = False  # else an XML body is a payload problem, never parsed
    xml_attributes = False  # keep XML attributes as `@name` keys

    def parse(
        self,
        body: bytes,
        content_type: str | None,
        *,
        camera_tz: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AdapterResult:
        tz = self.zone(camera_tz)
        out = Collector(self.success_response)
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        envelope = self.open(body, content_type, out)
        if envelope is not None:
            self.walk(envelope, Context(tz, lowered, envelope.pictures), out)
        return out.result

    def zone(self, camera_tz: str | None) -> tzinfo:
        """The zone of times without an offset: the camera's (UTC when it has none)."""
        return f.zone(camera_tz)

    def open(self, body: bytes, content_type: str | None, out: Collector) -> Envelope | None:
        return open_envelope(body, content_type, out)

    def walk(self, envelope: Envelope, ctx: Context, out: Collector) -> None:
        if envelope.kind == "xml" and self.accepts_xml:
            parsed = load_xml(envelope, out, attributes=self.xml_attributes)
            if parsed is not None:
                self.xml(parsed[0], parsed[1], ctx, out)
            return
        document = load_json(envelope, out)
        if document is not INVALID:
            for record in records(document, out):
                self.record(record, ctx, out)

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        out.problem("body", f"expected an XML document from {self.name}, got JSON")

    def xml(self, root: str, content: XmlValue, ctx: Context, out: Collector) -> None:
        """The XML document of an adapter with `accepts_xml`."""
