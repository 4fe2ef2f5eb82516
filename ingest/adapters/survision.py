"""Survision LPR units' HTTP push: the unit's `anpr` message, JSON or XML.

The JSON is Survision's XML-to-JSON form, attributes as `@name`:
`{"anpr": {"@date": "1729206290098", "@id": "...", "decision": {"@plate": "AA123AA",
"@reliability": "80", "@context": "F", "jpeg": "<base64>"}}}`; the XML is the same message
(`<anpr date="..."><decision plate="..." reliability="80" context="F"><jpeg>...</jpeg>
</decision></anpr>`). `@date` is epoch ms (UTC); `@reliability` 0-100; `@context` the plate's
country as its international registration sign (`F`, `D`, `GB`, `NL`). The unit names itself in
the `Survision-Serial-Number` request header. Only a message with a `decision` is a read: the
`new`/`end` messages of a vehicle carry none. Any 2xx is delivered.
Sources: fr.survisiongroup.com/documentations/integration_doc.html (HTTP Push, dates,
reliability, country identification); a receiver reading the header and `anpr.@date`/
`decision.jpeg` (the search corpus, a Cloudflare worker for Survision pushes).
"""

from __future__ import annotations

from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.result import Collector, put
from ingest.adapters.xml import XmlValue

SERIAL_HEADER = "survision-serial-number"


class SurvisionAdapter(VendorAdapter):
    name = "survision"
    accepts_xml = True
    xml_attributes = True

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        if "anpr" not in record and len(record) == 1:  # a wrapper such as `<msg><anpr/></msg>`
            record = f.obj(next(iter(record.values()))) or record
        anpr = record.get("anpr")
        if isinstance(anpr, dict):
            _anpr(anpr, ctx, out)
        elif record:
            kind = next(iter(record))[:40]
            out.notice("body", f"Survision message {kind!r} carries no plate read; ignored")
        else:
            out.problem("anpr", "not a Survision anpr message")

    def xml(self, root: str, content: XmlValue, ctx: Context, out: Collector) -> None:
        self.record({root: content if isinstance(content, dict) else {}}, ctx, out)


def vendor_ids(ctx: Context) -> list[str]:
    """`survision:<serial number>` from the `Survision-Serial-Number` header."""
    serial = ctx.header(SERIAL_HEADER)
    return [f"survision:{serial}"] if serial else []


def _anpr(anpr: dict[str, Any], ctx: Context, out: Collector) -> None:
    decision = anpr.get("decision")
    if not isinstance(decision, dict):
        out.notice("anpr.decision", "an anpr message without a decision (a vehicle's start or end)")
        return
    index = out.take_index()
    read = out.begin(
        index,
        ("anpr.decision.@plate", f.text(decision.get("@plate"), max_len=64)),
        ("anpr.@date", f.captured_at(anpr.get("@date"), ctx.tz)),
    )
    if read is None:
        return
    put(read, "read_id", f.read_id(anpr.get("@id")))
    put(read, "confidence", f.confidence(decision.get("@reliability"), scale="percent"))
    put(read, "country", f.country(decision.get("@context")))
    put(read, "direction", f.direction(decision.get("@direction")))
    put(read, "images", f.pictures(overview_jpeg_b64=f.inline_jpeg_b64(decision.get("jpeg"))))
    out.add_read(read, vendor_ids(ctx), index)
