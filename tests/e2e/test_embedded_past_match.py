"""`anpr run` (embedded: SQLite, in-process bus) composes past-read matching: a read pushed to
the gateway with a capture time an hour ago, then an entry for its plate, gives one historical
hit, and the list shows the finished job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from anpr.clock import ms_to_rfc3339, now_ms
from tests.e2e.test_embedded_archive import poll
from tests.support.embedded import ADMIN, embedded_run

HOUR_MS = 3600 * 1000


@pytest.mark.timeout(150)
def test_an_entry_added_now_finds_the_read_of_an_hour_ago(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        api, gateway = run.url("api"), run.url("ingest")
        admin = {"Authorization": f"Bearer {ADMIN}"}
        integ = httpx.post(
            f"{api}/v1/integrators", json={"integrator_id": "i1", "name": "one"}, headers=admin
        )
        assert integ.status_code == 201, integ.text
        camera = {"camera_id": "cam-pm", "integrator_id": "i1", "name": "gate", "zones": ["z"]}
        assert httpx.post(f"{api}/v1/cameras", json=camera, headers=admin).status_code == 201
        integrator = {"Authorization": f"Bearer {integ.json()['token']}"}
        listed = httpx.put(
            f"{api}/v1/hotlists/stolen",
            json={"name": "Stolen", "category": "stolen", "priority": 1, "match": "exact"},
            headers=admin,
        )
        assert listed.status_code == 200, listed.text
        read = {
            "read_id": "pm-0900",
            "camera_id": "cam-pm",
            "captured_at": ms_to_rfc3339(now_ms() - HOUR_MS),
            "plate": "5-KLM-808",
        }
        poll(
            lambda: (
                httpx.post(f"{gateway}/v1/reads", json=read, headers=integrator).status_code == 202
            ),
            "the gateway to accept the read",
            run.log,
        )

        def archived() -> bool:
            got = httpx.get(
                f"{api}/v1/reads",
                params={"plate": "5KLM808", "reason": "e2e past match"},
                headers=admin,
            )
            return bool(got.status_code == 200 and got.json()["items"])

        poll(archived, "the read in the archive", run.log)
        added = httpx.post(
            f"{api}/v1/hotlists/stolen/entries",
            json=[{"entry_id": "e1", "plate": "5KLM808"}],
            headers=admin,
        )
        assert added.status_code == 200, added.text

        def done() -> dict[str, Any] | None:
            job = httpx.get(f"{api}/v1/hotlists/stolen", headers=admin).json()["past_match"]
            return job if job and job["state"] == "done" else None

        job = poll(done, "the past-match job done", run.log)
        assert (job["entries"], job["candidates"], job["hits"]) == (1, 1, 1)
        hits = poll(
            lambda: httpx.get(f"{api}/v1/hits?list_id=stolen", headers=admin).json()["items"],
            "the historical hit",
            run.log,
        )
        assert [(h["read"]["read_id"], h["historical"]) for h in hits] == [("pm-0900", True)]
