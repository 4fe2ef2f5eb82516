"""Signing: the signature a receiver recomputes, and what `verify` refuses."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify.signing import signature, verify

SECRET = "s3cret-0123456789abcdef"
BODY = b'{"v":1,"event":"hit"}'
TS = 1_700_000_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, TS, BODY) == f"sha256={expected}"


@pytest.mark.parametrize(
    ("case", "secret", "body", "ts_header", "sig_header", "now", "ok"),
    [
        ("valid", SECRET, BODY, str(TS), None, TS + 1, True),
        ("valid at the tolerance edge", SECRET, BODY, str(TS), None, TS + 300, True),
        ("replayed after the tolerance", SECRET, BODY, str(TS), None, TS + 301, False),
        ("timestamp from the future", SECRET, BODY, str(TS), None, TS - 301, False),
        ("body changed", SECRET, BODY + b" ", str(TS), None, TS, False),
        ("other secret", "another-secret-0123456", BODY, str(TS), None, TS, False),
        ("timestamp header changed", SECRET, BODY, str(TS + 1), None, TS, False),
        ("timestamp not a number", SECRET, BODY, "yesterday", None, TS, False),
        ("no timestamp", SECRET, BODY, None, None, TS, False),
        ("no signature", SECRET, BODY, str(TS), "", TS, False),
        ("bare hex without scheme", SECRET, BODY, str(TS), "bare", TS, False),
    ],
)
def test_verify(
    case: str,
    secret: str,
    body: bytes,
    ts_header: str | None,
    sig_header: str | None,
    now: int,
    ok: bool,
) -> None:
    signed = signature(SECRET, TS, BODY)
    if sig_header is None:
        sig_header = signed
    elif sig_header == "bare":
        sig_header = signed.removeprefix("sha256=")
    result = verify(
        secret, body=body, timestamp_header=ts_header, signature_header=sig_header, now_s=now
    )
    assert result is ok, case


@given(
    secret=st.text(min_size=16, max_size=64), body=st.binary(max_size=512), ts=st.integers(0, 2**33)
)
def test_a_signed_body_always_verifies(secret: str, body: bytes, ts: int) -> None:
    assert verify(
        secret,
        body=body,
        timestamp_header=str(ts),
        signature_header=signature(secret, ts, body),
        now_s=ts,
    )


def _receivers_verify(now: float) -> Callable[..., bool]:
    """The `verify` docs/notifications.md gives receivers, run as they would copy it."""
    doc = (Path(__file__).parents[2] / "docs" / "notifications.md").read_text(encoding="utf-8")
    section = doc.split("## Verifying the signature", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/notifications.md", "exec"), namespace)  # noqa: S102 - our docs
    namespace["time"] = SimpleNamespace(time=lambda: now)
    return cast("Callable[..., bool]", namespace["verify"])


@pytest.mark.parametrize(
    ("case", "ts_header"),
    [
        ("valid", str(TS)),
        ("replayed after the tolerance", str(TS - 301)),
        ("not a number", "yesterday"),
        ("empty", ""),
        # Frameworks decode header bytes as latin-1: b"\xb2" is "²", a digit to str.isdigit()
        # and not to int(). The docs' verify raised ValueError (the receiver answered 500).
        ("a digit that is not a decimal", "\u00b2"),
        ("digits of another script", "\u0661\u0667\u0660\u0660"),
        ("signed", "+" + str(TS)),
        ("padded", f" {TS}"),
        ("leading zero", f"0{TS}"),
    ],
)
def test_the_receivers_verify_in_the_docs_agrees_with_ours(case: str, ts_header: str) -> None:
    sig = signature(SECRET, TS, BODY)
    ours = verify(SECRET, body=BODY, timestamp_header=ts_header, signature_header=sig, now_s=TS)
    theirs = _receivers_verify(TS)(SECRET, BODY, ts_header, sig)
    assert theirs is ours, case
