"""One generation of a hotlist in the index: its config, its token and its entries.

A generation is what `matcher.index.HotlistIndex` installs and retires, and what
`matcher.lookup` resolves a record's token to; it lives here so that neither of those modules
imports the other for it.
"""

from __future__ import annotations

from anpr.hotlists import Entry, ListConfig
from matcher.rules import Meta, meta_of

# Distinct metas (conditions + reason/action) shared per list; past this, entries keep their own.
_MAX_SHARED_METAS = 4096


class ListGeneration:
    """One generation of a list: config, token, entry ids (plates: entry id -> skeleton, bytes)."""

    __slots__ = ("config", "metas", "patterns", "plates", "token")

    def __init__(self, config: ListConfig, token: str) -> None:
        self.config = config
        self.token = token
        self.plates: dict[bytes, bytes] = {}
        self.patterns: dict[str, tuple[str, Meta]] = {}
        self.metas: dict[Meta, Meta] = {}

    def __len__(self) -> int:
        return len(self.plates) + len(self.patterns)

    def meta(self, entry: Entry) -> Meta:
        meta = meta_of(self.token, entry)
        shared = self.metas.get(meta)
        if shared is not None:
            return shared
        if len(self.metas) < _MAX_SHARED_METAS:
            self.metas[meta] = meta
        return meta
