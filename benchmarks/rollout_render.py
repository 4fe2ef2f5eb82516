"""How long `GET /v1/rollout` renders a national rollout: N cameras, all stuck before contact.

    python -m benchmarks.rollout_render [--cameras 10000] [--integrators 40]

Early in a rollout most cameras are registered and not yet contacted, and every one of them is
on the report's stuck lists (overall and its integrator's). Builds that report with the pure
core (`api.rollout.report.build`), then times each rendering the route offers: Markdown, HTML,
the CSV of stuck cameras, the JSON body checked against `RolloutOut` (`routes.json_body`).
Each runs on a worker thread in the API; this is the CPU each costs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from api.rollout import reasons
from api.rollout.render import to_csv, to_html, to_markdown
from api.rollout.report import DAY_MS, CameraFacts, Position, RolloutReport, Stage, build
from api.rollout.routes import json_body

NOW = 1_767_571_200_000 + 100 * DAY_MS


def stuck_report(cameras: int, integrators: int) -> RolloutReport:
    facts = []
    for n in range(cameras):
        since = NOW - (20 + n % 30) * DAY_MS
        where = Position(Stage.REGISTERED, since, {Stage.REGISTERED: since})
        facts.append(
            CameraFacts(f"cam-{n:05d}", f"int-{n % integrators}", where, reasons.NO_CONTACT)
        )
    names = {f"int-{i}": f"Integrator {i}" for i in range(integrators)}
    return build(facts, names, now=NOW, stuck_after_days=14)


def timed(work: Callable[[], Any]) -> tuple[float, int]:
    started = time.perf_counter()
    out = work()
    return (time.perf_counter() - started) * 1000, len(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--integrators", type=int, default=40)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = stuck_report(args.cameras, args.integrators)
    build_ms = (time.perf_counter() - started) * 1000
    print(f"{args.cameras:,} cameras stuck, {args.integrators} integrators")
    print("| rendering | ms | bytes |\n|---|---:|---:|")
    print(f"| report (build) | {build_ms:.0f} | |")
    for name, work in (
        ("Markdown", lambda: to_markdown(report)),
        ("HTML", lambda: to_html(report)),
        ("CSV, stuck cameras", lambda: to_csv(report, "stuck")),
        ("JSON, checked against RolloutOut", lambda: json_body(report)),
    ):
        ms, size = timed(work)
        print(f"| {name} | {ms:.0f} | {size:,} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
