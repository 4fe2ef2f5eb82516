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
"""

from __future__ import annotations

from anpr.normalize import OCR_CLASSES

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _table(mapping: dict[str, str]) -> bytes:
    table = bytearray(range(256))
    for source, target in mapping.items():
        table[ord(source)] = ord(target)
    return bytes(table)


SKELETON_BYTES = _table({ch: cls[0] for cls in OCR_CLASSES for ch in cls})
_VARIANT_BYTES = _table(
    {ch: "0" for ch in _ALPHABET} | {ch: str(i) for cls in OCR_CLASSES for i, ch in enumerate(cls)}
)
_CLASS_OF = {ord(cls[0]): cls for cls in OCR_CLASSES}
# Bit 0 of every base-4 digit, for up to 32 digits (plates are at most 16 characters).
_LOW_BITS = int("01" * 32, 2)


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
    chars = [chr(ch) for ch in skeleton]
    position = len(chars) - 1
    while code:
        digit = code & 3
        if digit:
            chars[position] = _CLASS_OF[skeleton[position]][digit]
        code >>= 2
        position -= 1
    return "".join(chars)
