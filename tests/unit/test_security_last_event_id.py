"""Issue 11, item 8: a covert hit's id sent as `Last-Event-ID` by an operator is answered
exactly like an id that does not exist, so it cannot be used to learn that the hit exists; a
supervisor resumes after it as usual."""

from __future__ import annotations

from tests.support.factories import unique
from tests.unit.api_fixtures import SseClient, make_hit, running_api


async def _first_block(api_app: object, headers: dict[str, str]) -> list[str]:
    """The comment lines sent before the first hit (after the `retry:` advice)."""
    async with SseClient(api_app, "/v1/hits/stream", headers) as client:
        event = await client.next_event()  # retry:
        event = await client.next_event(timeout_s=1.0)
        return event.comments if event.event is None else []


async def test_covert_last_event_id_is_unknown_to_an_operator() -> None:
    async with running_api() as api:
        covert = make_hit(camera_id=unique("cam"), list_id="covert-ops", covert=True)
        overt = make_hit(camera_id=unique("cam"))
        await api.publish_hits(covert, overt)

        def headers(role: str, last: str) -> dict[str, str]:
            return {**api.auth(role), "Last-Event-ID": last}

        as_covert = await _first_block(api.app, headers("operator", covert["hit_id"]))
        as_missing = await _first_block(api.app, headers("operator", "h-" + "0" * 62))
        assert as_covert == as_missing
        assert any("unknown Last-Event-ID" in c for c in as_covert)

        # A supervisor may see it: resumes after it, and gets the overt hit that followed.
        async with SseClient(
            api.app, "/v1/hits/stream", headers("supervisor", covert["hit_id"])
        ) as client:
            event = await client.next_event()
            assert "unknown" not in " ".join(event.comments)
            assert (await client.next_hit()).id == overt["hit_id"]
