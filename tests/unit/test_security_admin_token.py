"""The bootstrap admin token (`ANPR_ADMIN_TOKEN`): production refuses one anybody can read.

The compose stack's fallback token is printed in this repository; a stack switched to
`ANPR_ENVIRONMENT=production` without its own token must not start with it as the admin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from anpr.errors import ConfigError
from anpr.settings import CommonSettings

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "compose.yaml"


def compose_fallback_token() -> str:
    found = re.search(r"ANPR_ADMIN_TOKEN: \$\{ANPR_ADMIN_TOKEN:-([^}]+)\}", COMPOSE.read_text())
    assert found is not None
    return found.group(1)


def test_production_refuses_the_compose_fallback_token() -> None:
    token = compose_fallback_token()
    with pytest.raises(ConfigError):
        CommonSettings(environment="production", admin_token=SecretStr(token))
    with pytest.raises(ConfigError):
        CommonSettings(environment="production", admin_token=SecretStr(token.upper()))
    # development (the compose stack itself) still takes it
    CommonSettings(environment="development", admin_token=SecretStr(token))


def test_production_takes_a_random_token() -> None:
    CommonSettings(environment="production", admin_token=SecretStr("k" * 12 + "Zq8v1" * 5))
