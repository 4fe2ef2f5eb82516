"""The `anpr` command: the composition root, the one place that imports the services."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from anpr import __version__
from anpr.errors import AnprError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anpr", description="ANPR hit-stream service. Settings come from ANPR_* variables."
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="gateway, matcher and API in one process (embedded default)")
    sub.add_parser("ingest", help="the camera-facing gateway (:8080)")
    sub.add_parser("matcher", help="the hotlist matcher (metrics and health on :9102)")
    sub.add_parser("api", help="the control-room and operations API (:8000)")
    sub.add_parser("archive", help="the read archive consumer (metrics and health on :9103)")

    admin = sub.add_parser("admin", help="register integrators, cameras and tokens")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="WHAT")
    integ = admin_sub.add_parser("integrator", help="register an integrator; prints its token")
    integ.add_argument("integrator_id")
    integ.add_argument("--name", default="")
    tok = admin_sub.add_parser("token", help="create a token for a role; prints it once")
    tok.add_argument("role", choices=["operator", "supervisor", "admin", "auditor", "investigator"])
    tok.add_argument("--name", default="")
    cam = admin_sub.add_parser("camera", help="register or update a camera")
    cam.add_argument("camera_id")
    cam.add_argument("--integrator", required=True, dest="integrator_id")
    cam.add_argument("--name", default=None)
    cam.add_argument("--zones", default="", help="zones separated by commas")
    cam.add_argument("--timezone", default="UTC")
    cam.add_argument("--expected-reads-per-hour", type=float, default=None)
    cam.add_argument("--external-id", action="append", default=[], dest="external_ids")
    cam.add_argument("--state", choices=["commissioning", "live"], default="live")
    rm = admin_sub.add_parser("delete-camera", help="delete a camera registration")
    rm.add_argument("camera_id")

    hot = sub.add_parser("hotlist", help="hotlist tools")
    hot_sub = hot.add_subparsers(dest="hotlist_command", required=True, metavar="WHAT")
    load = hot_sub.add_parser("load", help="replace a list's entries from a CSV or NDJSON file")
    load.add_argument("list_id")
    load.add_argument("file")
    load.add_argument("--name", default=None, help="create the list with this name if new")
    load.add_argument("--category", default="wanted")
    load.add_argument("--priority", type=int, default=3)
    load.add_argument("--match", choices=["exact", "ocr", "fuzzy"], default="exact")
    load.add_argument("--covert", action="store_true")

    conv = sub.add_parser("convert", help="print the canonical reads of a captured vendor payload")
    conv.add_argument("format")
    conv.add_argument("file")

    from anpr.cli.db import add_parser as add_db
    from anpr.cli.simulate import add_parser as add_simulate

    add_simulate(sub)
    add_db(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("ANPR_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _dispatch(args)
    except (AnprError, ValidationError) as exc:
        print(f"anpr {args.command}: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in {"run", "ingest", "matcher", "api", "archive"}:
        from anpr.cli.serve import serve_command

        return serve_command(args.command)
    if args.command == "admin":
        from anpr.cli.admin import admin_command

        return admin_command(args)
    if args.command == "hotlist":
        from anpr.cli.hotlist import hotlist_command

        return hotlist_command(args)
    if args.command == "convert":
        from anpr.cli.convert import convert_command

        return convert_command(args.format, args.file)
    if args.command == "db":
        from anpr.cli.db import db_command

        return db_command(args)
    if args.command == "simulate":
        from anpr.cli.simulate import simulate_command

        return simulate_command(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
