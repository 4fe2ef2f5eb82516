"""`anpr.auth.parse_authorization`: the Authorization header as the gateway and the API read it.

Starlette decodes header bytes as Latin-1, so any text can arrive; what is not a credential is
no credential (a 401), never an error."""

from __future__ import annotations

import base64

import pytest

from anpr.auth import Credentials, parse_authorization


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("Bearer tok", Credentials("tok"), id="bearer"),
        pytest.param("bearer  tok ", Credentials("tok"), id="bearer-spacing-and-case"),
        pytest.param(basic(b"int-1:tok"), Credentials("tok", "int-1"), id="basic"),
        pytest.param(basic(b"int-1:a:b"), Credentials("a:b", "int-1"), id="colon-in-password"),
        pytest.param(basic(b":tok"), Credentials("tok", ""), id="empty-user"),
        pytest.param(basic(b"int-1:"), None, id="empty-password"),
        pytest.param(basic(b"int-1"), None, id="no-colon"),
        pytest.param(basic(b"\xff:tok"), None, id="not-utf-8"),
        pytest.param("Basic !!!", None, id="not-base64"),
        # base64 of non-ASCII text raised ValueError: a 500 and a logged crash per request.
        pytest.param("Basic \u00e9t\u00e9=", None, id="latin-1"),
        pytest.param("Basic dXNlcjp0b2\u00ff", None, id="latin-1-tail"),
        pytest.param("Bearer", None, id="bearer-without-token"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_authorization(header: str, expected: Credentials | None) -> None:
    assert parse_authorization(header) == expected
