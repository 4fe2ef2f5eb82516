"""Safe, bounded XML parsing into plain dicts keyed by local names.

Parsing goes through defusedxml with DTDs, entity declarations and external references forbidden,
so a billion-laughs or external-entity payload is refused before anything is expanded. Namespaces
vary by firmware (`http://www.hikvision.com/ver20/XMLSchema`, `.../ver10/...`,
`http://www.isapi.org/ver20/XMLSchema`, none), so elements are keyed by their local name only.
Vendors that put read data in attributes (Survision's `<decision plate="..."/>`) ask for them:
they come as `@name` keys, the element's own text then as `#text`, the usual XML-to-JSON form
that Survision's JSON push also uses.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from anpr.errors import AnprError
from ingest.adapters.errors import PayloadTooLarge, UnsafePayload

MAX_XML_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32

XmlValue = str | dict[str, Any] | list[Any]


class XmlError(AnprError):
    """Malformed or too deeply nested XML; the message says where."""


def local_name(tag: object) -> str:
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def parse_xml(data: bytes, *, attributes: bool = False) -> tuple[str, XmlValue]:
    """The root element's local name and its content as `to_value` gives it.

    Raises `UnsafePayload` for DTDs/entities, `PayloadTooLarge` over `MAX_XML_BYTES`, and
    `XmlError` for anything that is not well-formed.
    """
    if len(data) > MAX_XML_BYTES:
        raise PayloadTooLarge("body", f"XML document over {MAX_XML_BYTES // 1024} KiB")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafePayload(
            "body",
            f"XML with a DTD, entity or external reference is refused ({type(exc).__name__})",
        ) from exc
    except ParseError as exc:
        raise XmlError(f"not well-formed XML: {exc}") from exc
    except (ValueError, LookupError) as exc:  # an unknown or bad encoding declaration
        raise XmlError(f"unreadable XML: {exc}") from exc
    return local_name(root.tag), to_value(root, attributes=attributes)


def to_value(element: Element, depth: int = 0, *, attributes: bool = False) -> XmlValue:
    """A leaf becomes its stripped text; an element with children a dict of local names.

    A child name seen more than once holds a list. Attributes are kept only when asked for, as
    `@name` keys (with the text as `#text`).
    """
    if depth > MAX_DEPTH:
        raise XmlError(f"XML nested deeper than {MAX_DEPTH} levels")
    children = [child for child in element if local_name(child.tag)]
    text = (element.text or "").strip()
    attrs = {f"@{local_name(k)}": v for k, v in element.attrib.items()} if attributes else {}
    if not children and not attrs:
        return text
    out: dict[str, Any] = dict(attrs)
    if text and attrs:
        out["#text"] = text
    for child in children:
        name = local_name(child.tag)
        value = to_value(child, depth + 1, attributes=attributes)
        if name not in out:
            out[name] = value
        elif isinstance(out[name], _Repeated):
            out[name].append(value)
        else:
            out[name] = _Repeated([out[name], value])
    return out


class _Repeated(list[Any]):
    """A list made of repeated XML elements (so a repeated list child is not flattened)."""
