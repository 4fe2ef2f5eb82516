"""The settings of each service as `--help` text: every `ANPR_*` variable with its default.

Built from the pydantic-settings classes themselves, so the list cannot drift from the code.
Meanings are in docs/configuration.md.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings


def _default(settings: type[BaseSettings], name: str) -> str:
    field = settings.model_fields[name]
    if field.default_factory is not None:
        return "(computed at start-up)"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "**********"
    return str(value)


def settings_help(*classes: type[BaseSettings]) -> str:
    """One line per setting of `classes` (the first class that has a field gives its default)."""
    rows: dict[str, str] = {}
    for settings in classes:
        prefix = str(settings.model_config.get("env_prefix", ""))
        for name in settings.model_fields:
            env = f"{prefix}{name}".upper()
            rows.setdefault(env, _default(settings, name))
    width = max(map(len, rows)) + 2
    lines = [f"  {env:<{width}}{default}" for env, default in sorted(rows.items())]
    return (
        "settings (environment variables, with their defaults; see docs/configuration.md):\n"
        + "\n".join(lines)
    )
