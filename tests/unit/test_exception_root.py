"""Every exception the project defines derives from `anpr.errors.AnprError` (one root, as in
aiokafka's `errors.py`), so retry loops and boundaries can rely on `retriable`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from anpr.errors import AnprError

PACKAGES = ("anpr", "ingest", "matcher", "api", "notify")


def _project_exceptions() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if info.name.endswith(".__main__"):  # runs the CLI when imported
                continue
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if obj.__module__ == info.name and issubclass(obj, BaseException):
                    found.append(obj)
    return found


EXCEPTIONS = _project_exceptions()


def test_the_scan_sees_the_known_exceptions() -> None:
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"AckConflict", "BodyError", "UrlRefused", "BadRead", "BadTime"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_derives_from_the_root(cls: type[BaseException]) -> None:
    assert issubclass(cls, AnprError)
