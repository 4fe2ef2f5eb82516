"""Signing outbound notifications: HMAC-SHA256 over the timestamp and the body. Pure.

A request carries `X-ANPR-Timestamp: <unix seconds>` and
`X-ANPR-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>." + body)>`. Signing the
timestamp with the body lets a receiver refuse a captured request replayed later: it checks the
signature, then that the timestamp is recent (`verify` does both, in constant time).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-ANPR-Signature"
TIMESTAMP_HEADER = "X-ANPR-Timestamp"
DELIVERY_HEADER = "X-ANPR-Delivery"
EVENT_HEADER = "X-ANPR-Event"
ATTEMPT_HEADER = "X-ANPR-Attempt"
TARGET_HEADER = "X-ANPR-Target"
SCHEME = "sha256"
DEFAULT_TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-ANPR-Signature` value for `body` sent at `timestamp` (unix seconds)."""
    return _signature(secret, str(timestamp), body)


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str,
    *,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    now_s: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when the signature matches the body and timestamp, and the timestamp is within
    `tolerance_s` of `now_s`. What a receiver does (docs/notifications.md shows it standalone)."""
    if not timestamp_header or not signature_header:
        return False
    if not (timestamp_header.isascii() and timestamp_header.isdigit()):
        return False  # as the docs' verify: ASCII digits, not whatever int() reads
    if abs(now_s - int(timestamp_header)) > tolerance_s:
        return False
    expected = _signature(secret, timestamp_header, body)  # over the header as sent
    return hmac.compare_digest(expected.encode(), signature_header.strip().encode())
