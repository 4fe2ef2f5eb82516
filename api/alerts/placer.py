"""From newly consumed hits to alerts: the I/O shell around `api.alerts.grouping`.

Runs in the hits consumer's step, with the hits' insert (`store_and_place`: one transaction on
SQLite) and before the stream hub sees them, so every hit event on a stream is preceded by its
`alert` or `sighting` event. Every decoded hit of the batch is offered (not only the newly
stored ones): a hit stored just before a crash, whose offset was not committed, is placed when
it is consumed again; one already placed is skipped.

A list's window comes from this replica's hotlist book, so placing waits until the book has
caught up with the hotlists topic; a hit of a list deleted since gets the default window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from anpr.hotlists import GROUP_WINDOW_DEFAULT_S, HotlistBook
from api.alerts.grouping import AlertKey, GroupHit
from api.alerts.views import summary_of
from api.metrics import ApiMetrics
from api.store.alerts import AlertNote, NewSighting
from api.store.base import NewHit, Store, StoredHit


def new_sighting(hit: NewHit) -> NewSighting:
    body = hit.body
    read = body.get("read", {})
    key = AlertKey(
        plate_norm=hit.plate_norm,
        list_id=hit.list_id,
        entry_id=str(body.get("entry_id", "")),
        covert=hit.covert,
        test=bool(body.get("test", False)),
    )
    captured = read.get("captured_at_ms")
    return NewSighting(
        hit=GroupHit(hit.hit_id, key, hit.matched_at, bool(body.get("historical", False))),
        camera_id=hit.camera_id,
        captured_at=captured if isinstance(captured, int) else None,
        priority=int(body.get("priority", 3)),
        summary=summary_of(hit),
    )


class AlertPlacer:
    def __init__(
        self,
        store: Store,
        book: HotlistBook,
        loaded: asyncio.Event,
        metrics: ApiMetrics,
    ) -> None:
        self._store = store
        self._book = book
        self._loaded = loaded
        self._metrics = metrics

    def window_ms(self, list_id: str) -> int:
        config = self._book.config(list_id)
        window_s = GROUP_WINDOW_DEFAULT_S if config is None else config.group_window_s
        return window_s * 1000

    async def store_and_place(
        self, hits: Sequence[NewHit]
    ) -> tuple[list[StoredHit], Mapping[str, AlertNote]]:
        """Store the hits (those not stored yet) and place them: the hits newly stored, and the
        notes of the hits placed now by hit_id. One transaction on SQLite (`add_hits_placed`)."""
        if not hits:
            return [], {}
        await self._loaded.wait()
        sightings = [new_sighting(h) for h in hits]
        stored, notes = await self._store.add_hits_placed(hits, sightings, self.window_ms)
        return stored, self._counted(notes)

    def _counted(self, notes: Sequence[AlertNote]) -> Mapping[str, AlertNote]:
        for note in notes:
            if not note.alert.key.covert:  # covert alerts are not counted on /metrics
                self._metrics.alert_sightings.labels(note.decision.value).inc()
        return {note.sighting.hit_id: note for note in notes}
