"""What a camera's OCR makes of a plate: confusable characters, a missing or extra character,
lower confidence, and alternative readings as candidates. Pure and deterministic for a seed.

`ReadNoise.observe(plate)` turns the true plate (display form, e.g. `1-ABC-123`) into what the
camera reports. Most reads are clean; a share has one or two characters swapped within their OCR
class (8/B, 0/O/D/Q, ...), a smaller share loses or gains a character. A noisy read gets a lower
confidence, and often carries the true plate among its candidates, as real engines do.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from enum import StrEnum

from anpr.normalize import OCR_CLASSES

ALPHANUMERIC = string.ascii_uppercase + string.digits
_CLASS_OF = {ch: cls for cls in OCR_CLASSES for ch in cls}
MIN_EDITED_LEN = 3


class Misread(StrEnum):
    """How the reported plate differs from the true one."""

    CLEAN = "clean"
    CONFUSABLE = "confusable"  # one or two characters swapped within their OCR class
    MISSING = "missing"  # one character dropped
    EXTRA = "extra"  # one character added


@dataclass(frozen=True, slots=True)
class NoiseConfig:
    """Shares of reads per kind of misread, and of reads that carry candidates."""

    confusable: float = 0.06
    missing: float = 0.015
    extra: float = 0.015
    candidates: float = 0.35
    low_confidence: float = 0.05  # clean reads with a poor confidence anyway (dirt, night)

    def __post_init__(self) -> None:
        shares = (self.confusable, self.missing, self.extra, self.candidates, self.low_confidence)
        if any(not 0.0 <= s <= 1.0 for s in shares):
            raise ValueError("noise shares must be from 0 to 1")
        if self.confusable + self.missing + self.extra > 1.0:
            raise ValueError("confusable + missing + extra must be at most 1")


@dataclass(frozen=True, slots=True)
class Observation:
    """A plate as reported: the text, a confidence, alternative readings (best first)."""

    plate: str
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    misread: Misread


def compact(display: str) -> str:
    """The plate without separators (`1-ABC-123` -> `1ABC123`)."""
    return display.replace("-", "").replace(" ", "")


class ReadNoise:
    def __init__(self, rng: random.Random, config: NoiseConfig | None = None) -> None:
        self.rng = rng
        self.config = config or NoiseConfig()

    # --- single distortions (each returns a plate in compact form) -------------------------

    def confusable(self, plate: str, changes: int = 1) -> str:
        """Swap up to `changes` characters for an OCR look-alike (unchanged if it has none)."""
        chars = list(compact(plate))
        spots = [i for i, ch in enumerate(chars) if ch in _CLASS_OF]
        for i in self.rng.sample(spots, min(changes, len(spots))):
            chars[i] = self.rng.choice([c for c in _CLASS_OF[chars[i]] if c != chars[i]])
        return "".join(chars)

    def missing(self, plate: str) -> str:
        """One character dropped (plates shorter than 3 stay whole)."""
        text = compact(plate)
        if len(text) < MIN_EDITED_LEN:
            return text
        i = self.rng.randrange(len(text))
        return text[:i] + text[i + 1 :]

    def inserted(self, plate: str) -> str:
        """One character added: a doubled character or a stray mark read as a letter/digit."""
        text = compact(plate)
        i = self.rng.randrange(len(text) + 1)
        if text and self.rng.random() < 0.5:
            ch = text[min(i, len(text) - 1)]
        else:
            ch = self.rng.choice(ALPHANUMERIC)
        return text[:i] + ch + text[i:]

    # --- a whole observation ---------------------------------------------------------------

    def observe(self, display: str) -> Observation:
        """What a camera reports for a car whose plate is `display`."""
        rng, cfg = self.rng, self.config
        roll = rng.random()
        if roll < cfg.confusable:
            misread, plate = Misread.CONFUSABLE, self.confusable(display, rng.randint(1, 2))
        elif roll < cfg.confusable + cfg.missing:
            misread, plate = Misread.MISSING, self.missing(display)
        elif roll < cfg.confusable + cfg.missing + cfg.extra:
            misread, plate = Misread.EXTRA, self.inserted(display)
        else:
            misread, plate = Misread.CLEAN, display
        if misread is Misread.CLEAN:
            poor = rng.random() < cfg.low_confidence
            confidence = rng.uniform(0.35, 0.6) if poor else rng.uniform(0.82, 0.99)
        else:
            confidence = rng.uniform(0.3, 0.75)
        candidates: tuple[tuple[str, float], ...] = ()
        if misread is not Misread.CLEAN or rng.random() < cfg.candidates:
            candidates = self.alternatives(display, plate, misread, confidence)
        return Observation(plate, round(confidence, 3), candidates, misread)

    def alternatives(
        self, display: str, reported: str, misread: Misread, confidence: float
    ) -> tuple[tuple[str, float], ...]:
        """One to three other readings with lower confidences; for a misread, usually the truth."""
        rng = self.rng
        seen = {compact(reported)}
        out: list[tuple[str, float]] = []
        truth = compact(display)
        if misread is not Misread.CLEAN and truth not in seen and rng.random() < 0.8:
            out.append((truth, round(confidence * rng.uniform(0.7, 0.95), 3)))
            seen.add(truth)
        for _ in range(rng.randint(0, 2)):
            alt = self.confusable(display)
            if alt not in seen:
                seen.add(alt)
                out.append((alt, round(confidence * rng.uniform(0.3, 0.7), 3)))
        if not out:
            alt = self.inserted(display) if rng.random() < 0.5 else self.missing(display)
            if alt not in seen:
                out.append((alt, round(confidence * rng.uniform(0.2, 0.5), 3)))
        return tuple(out)
