"""Which adapter answers `POST /v1/ingest/{name}`: a built-in one, else a registered mapping.

Mappings arrive on the registry topic (`format/<name>`, folded by `RegistryView.formats`); each
is compiled once into a `MappingAdapter` and compiled again only when its record changes. A
built-in name always means the built-in adapter: a mapping cannot take it over.
"""

from __future__ import annotations

from anpr.formats import FormatMapping
from anpr.registry import RegistryView
from ingest.adapters import ADAPTERS, Adapter
from ingest.adapters.mapping import MappingAdapter


class FormatCatalog:
    def __init__(self, registry: RegistryView) -> None:
        self._registry = registry
        self._compiled: dict[str, tuple[FormatMapping, MappingAdapter]] = {}

    def adapter(self, name: str) -> Adapter | None:
        builtin = ADAPTERS.get(name)
        if builtin is not None:
            return builtin
        mapping = self._registry.formats.get(name)
        if mapping is None:
            self._compiled.pop(name, None)
            return None
        cached = self._compiled.get(name)
        if cached is not None and cached[0] is mapping:
            return cached[1]
        adapter = MappingAdapter(mapping)
        self._compiled[name] = (mapping, adapter)
        return adapter

    @staticmethod
    def builtin_names() -> list[str]:
        return sorted(ADAPTERS)
