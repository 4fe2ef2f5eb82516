"""`anpr simulate`: simulated cameras pushing reads to a running gateway (see
`simulator.simulate`). With `anpr run` in another terminal, `anpr simulate` alone sets up an
integrator, 50 cameras and demo hotlists, and hits appear on `GET /v1/hits/stream` within
seconds.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from anpr_cli.report import IN_ARGV_WARNING

DESCRIPTION = (
    "Simulated cameras (BE, NL, FR, DE, LU plates with OCR noise) pushing reads to a running "
    "gateway at a constant rate that does not slow down when the server does. With an admin "
    "token it first registers an integrator, the cameras and demo hotlists through the API, "
    "and follows the hit stream to check and time every hit it is owed."
)


def _env_url(var: str, default_port: int) -> str:
    return f"http://127.0.0.1:{os.environ.get(var, default_port)}"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate", help="simulated cameras pushing reads to a gateway", description=DESCRIPTION
    )
    p.add_argument("--gateway", default=_env_url("ANPR_INGEST_PORT", 8080), help="gateway URL")
    p.add_argument("--api", default=_env_url("ANPR_API_PORT", 8000), help="API URL")
    p.add_argument(
        "--admin-token",
        default=None,
        help="for set-up and the hit stream; default ANPR_ADMIN_TOKEN, else the dev token file "
        "<ANPR_DATA_DIR or .anpr-data>/dev-admin-token",
    )
    p.add_argument(
        "--token", default=None, help="an existing integrator token (skips creating one)"
    )
    p.add_argument("--integrator", default="sim-integrator", dest="integrator_id")
    p.add_argument("--cameras", type=int, default=50)
    p.add_argument("--rate", type=float, default=50.0, help="reads per second offered (50)")
    p.add_argument("--batch", type=int, default=1, help="reads per request (1)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of sending (60)")
    p.add_argument("--hit-share", type=float, default=0.02, help="share of reads of listed plates")
    p.add_argument("--connections", type=int, default=32, help="HTTP keep-alive connections")
    p.add_argument(
        "--client",
        choices=["httpx", "raw"],
        default="httpx",
        help="HTTP client for the reads: httpx, or raw (a minimal keep-alive client that costs "
        "far less CPU per request; what `make bench` uses)",
    )
    p.add_argument("--late-ms", type=float, default=10.0, help="a send this far behind is late")
    p.add_argument("--skewed-share", type=float, default=0.1, help="cameras with a wrong clock")
    p.add_argument("--silent", type=int, default=1, help="registered cameras that never send")
    p.add_argument("--hotlist-entries", type=int, default=2000, help="demo hotlist entries")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--no-setup", dest="setup", action="store_false", help="skip API set-up")
    p.add_argument("--no-watch", dest="watch", action="store_false", help="skip the hit stream")
    p.add_argument("--show-hits", action="store_true", help="print each hit as it arrives")
    p.add_argument("--drain", type=float, default=15.0, help="seconds to wait for late hits")
    p.add_argument("--read-id-prefix", default=None, help="default sim-<random>-")
    p.add_argument("--json", type=Path, default=None, dest="json_out", help="write the summary")
    p.add_argument("--closed-loop", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--probes-file", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="no progress, no summary")
    p.add_argument(
        "--cleanup",
        action="store_true",
        help="at the end (or on Ctrl-C), delete the cameras and hotlists the set-up registered "
        "and revoke the integrator's tokens",
    )
    return p


def simulate_command(args: argparse.Namespace) -> int:
    from simulator.provision import admin_token_from
    from simulator.simconfig import SimConfig
    from simulator.simulate import run_simulation

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    data_dir = Path(os.environ.get("ANPR_DATA_DIR", ".anpr-data"))
    admin = args.admin_token or admin_token_from(dict(os.environ), data_dir)
    if args.admin_token:
        warning = IN_ARGV_WARNING.format(option="--admin-token", variable="ANPR_ADMIN_TOKEN")
        print(warning, file=sys.stderr)
    try:
        config = SimConfig(
            gateway=args.gateway,
            api=args.api,
            admin_token=admin,
            token=args.token,
            integrator_id=args.integrator_id,
            data_dir=data_dir,
            cameras=args.cameras,
            skewed_share=args.skewed_share,
            silent=args.silent,
            rate=args.rate,
            batch=args.batch,
            duration_s=args.duration,
            closed_loop=args.closed_loop,
            connections=args.connections,
            client=args.client,
            late_ms=args.late_ms,
            hit_share=args.hit_share,
            seed=args.seed,
            setup=args.setup,
            hotlist_entries=args.hotlist_entries,
            watch=args.watch,
            show_hits=args.show_hits,
            drain_s=args.drain,
            read_id_prefix=args.read_id_prefix,
            json_out=args.json_out,
            probes_file=args.probes_file,
            quiet=args.quiet,
            cleanup=args.cleanup,
        )
    except ValueError as exc:
        print(f"anpr simulate: {exc}", file=sys.stderr)
        return 2
    return run_simulation(config)
