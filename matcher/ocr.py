"""OCR skeletons and variant codes: how two plates of the same skeleton differ, as integers.

A plate entry is stored as its skeleton (each character replaced by its OCR class representative,
contract section 6), as ASCII bytes, plus a *variant code*: the base-4 number whose digit i is the
index of the plate's character i within its OCR class (0 for the representative and for characters
in no class). Two plates with the same skeleton are equal exactly when their codes are equal, and
the number of positions where they differ is the number of base-4 digits where the codes differ,
counted with a couple of integer operations. Codes below 257 are cached small ints in CPython, so
most plates cost nothing beyond their skeleton.

Bytes rather than str: `bytes.translate` is several times faster than `str.translate` with a
mapping table, and a short bytes object is 16 bytes smaller than the same str.

Plates of other scripts (contract section 6 keeps Thai, Arabic, Chinese... letters) are UTF-8:
every byte of a non-ASCII character is its own position in no OCR class (variant digit 0). Two
plates with the same skeleton still differ only at OCR-class positions, so exact and `ocr`
matching are unchanged. `fuzzy` counts characters, not bytes (`matcher.fuzzy`).
"""

from __future__ import annotations

from anpr.normalize import OCR_CLASSES


def _table(mapping: dict[str, str]) -> bytes:
    table = bytearray(range(256))
    for source, target in mapping.items():
        table[ord(source)] = ord(target)
    return bytes(table)


SKELETON_BYTES = _table({ch: cls[0] for cls in OCR_CLASSES for ch in cls})
# Every byte is a base-4 digit: its index in its OCR class, 0 for any other byte (UTF-8 bytes of
# non-Latin letters included).
_VARIANT_DIGITS = {ord(ch): ord(str(i)) for cls in OCR_CLASSES for i, ch in enumerate(cls)}
_VARIANT_BYTES = bytes(_VARIANT_DIGITS.get(b, ord("0")) for b in range(256))
_CLASS_OF = {ord(cls[0]): cls for cls in OCR_CLASSES}
# Bit 0 of every base-4 digit, for up to 64 digits (16 characters of up to 4 UTF-8 bytes).
_LOW_BITS = int("01" * 64, 2)


def skeleton_of(plate: str) -> bytes:
    """The skeleton of a normalized plate, as ASCII bytes."""
    return plate.encode().translate(SKELETON_BYTES)


def variant_code(plate: bytes) -> int:
    """The variant code of a normalized plate given as ASCII bytes (see the module docstring)."""
    return int(plate.translate(_VARIANT_BYTES), 4)


def differing_positions(code_a: int, code_b: int) -> int:
    """Positions where two plates of the same skeleton differ, from their variant codes."""
    x = code_a ^ code_b
    return ((x | (x >> 1)) & _LOW_BITS).bit_count()


def plate_of(skeleton: bytes, code: int) -> str:
    """The plate with this skeleton and variant code (the inverse of the functions above)."""
    out = bytearray(skeleton)
    position = len(out) - 1
    while code:
        digit = code & 3
        if digit:
            out[position] = ord(_CLASS_OF[skeleton[position]][digit])
        code >>= 2
        position -= 1
    return out.decode()
