"""The project's exception root and its few specific subclasses.

Retry loops read `retriable` instead of catching lists of exception types.
"""

from __future__ import annotations


class AnprError(Exception):
    """Root of every exception the project raises on purpose."""

    retriable: bool = False


class ConfigError(AnprError):
    """Settings that cannot be used (a placeholder secret in production, a bad value)."""


class BusUnavailable(AnprError):
    """The bus could not take or give records within the bounded time."""

    retriable = True


class BusError(AnprError):
    """The bus refused records for a reason that retrying will not fix."""


class RecordRefused(BusError):
    """Kafka refused a record for what it is (too large, corrupt): the same record will be
    refused again, and that says nothing about the others. Any other `BusError` is about the
    bus (a topic missing or not authorized, a producer fenced) and fails every record alike."""


class InvalidRecord(AnprError):
    """A record on a topic that cannot be decoded; it is counted and skipped."""


class ConsumerStalled(AnprError):
    """A consumer made no progress (or has no partitions while its group does not move either):
    it is closed and replaced."""

    retriable = True


class IllegalTransition(AnprError):
    """A state machine was asked for a move its written-down transitions do not allow: a bug in
    the caller, raised instead of ignored so it is seen."""

    def __init__(self, machine: str, current: str, target: str) -> None:
        super().__init__(f"{machine}: {current} -> {target} is not an allowed transition")
        self.current = current
        self.target = target
