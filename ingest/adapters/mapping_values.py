"""Values of a declarative mapping's fields: times under `time.format`, countries under
`country_code`, lanes and picture URLs. Pure; each gives None when unusable,
except `moment`, which raises `BadTime` saying why.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from xml.etree.ElementTree import Element

import pycountry

from anpr.formats import FormatMapping
from anpr.formats.paths import Path
from anpr.formats.spec import CountryCode, TimeFormat
from anpr.reads import BadTime
from ingest.adapters import fields as f
from ingest.adapters.country_codes import ALPHA3_TO_ALPHA2, GROUP_PREFIXES, OTHER_CODES, to_alpha2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def moment(raw: object, mapping: FormatMapping, tz: tzinfo) -> datetime:
    """The moment `raw` stands for under `time.format`; `BadTime` saying why when it is none."""
    fmt = mapping.time.format
    if raw is None or raw == "":
        raise BadTime("missing: a read needs the time it was captured")
    seen = shown(raw)
    if fmt in (TimeFormat.EPOCH_S, TimeFormat.EPOCH_MS):
        number = f.number(raw)
        if number is None or number <= 0:
            raise BadTime(f"{seen} is not a number of {fmt.value[6:]} since 1970 (time.format)")
        try:
            ms = round(number * 1000) if fmt is TimeFormat.EPOCH_S else round(number)
            return _EPOCH + timedelta(milliseconds=ms)
        except (OverflowError, ValueError):
            raise BadTime(f"{seen} is out of range (time.format {fmt.value})") from None
    if not isinstance(raw, str):
        raise BadTime(f"{seen} is not text: time.format {fmt.value} reads a string")
    if fmt is TimeFormat.RFC3339:
        found = f.moment(raw, tz) if not raw.strip().lstrip("-").isdigit() else None
        if found is None:
            raise BadTime(f"{seen} is not an RFC 3339 time (time.format)")
        return found
    pattern = mapping.time.pattern or ""
    try:
        parsed = datetime.strptime(raw.strip(), pattern)  # noqa: DTZ007 - zone applied below
    except ValueError:
        raise BadTime(f"{seen} does not match {pattern!r} (time.pattern)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def country(raw: object, form: CountryCode) -> str | None:
    """ISO alpha-2 from a code in the mapping's `country_code` form."""
    if form is CountryCode.AUTO:
        return f.country(raw)
    if form is CountryCode.NUMERIC:
        number = f.integer(raw)
        if number is None or not 0 < number < 1000:
            return None
        found = pycountry.countries.get(numeric=f"{number:03d}")
        return str(found.alpha_2) if found is not None else None
    text = f.text(raw, max_len=16)
    if text is None:
        return None
    tokens = [t for t in text.replace("_", "-").split("-") if t.strip()]
    if not tokens:  # a placeholder such as "-" or "_": no country
        return None
    code = tokens[1] if len(tokens) > 1 and tokens[0].upper() in GROUP_PREFIXES else tokens[0]
    code = code.strip().upper()
    if form is CountryCode.ALPHA2:
        return to_alpha2(code) if len(code) == 2 else None
    return ALPHA3_TO_ALPHA2.get(code, OTHER_CODES.get(code)) if len(code) == 3 else None


def first(path: Path, node: Any) -> object:
    """The first value `path` finds in `node` (an element's text for XML), or None."""
    found = path.find(node, "")
    if not found:
        return None
    value = found[0].value
    return (value.text or "").strip() or None if isinstance(value, Element) else value


def lane(raw: object) -> int | None:
    lane = f.integer(raw)
    return lane if lane is not None and 0 <= lane <= 32 else None


def url(raw: object) -> str | None:
    text = f.text(raw, max_len=2048)
    return text if text and text.startswith(("http://", "https://")) else None


def shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."
