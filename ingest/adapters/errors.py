"""The only exceptions an adapter raises: a payload refused as a whole.

Everything else that is wrong with a payload (bad JSON, a read without a plate, a time that is not a
time) comes back as a `problem` in the `AdapterResult`, so one bad read never costs the good ones.
An `AdapterError` means the payload must not be looked at any further; the gateway answers it
with a 4xx carrying `field` and `message` (413 for `PayloadTooLarge`, 422 otherwise).
"""

from __future__ import annotations

from anpr.errors import AnprError


class AdapterError(AnprError):
    """A vendor payload refused as a whole; `field` names what was wrong, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class UnsafePayload(AdapterError):
    """XML with a DTD, an entity declaration or an external reference: never expanded, refused."""


class PayloadTooLarge(AdapterError):
    """A body, or a part of it, over the adapter's bound; the gateway answers 413."""
