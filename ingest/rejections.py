"""Why a read was rejected, in a few words an integrator can act on (`captured_at without offset`).

The metric label stays the field root (`ingest.pipeline.reason_of`); this finer wording travels
only on the gateway-events topic (`rejected_by_detail`), where the API's rollout report quotes the
dominant one for a stuck camera. The vocabulary is bounded: a field root and one of a few words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from anpr.reads import FieldError

_NAIVE_TIME = re.compile(r"\s*\d{4}-?\d{2}-?\d{2}[Tt ]\d{2}:?\d{2}(:?\d{2}([.,]\d+)?)?\s*")
_WORDS = (
    ("in the future", "in the future"),
    ("older than", "too old"),
    ("required", "missing"),
    ("must be a number", "out of range"),
    ("letters or digits", "empty once normalized"),
    ("alpha-2", "not ISO alpha-2"),
    ("512 KiB", "too large"),
)


def detail_of(errors: Sequence[FieldError], raw: object) -> str:
    """The first error in a bounded wording: `<field root> <what>`."""
    if not errors:
        return "other"
    first = errors[0]
    root = first.field.split(".", 1)[0].split("[", 1)[0][:20] or "read"
    if root == "captured_at" and first.message.startswith("must be RFC 3339"):
        value = raw.get("captured_at") if isinstance(raw, dict) else None
        if isinstance(value, str) and _NAIVE_TIME.fullmatch(value):
            return "captured_at without offset"
        return "captured_at not a time"
    for needle, words in _WORDS:
        if needle in first.message:
            return f"{root} {words}"
    return f"{root} invalid"
