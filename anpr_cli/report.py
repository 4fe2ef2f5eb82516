"""`anpr report rollout --format md|csv|html|json`: the connection rollout report, fetched from the
API (`GET /v1/rollout`) and printed to stdout, ready for a weekly report or a Confluence/Jira page.

The API holds the lifecycle events, so the report is asked of it rather than rebuilt here:
`--api` (default `ANPR_API_URL`, else `http://ANPR_HOST:ANPR_API_PORT`) and a manager or admin
token (`--token`, default `ANPR_TOKEN`, else `ANPR_ADMIN_TOKEN`). The standard library's HTTP
client is enough for one GET; no extra dependency.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT_S = 30.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="reports from the API")
    report_sub = report.add_subparsers(dest="report_command", required=True, metavar="WHICH")
    rollout = report_sub.add_parser("rollout", help="the camera connection rollout report")
    rollout.add_argument("--format", choices=["md", "csv", "html", "json"], default="md")
    rollout.add_argument(
        "--table",
        choices=["integrators", "stuck", "weeks", "reasons"],
        default="integrators",
        help="which table --format csv gives",
    )
    rollout.add_argument("--api", default=None, help="the API's base URL")
    rollout.add_argument(
        "--token",
        default=None,
        help="a manager or admin token; prefer ANPR_TOKEN (a token in the command line is "
        "readable by every user of the host and kept in shell history)",
    )


IN_ARGV_WARNING = (
    "warning: a token given with {option} is readable by every user of this host (ps) and kept "
    "in shell history; set {variable} instead"
)


def _base_url(given: str | None) -> str:
    if given:
        return given.rstrip("/")
    if os.environ.get("ANPR_API_URL"):
        return os.environ["ANPR_API_URL"].rstrip("/")
    host = os.environ.get("ANPR_HOST", "127.0.0.1")
    return f"http://{host}:{os.environ.get('ANPR_API_PORT', '8000')}"


def report_command(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("ANPR_TOKEN") or os.environ.get("ANPR_ADMIN_TOKEN")
    if not token:
        print("a token is needed: --token, ANPR_TOKEN or ANPR_ADMIN_TOKEN", file=sys.stderr)
        return 2
    if args.token:
        print(IN_ARGV_WARNING.format(option="--token", variable="ANPR_TOKEN"), file=sys.stderr)
    base = _base_url(args.api)
    if not base.startswith(("http://", "https://")):
        print(f"--api must be an http(s) URL, got {base!r}", file=sys.stderr)
        return 2
    query = urllib.parse.urlencode({"format": args.format, "table": args.table})
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        f"{base}/v1/rollout?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        print(
            f"the API answered {exc.code}: {exc.read().decode(errors='replace')}", file=sys.stderr
        )
        return 1
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        print(f"cannot reach the API at {base}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(body.decode("utf-8"))
    return 0
