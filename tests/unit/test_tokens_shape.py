"""Issued tokens: random, 256 bits, and safe to pass on a command line."""

from __future__ import annotations

from anpr.auth import TOKEN_PREFIX, new_token
from anpr_cli import _parser


def test_tokens_are_unique_and_never_look_like_an_option() -> None:
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    # Without the prefix, about 31 of 2,000 URL-safe base64 tokens would start with "-".
    assert all(t.startswith(TOKEN_PREFIX) and len(t) == len(TOKEN_PREFIX) + 43 for t in tokens)


def test_a_token_is_taken_as_the_value_of_token() -> None:
    token = new_token()
    args = _parser(()).parse_args(["simulate", "--token", token])
    assert args.token == token
