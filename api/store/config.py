"""Where the API's data lives: a SQLite file (embedded default) or PostgreSQL, and the factories.

`ANPR_DATABASE_URL=postgresql://user@host:port/db` selects PostgreSQL for the control-room store
and the read archive; unset, both live in the SQLite file at `ANPR_API_DB_PATH` (default
`<ANPR_DATA_DIR>/api.sqlite3`). Migrations run as `ANPR_DATABASE_MIGRATE_URL` (the schema
owner) when set, else as `ANPR_DATABASE_URL`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from anpr.settings import CommonSettings
from api.store.base import Store

API_DB_FILE = "api.sqlite3"
_SCHEMES = ("postgresql://", "postgres://")


class DatabaseSettings(CommonSettings):
    """The store settings shared by `anpr api` and `anpr archive`."""

    # A refused value is named, not echoed: a database URL with the wrong scheme holds the
    # password, and the error goes to the terminal or the pod's log.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    # Where the hit store, audit log, camera activity and (embedded) read archive live when
    # no database URL is set: a SQLite file under data_dir unless set.
    api_db_path: Path | None = None
    database_url: SecretStr | None = None
    database_migrate_url: SecretStr | None = None
    database_migrate_on_start: bool = True
    database_pool_min: int = Field(default=1, ge=0, le=100)
    database_pool_max: int = Field(default=10, ge=1, le=500)
    database_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("database_url", "database_migrate_url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_SCHEMES):
            raise ValueError("must be a postgresql:// URL (unset means the SQLite file)")
        return value

    @property
    def db_path(self) -> Path:
        return self.api_db_path or self.data_dir / API_DB_FILE

    @property
    def postgres(self) -> bool:
        return self.database_url is not None

    @property
    def migrate_url(self) -> str | None:
        url = self.database_migrate_url or self.database_url
        return url.get_secret_value() if url else None


def make_store(
    settings: DatabaseSettings, *, on_checkpoint: Callable[[float, bool], None] | None = None
) -> Store:
    """The control-room store the settings select (not opened yet); `on_checkpoint(seconds,
    failed)` hears of every WAL checkpoint of the SQLite file."""
    if settings.database_url is not None:
        from api.store.postgres import PostgresStore

        return PostgresStore(
            settings.database_url.get_secret_value(),
            migrate_url=settings.migrate_url,
            migrate_on_start=settings.database_migrate_on_start,
            pool_min=settings.database_pool_min,
            pool_max=settings.database_pool_max,
            timeout_s=settings.database_timeout_s,
        )
    from api.store.sqlite import SqliteStore

    return SqliteStore(settings.db_path, on_checkpoint=on_checkpoint)
