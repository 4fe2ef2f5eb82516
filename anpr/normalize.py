"""Plate normalization and OCR skeletons (contract section 6).

Every plate string, from a camera or a hotlist, goes through `normalize_plate` before it is
compared with anything. `skeleton` maps each character to its OCR confusion class so plates that
OCR engines confuse (0/O/D/Q, 1/I, ...) compare equal.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Cyrillic and Greek capitals that look like Latin letters. Lower-case forms are reached by
# upper-casing first.
LOOKALIKES = {
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}  # fmt: skip
_LOOKALIKE_TABLE = str.maketrans(LOOKALIKES)
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

# OCR confusion classes; the first member is the class representative.
OCR_CLASSES: tuple[str, ...] = ("0ODQ", "1I", "2Z", "5S", "6G", "8B")
_SKELETON_TABLE = str.maketrans({ch: cls[0] for cls in OCR_CLASSES for ch in cls})


# Unicode general categories kept outside ASCII: letters and decimal digits. Combining marks (M*),
# separators, punctuation and symbols are removed.
_KEPT_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})


def _kept(ch: str) -> bool:
    if ch in _ALLOWED:
        return True
    return not ch.isascii() and unicodedata.category(ch) in _KEPT_CATEGORIES


@lru_cache(maxsize=65536)
def normalize_plate(raw: str) -> str:
    """Normalize a plate string (contract section 6, amended): NFKD without combining marks,
    Cyrillic/Greek look-alikes to Latin, upper case, only letters and digits kept.

    Letters of other scripts (Thai, Arabic, Chinese, ...) stay themselves, upper-cased where the
    script has case, so `"กข 1234"` is `กข1234`, never `1234`."""
    if raw.isascii():
        upper = raw.upper()
        if upper.isalnum():
            return upper
        return "".join(ch for ch in upper if ch in _ALLOWED)
    # Marks go before upper-casing: one of them (U+0345, the Greek iota subscript of ᾳ)
    # upper-cases to the letter Ι, which the look-alike table would make an I.
    decomposed = "".join(
        ch for ch in unicodedata.normalize("NFKD", raw) if unicodedata.category(ch)[0] != "M"
    )
    # Upper-case before the look-alike table so lower-case Cyrillic/Greek map too; then decompose
    # once more because upper-casing can produce characters with marks (e.g. ΐ).
    upper = unicodedata.normalize("NFKD", decomposed.upper()).translate(_LOOKALIKE_TABLE)
    return "".join(ch for ch in upper if _kept(ch))


def is_latin(plate_norm: str) -> bool:
    """Whether a normalized plate is A-Z and 0-9 only (for counting the other reads)."""
    return plate_norm.isascii()


def skeleton(plate: str) -> str:
    """Replace each character of a normalized plate by its OCR class representative."""
    return plate.translate(_SKELETON_TABLE)


def normalize_pattern(raw: str) -> str:
    """Normalize a hotlist pattern: `?` and `*` kept, other characters normalized like a plate.

    NFKD comes first, as for a plate, so a wildcard typed in a compatibility form (full-width
    `＊` and `？`, small `﹡`, `⁇`) is a wildcard, not a symbol to drop."""
    out: list[str] = []
    for ch in raw if raw.isascii() else unicodedata.normalize("NFKD", raw):
        if ch in "?*":
            out.append(ch)
        else:
            out.append(normalize_plate(ch))
    # Collapse runs of `*`: they mean the same as one.
    text = "".join(out)
    while "**" in text:
        text = text.replace("**", "*")
    return text


def normalize_zone(name: str) -> str:
    """A zone name as compared: Unicode NFKC, trimmed. The same zone typed on a camera and on a
    hotlist entry (composed or decomposed accents, full-width forms) is the same zone."""
    return unicodedata.normalize("NFKC", name).strip()
