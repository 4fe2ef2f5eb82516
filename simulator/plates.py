"""Realistic European plates for benchmarks: deterministic for a seed, with OCR-style misreads.

Formats (display form, as a camera might report it):

- Belgium  `1-ABC-123`: series digit, three letters, three digits;
- Netherlands sidecodes 6-11, e.g. `GB-123-K`, `K-123-BD`, `12-GBD-3`, `1-KBD-23`, `GBD-12-K`
  (no vowels, as Dutch plates);
- France (SIV) `AB-123-CD` (no I, O or U);
- Germany `B-AB 1234`: district code of 1-3 letters, 1-2 letters, 1-4 digits;
- Luxembourg `AB 1234`.

The mix leans Belgian, as for a deployment in Belgium. `misread_ocr` swaps characters within
their OCR class (8/B, 0/O/D/Q, ...), `misread_edit` inserts, deletes or replaces a character,
`pattern_from` makes a partial-plate pattern like a witness would give.
"""

from __future__ import annotations

import itertools
import random
import string

from anpr.normalize import OCR_CLASSES

LETTERS = string.ascii_uppercase
DIGITS = string.digits
NL_LETTERS = "BDFGHJKLNPRSTVXZ"
FR_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"
DE_DISTRICTS = (
    "B", "M", "K", "F", "S", "D", "E", "H", "L", "N", "HH", "HB", "DO", "DU", "KA", "MA", "WI",
    "AC", "BN", "GE", "MG", "MS", "OB", "BO", "KR", "LEV", "RO", "REK", "SLS", "TUT", "WAF",
)  # fmt: skip
# (country, weight)
MIX = (("BE", 40), ("NL", 20), ("FR", 20), ("DE", 15), ("LU", 5))
_CLASS_OF = {ch: cls for cls in OCR_CLASSES for ch in cls}


class PlateGenerator:
    """Plates in display form with their country; `normalized` strips separators."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._countries = [country for country, _ in MIX]
        self._cum_weights = list(itertools.accumulate(weight for _, weight in MIX))

    def _pick(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def plate(self) -> tuple[str, str]:
        """(display plate, country)."""
        country = self.rng.choices(self._countries, cum_weights=self._cum_weights)[0]
        pick, rng = self._pick, self.rng
        if country == "BE":
            return f"{rng.randint(1, 2)}-{pick(LETTERS, 3)}-{pick(DIGITS, 3)}", country
        if country == "NL":
            side = rng.randrange(5)
            if side == 0:
                return f"{pick(NL_LETTERS, 2)}-{pick(DIGITS, 3)}-{pick(NL_LETTERS, 1)}", country
            if side == 1:
                return f"{pick(NL_LETTERS, 1)}-{pick(DIGITS, 3)}-{pick(NL_LETTERS, 2)}", country
            if side == 2:
                return f"{pick(DIGITS, 2)}-{pick(NL_LETTERS, 3)}-{pick(DIGITS, 1)}", country
            if side == 3:
                return f"{pick(DIGITS, 1)}-{pick(NL_LETTERS, 3)}-{pick(DIGITS, 2)}", country
            return f"{pick(NL_LETTERS, 3)}-{pick(DIGITS, 2)}-{pick(NL_LETTERS, 1)}", country
        if country == "FR":
            return f"{pick(FR_LETTERS, 2)}-{rng.randint(1, 999):03d}-{pick(FR_LETTERS, 2)}", country
        if country == "DE":
            district = rng.choice(DE_DISTRICTS)
            letters = pick(LETTERS, rng.randint(1, 2))
            return f"{district}-{letters} {rng.randint(1, 9999)}", country
        return f"{pick(LETTERS, 2)} {rng.randint(1000, 9999)}", country

    @staticmethod
    def normalized(display: str) -> str:
        return display.replace("-", "").replace(" ", "")

    def misread_ocr(self, plate: str, changes: int = 1) -> str:
        """Swap up to `changes` characters for an OCR look-alike (if the plate has any)."""
        chars = list(plate)
        confusable = [i for i, ch in enumerate(chars) if ch in _CLASS_OF]
        for i in self.rng.sample(confusable, min(changes, len(confusable))):
            chars[i] = self.rng.choice([c for c in _CLASS_OF[chars[i]] if c != chars[i]])
        return "".join(chars)

    def misread_edit(self, plate: str) -> str:
        """One insertion, deletion or replacement by a character of another OCR class."""
        rng = self.rng
        i = rng.randrange(len(plate))
        op = rng.randrange(3)
        if op == 0:
            return plate[:i] + rng.choice(LETTERS + DIGITS) + plate[i:]
        if op == 1 and len(plate) > 5:
            return plate[:i] + plate[i + 1 :]
        others = [c for c in LETTERS + DIGITS if c not in _CLASS_OF.get(plate[i], plate[i])]
        return plate[:i] + rng.choice(others) + plate[i + 1 :]

    def pattern_from(self, plate: str) -> str:
        """A partial plate: one or two characters unknown (`?`), or the start or end unknown."""
        rng = self.rng
        style = rng.randrange(3)
        if style == 0:
            chars = list(plate)
            for i in rng.sample(range(len(chars)), rng.randint(1, 2)):
                chars[i] = "?"
            return "".join(chars)
        if style == 1:
            return plate[: len(plate) - 2] + "*"
        return "*" + plate[2:]
