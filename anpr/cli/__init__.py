"""The `anpr` command: the composition root, the one place that imports the services."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from anpr import __version__
from anpr.datadir import private_umask
from anpr.errors import AnprError
from anpr.logs import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anpr", description="ANPR hit-stream service. Settings come from ANPR_* variables."
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _service_parsers(sub)

    admin = sub.add_parser("admin", help="register integrators, cameras and tokens")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="WHAT")
    integ = admin_sub.add_parser("integrator", help="register an integrator; prints its token")
    integ.add_argument("integrator_id")
    integ.add_argument("--name", default="")
    tok = admin_sub.add_parser("token", help="create a token for a role; prints it once")
    tok.add_argument("role", choices=["operator", "supervisor", "admin", "auditor"])
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
    admin_sub.add_parser("tokens", help="list the registry's tokens by id (never the token)")
    revoke = admin_sub.add_parser("revoke-token", help="revoke a token by its id (see tokens)")
    revoke.add_argument("token_id")
    rotate = admin_sub.add_parser(
        "rotate-token", help="give an integrator a new token and revoke its old ones"
    )
    rotate.add_argument("integrator_id")

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

    from ingest.adapters import ADAPTERS

    formats = ", ".join(sorted(ADAPTERS))
    conv = sub.add_parser(
        "convert",
        help="print the canonical reads of a captured vendor payload",
        description="Print the canonical reads of a captured vendor payload (the body, or a raw "
        "HTTP request) as NDJSON on stdout; problems on stderr. Exit status 1 when the payload "
        f"yields no read. Formats: {formats}.",
    )
    conv.add_argument("format", choices=sorted(ADAPTERS), metavar="FORMAT", help=formats)
    conv.add_argument("file", help="the captured payload; - for stdin")

    from anpr.cli.simulate import add_parser as add_simulate

    add_simulate(sub)
    return parser


def _service_parsers(sub: Any) -> None:
    """`anpr run|ingest|matcher|api`, each `--help` listing its settings and their defaults."""
    from anpr.cli.settings_help import settings_help
    from api.settings import ApiSettings
    from ingest.settings import GatewaySettings
    from matcher.settings import MatcherSettings

    services: list[tuple[str, str, tuple[type[BaseSettings], ...]]] = [
        (
            "run",
            "gateway, matcher and API in one process (embedded default)",
            (GatewaySettings, MatcherSettings, ApiSettings),
        ),
        ("ingest", "the camera-facing gateway (:8080)", (GatewaySettings,)),
        ("matcher", "the hotlist matcher (metrics and health on :9102)", (MatcherSettings,)),
        ("api", "the control-room and operations API (:8000)", (ApiSettings,)),
    ]
    for name, text, classes in services:
        sub.add_parser(
            name,
            help=text,
            description=text[0].upper() + text[1:] + ".",
            epilog=settings_help(*classes),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    private_umask()  # ANPR_DATA_DIR holds personal data: files 0600, directories 0700
    # Read here, before the settings classes validate them, so that even a settings error is
    # logged in the chosen format; the services read the same variables (anpr/settings.py).
    log_format = os.environ.get("ANPR_LOG_FORMAT", "text").lower()
    configure_logging(
        os.environ.get("ANPR_LOG_LEVEL", "INFO"), "json" if log_format == "json" else "text"
    )
    try:
        return _dispatch(args)
    except (AnprError, ValidationError) as exc:
        print(f"anpr {args.command}: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in {"run", "ingest", "matcher", "api"}:
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
    if args.command == "simulate":
        from anpr.cli.simulate import simulate_command

        return simulate_command(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
