"""The `anpr` command: the composition root, the one place that imports the services."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from anpr import __version__
from anpr.auth import reserved_token_name
from anpr.datadir import private_umask
from anpr.errors import AnprError
from anpr.hotlists.model import MAX_TEXT_LEN
from anpr.logs import configure_logging

INTERRUPTED = 130  # the exit status after Ctrl-C, as a shell reports a process SIGINT ended

# An integrator's, a token's or a camera's name, bounded as the API bounds it (api/fields.py).
NAME_MAX_LEN = 200


def _text(max_len: int) -> Callable[[str], str]:
    """An option's value checked for 1 to `max_len` characters: what the API would answer 422
    for is a usage error here, before anything is published."""

    def check(value: str) -> str:
        if not 1 <= len(value) <= max_len:
            raise argparse.ArgumentTypeError(f"must be 1 to {max_len} characters, not {len(value)}")
        return value

    return check


def _token_name(value: str) -> str:
    """A token's --name: as `_text`, and not the bootstrap admin's, as the API refuses it."""
    value = _text(NAME_MAX_LEN)(value)
    reserved = reserved_token_name(value)
    if reserved is not None:
        raise argparse.ArgumentTypeError(reserved)
    return value


def _parser(formats: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The command line; `formats` (the vendor formats, for `anpr convert --help`) are passed only
    when the command is `convert`, so other commands do not import the adapters."""
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
    integ.add_argument(
        "--name", type=_text(NAME_MAX_LEN), default=None, help="default: the integrator id"
    )
    tok = admin_sub.add_parser("token", help="create a token for a role; prints it once")
    tok.add_argument(
        "role",
        choices=["operator", "supervisor", "admin", "auditor", "manager", "investigator"],
    )
    tok.add_argument("--name", type=_token_name, default=None, help="default: ROLE-TOKEN_ID")
    cam = admin_sub.add_parser(
        "camera",
        help="register or update a camera",
        description="Register a camera, or update one: the options not given keep the "
        "camera's registered values (a new camera gets the defaults).",
    )
    cam.add_argument("camera_id")
    cam.add_argument("--integrator", required=True, dest="integrator_id")
    cam.add_argument(
        "--name", type=_text(NAME_MAX_LEN), default=None, help="default: the camera id"
    )
    cam.add_argument("--zones", default=None, help="zones separated by commas")
    cam.add_argument("--timezone", default=None, help="IANA zone; default UTC")
    cam.add_argument("--expected-reads-per-hour", type=float, default=None)
    cam.add_argument("--external-id", action="append", default=None, dest="external_ids")
    cam.add_argument(
        "--state", choices=["commissioning", "live"], default=None, help="default: live"
    )
    rm = admin_sub.add_parser("delete-camera", help="delete a camera registration")
    rm.add_argument("camera_id")
    fmt = admin_sub.add_parser("format", help="register, list or delete vendor mappings")
    fmt_sub = fmt.add_subparsers(dest="format_command", required=True, metavar="ACTION")
    fmt_put = fmt_sub.add_parser("put", help="register or replace a mapping from a YAML/JSON file")
    fmt_put.add_argument("name")
    fmt_put.add_argument("file")
    fmt_sub.add_parser("list", help="list the registered mappings")
    fmt_rm = fmt_sub.add_parser("delete", help="delete a mapping")
    fmt_rm.add_argument("name")
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
    load.add_argument(
        "--name",
        type=_text(MAX_TEXT_LEN),
        default=None,
        help="create the list with this name if new (default: the list id)",
    )
    load.add_argument("--category", type=_text(MAX_TEXT_LEN), default="wanted")
    load.add_argument("--priority", type=int, default=3)
    load.add_argument("--match", choices=["exact", "ocr", "fuzzy"], default="exact")
    load.add_argument("--covert", action="store_true")

    conv = sub.add_parser(
        "convert",
        help="print the canonical reads of a captured vendor payload",
        description="Print the canonical reads of a captured vendor payload (the body, or a raw "
        "HTTP request) as NDJSON on stdout; problems on stderr. Exit status 1 when the payload "
        "yields no read. With --mapping, try a declarative mapping file instead of a built-in "
        "format. Formats: " + (", ".join(formats) or "see the docs") + ".",
    )
    conv.add_argument(
        "format",
        nargs="?",
        metavar="FORMAT",
        help="a built-in format (not with --mapping), one of: "
        + (", ".join(formats) or "see the docs"),
    )
    conv.add_argument("file", metavar="FILE", help="the captured payload; - for stdin")
    conv.add_argument("--mapping", default=None, help="try this mapping file (YAML or JSON)")
    conv.add_argument("--camera-tz", default=None, help="the camera's IANA time zone")

    from anpr_cli.db import add_parser as add_db
    from anpr_cli.report import add_parser as add_report
    from anpr_cli.simulate import add_parser as add_simulate

    add_simulate(sub)
    add_report(sub)
    add_db(sub)
    return parser


