"""Logging for every process: one format for the app and uvicorn, text or JSON lines.

`configure_logging(level, fmt)` installs one stderr handler on the root logger and makes every
other logger (uvicorn's, aiokafka's, ours) propagate to it at `ANPR_LOG_LEVEL`; uvicorn is run
with `log_config=None` so it adds no handler or format of its own. In JSON mode each record is one
line with `timestamp` (RFC 3339 UTC), `level`, `logger`, `message`, and `request_id`, `route`,
`status` when the record is about a request; a traceback is in `exc_info` on the same line.

httpx (notify's webhook client) is held at WARNING at least: its INFO line per request names the
URL, and a webhook URL may carry a partner's token in its query.

uvicorn's per-server lifecycle lines (three of each with `anpr run`) are dropped: the services
log one start-up banner instead (`anpr_cli/serving.py`).

aiokafka logs some failures it retries by itself at ERROR, such as `Failed fetch offsets ...
NotLeaderForPartitionError` while a starting broker elects its leaders. Those with a retriable
Kafka error are logged at WARNING: ops read ERROR as something to act on, and a failure that
lasts is reported by the consumer loops' own stall detection (docs/operations.md).
"""

from __future__ import annotations

import contextvars
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from aiokafka.errors import KafkaError

LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes a record may carry about its request (`extra=`, or the current request's context).
REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms")
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "anpr_request_id", default=None
)
_UVICORN_NOISE = (
    "Started server process",
    "Waiting for application startup",
    "Application startup complete",
    "Uvicorn running on",
    "Waiting for application shutdown",
    "Application shutdown complete",
    "Finished server process",
    "Shutting down",
)
_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "aiokafka", "kafka")
# aiokafka's ERROR lines for failures it retries itself (the error is the last argument).
_AIOKAFKA_RETRIED = ("Failed fetch offsets from %s: %s",)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            out["request_id"] = request_id
        for name in REQUEST_FIELDS[1:]:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """The text format, with the request's fields appended when there are any."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        fields = [f"request_id={request_id}"] if request_id else []
        fields += [
            f"{name}={getattr(record, name)}"
            for name in REQUEST_FIELDS[1:]
            if getattr(record, name, None) is not None
        ]
        if not fields:
            return line
        head, sep, tail = line.partition("\n")
        return f"{head} [{' '.join(fields)}]{sep}{tail}"


class _DropUvicornLifecycle(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name.startswith("uvicorn")
            and record.levelno <= logging.INFO
            and str(record.msg).startswith(_UVICORN_NOISE)
        )


class _RetriedKafkaErrorsAsWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.ERROR
            and record.name.startswith("aiokafka")
            and record.msg in _AIOKAFKA_RETRIED
            and isinstance(record.args, tuple)
            and record.args
            and isinstance(record.args[-1], KafkaError)
            and record.args[-1].retriable
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_logging(level: str = "INFO", fmt: LogFormat = "text") -> None:
    """Set up the root logger once for the process (replacing earlier handlers)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_DropUvicornLifecycle())
    handler.addFilter(_RetriedKafkaErrorsAsWarnings())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(numeric)
    # httpx logs every request's URL at INFO: a webhook URL may carry a partner's token in its
    # query (and a line per delivery is noise). Its warnings still show.
    logging.getLogger("httpx").setLevel(max(numeric, logging.WARNING))
