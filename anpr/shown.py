"""Checks on read content that people will be shown (issue 11, item 7): image URLs, embedded
JPEGs and vehicle descriptions. Pure; used by `anpr.reads.validate_read`.

The console renders everything escaped in any case; these checks keep what is stored to what a
camera can legitimately send: a link a browser may follow (http or https, nothing else: no
`javascript:`, `data:` or `file:`), an image that is a JPEG, and short plain text.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

MAX_URL = 2048
MAX_VEHICLE_TEXT = 64
JPEG_MAGIC = b"\xff\xd8\xff"


def shown_text_ok(text: str, limit: int) -> bool:
    """At most `limit` characters and no control characters."""
    return len(text) <= limit and text.isprintable()


def url_problem(text: str) -> str | None:
    if len(text) > MAX_URL:
        return f"at most {MAX_URL} characters"
    try:
        parts = urlsplit(text)
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "must be an http or https URL"
    if not text.isprintable() or " " in text:
        return "must not contain spaces or control characters"
    return None


def jpeg_problem(text: str) -> str | None:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return "must be base64 (RFC 4648, no line breaks)"
    if not data.startswith(JPEG_MAGIC):
        return "must be a JPEG image (base64 of bytes starting FF D8 FF)"
    return None


def image_problem(key: str, text: str) -> str | None:
    """Why `images.<key>` cannot be stored, or None."""
    if key.endswith("_url"):
        return url_problem(text)
    return jpeg_problem(text)