def _service_parsers(sub: Any) -> None:
    """`anpr run|ingest|matcher|api|notify|archive`, each `--help` listing its settings."""
    from anpr_cli.settings_help import settings_help
    from api.archive.settings import ArchiveSettings
    from api.settings import ApiSettings
    from ingest.settings import GatewaySettings
    from matcher.settings import MatcherSettings
    from notify.settings import NotifySettings

    services: list[tuple[str, str, tuple[type[BaseSettings], ...]]] = [
        (
            "run",
            "gateway, matcher, API, notify and the read archive in one process (embedded default)",
            (GatewaySettings, MatcherSettings, ApiSettings, NotifySettings, ArchiveSettings),
        ),
        ("ingest", "the camera-facing gateway (:8080)", (GatewaySettings,)),
        ("matcher", "the hotlist matcher (metrics and health on :9102)", (MatcherSettings,)),
        ("api", "the control-room and operations API (:8000)", (ApiSettings,)),
        ("notify", "webhook delivery of hits (metrics and health on :9103)", (NotifySettings,)),
        ("archive", "the read archive consumer (metrics and health on :9104)", (ArchiveSettings,)),
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
    words = list(sys.argv[1:] if argv is None else argv)
    args = _parser(_formats() if "convert" in words else ()).parse_args(words)
    private_umask()  # ANPR_DATA_DIR holds personal data: files 0600, directories 0700
    # Read here, before the settings classes validate them, so that even a settings error is
    # logged in the chosen format; the services read the same variables (anpr/settings.py).
    log_format = os.environ.get("ANPR_LOG_FORMAT", "text").lower()
    configure_logging(
        os.environ.get("ANPR_LOG_LEVEL", "INFO"), "json" if log_format == "json" else "text"
    )
    # As the services exit (anpr_cli/serve.py): 2 for a setting whose value is invalid (as
    # argparse for the command line), 1 for the project's errors: the broker away above all.
    try:
        return _dispatch(args)
    except ValidationError as exc:
        print(f"anpr {args.command}: {exc}", file=sys.stderr)
        return 2
    except AnprError as exc:
        print(f"anpr {args.command}: {exc}", file=sys.stderr)
        return 1


def _formats() -> list[str]:
    from ingest.adapters import ADAPTERS

    return sorted(ADAPTERS)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in {"run", "ingest", "matcher", "api", "notify", "archive"}:
        from anpr_cli.serve import serve_command

        return serve_command(args.command)
    if args.command == "admin":
        from anpr_cli.admin import admin_command

        return admin_command(args)
    if args.command == "hotlist":
        from anpr_cli.hotlist import hotlist_command

        return hotlist_command(args)
    if args.command == "convert":
        from anpr_cli.convert import convert_command

        return convert_command(
            args.format, args.file, mapping=args.mapping, camera_tz=args.camera_tz
        )
    if args.command == "report":
        from anpr_cli.report import report_command

        return report_command(args)
    if args.command == "db":
        from anpr_cli.db import db_command

        return db_command(args)
    if args.command == "simulate":
        from anpr_cli.simulate import simulate_command

        return simulate_command(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
