"""The benchmark's set-up through the API: an integrator, its cameras, and the big hotlists
(generated, uploaded as CSV, timed until the matcher has applied every list)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.fleet import Camera
from simulator.hotlists import Probe, build_lists, plan_lists
from simulator.provision import AdminApi, Credentials, wait_gateway_knows
from simulator.sender import make_client
from simulator.simconfig import save_probes

Say = Callable[[str], None]


async def provision(
    *,
    api_url: str,
    gateway_url: str,
    admin_token: str,
    fleet: list[Camera],
    entries: int,
    seed: int,
    probes_file: Path,
    data_dir: Path,
    say: Say,
) -> tuple[Credentials, dict[str, Any]]:
    facts: dict[str, Any] = {}
    async with make_client(4) as client:
        api = AdminApi(client, api_url, admin_token)
        creds = await api.integrator("bench-integrator", data_dir)
        started = time.perf_counter()
        for camera in fleet:
            await api.camera(camera, creds.integrator_id)
        facts["cameras_s"] = round(time.perf_counter() - started, 2)
        known = await wait_gateway_knows(client, gateway_url, creds, fleet)
        facts["gateway_knew_cameras_after_s"] = round(known, 2)

        plans = plan_lists(entries, prefix="bench")
        probes: list[Probe] = []
        versions: dict[str, int] = {}
        lists: dict[str, Any] = {}
        generate_s = upload_s = 0.0
        first_upload: float | None = None
        built = build_lists(plans, seed=seed, now_ms=int(time.time() * 1000))
        while True:
            t = time.perf_counter()
            item = next(built, None)
            generate_s += time.perf_counter() - t
            if item is None:
                break
            plan, csv_text, sample = item
            probes.extend(sample)
            first_upload = first_upload or time.perf_counter()
            result = await api.hotlist(plan, csv_text)
            upload_s += result["upload_s"]
            versions[plan.list_id] = int(result["version"])
            lists[plan.list_id] = {
                "match": plan.match,
                "entries": result["entries"],
                "patterns": plan.patterns,
                "zones": list(plan.zones),
                "rejected": len(result["rejected"]),
                "upload_s": result["upload_s"],
            }
            say(
                f"  {plan.list_id} ({plan.match}): {result['entries']:,} entries, "
                f"{len(result['rejected'])} rejected, upload {result['upload_s']} s"
            )
        applied = await api.wait_applied(versions, timeout_s=900, say=say)
        facts.update(
            entries=sum(int(item["entries"]) for item in lists.values()),
            lists=len(lists),
            per_list=lists,
            generate_s=round(generate_s, 2),
            upload_s=round(upload_s, 2),
            applied_s=None
            if applied is None or first_upload is None
            else round(time.perf_counter() - first_upload, 2),
            probes=len(probes),
        )
        save_probes(probes_file, probes)
    return creds, facts
