"""`anpr admin`: register integrators, cameras and tokens, list, revoke and rotate tokens,
through the registry writer (the same code path as the API's registry routes).

Every change is also published on the audit topic (`anpr/audit_wire.py`) so that it reaches the
API's audit log like a change made through the API, with actor `cli:<user>@<host>`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from anpr.audit_wire import AuditRecord, cli_actor, publish_audit
from anpr.auth import Role, hash_token, token_name_taken
from anpr.bus.base import Bus, Record
from anpr.bus.factory import make_bus, start_bus
from anpr.clock import ms_to_rfc3339
from anpr.errors import AnprError
from anpr.follow import replay
from anpr.ids import is_valid_id
from anpr.registry import (
    WRITER_FIELDS,
    CameraSpec,
    CameraState,
    RegistryView,
    RegistryWriter,
    default_token_name,
    token_id,
    validate_camera,
)
from anpr.settings import CommonSettings
from anpr.topics import Topics
from anpr_cli import INTERRUPTED

REPLAY_TIMEOUT_S = 60.0


class Refused(AnprError):
    """The command's input was refused; the reason was printed."""


async def _registry(bus: Bus, topic: str) -> RegistryView:
    """The registry as it is now, replayed from the compacted topic."""
    view = RegistryView()

    def apply(record: Record) -> None:
        view.apply(record.key, record.value)

    deadletter = Topics.from_prefix(CommonSettings().topic_prefix).deadletter
    await replay(
        bus, topic, apply, name="admin", deadletter_topic=deadletter, timeout_s=REPLAY_TIMEOUT_S
    )
    return view


NOT_ASSESSED = "not_assessed"
NOT_ASSESSED_SUMMARY = (
    "taken live from the command line: the commissioning report was not consulted"
)
NOT_ASSESSED_NOTICE = (
    "camera {camera_id} is live without its commissioning verdict (recorded as not assessed); "
    "GET /v1/cameras/{camera_id}/commissioning shows the report, and PATCH /v1/cameras/"
    "{camera_id} records its verdict when a camera goes live"
)


def _camera_spec(args: argparse.Namespace, view: RegistryView) -> CameraSpec | None:
    """The options given over the camera's registration: re-running the command to correct
    one value must not move a commissioning camera to `live` or reset its time zone."""
    current = view.cameras.get(args.camera_id)
    given = {
        "integrator_id": args.integrator_id,
        "name": args.name,
        "zones": None
        if args.zones is None
        else [z.strip() for z in args.zones.split(",") if z.strip()],
        "timezone": args.timezone,
        "expected_reads_per_hour": args.expected_reads_per_hour,
        "external_ids": args.external_ids,
        "state": args.state,
    }
    base: dict[str, Any] = {"name": args.camera_id}
    if current is not None:
        base = {k: v for k, v in current.record.items() if k not in WRITER_FIELDS}
    spec = validate_camera(
        {**base, **{k: v for k, v in given.items() if v is not None}, "camera_id": args.camera_id}
    )
    if isinstance(spec, CameraSpec):
        return spec
    for error in spec:
        print(f"{error['field']}: {error['message']}", file=sys.stderr)
    return None


async def _run(args: argparse.Namespace, writer: RegistryWriter, view: RegistryView) -> AuditRecord:
    """Do the change; return its audit record. `Refused` (said on stderr) changes nothing."""
    what = args.admin_command
    actor = cli_actor()
    detail: dict[str, Any] = {}
    if what == "integrator":  # refused as POST /v1/integrators refuses it (422, 409)
        if not is_valid_id(args.integrator_id):
            print(
                f"integrator_id {args.integrator_id!r}: 1 to 128 of A-Z a-z 0-9 . _ : -",
                file=sys.stderr,
            )
            raise Refused
        if args.integrator_id in view.integrators:
            print(
                f"integrator {args.integrator_id!r} is registered; for a new token: "
                f"anpr admin rotate-token {args.integrator_id}",
                file=sys.stderr,
            )
            raise Refused
        name = args.name or args.integrator_id  # as a camera's; the API requires a name
        token = await writer.create_integrator(args.integrator_id, name)
        print(f"integrator {args.integrator_id} registered; its token (shown once):")
        print(token)
        detail = {"name": name, "token_id": token_id(hash_token(token))}
        return AuditRecord("integrator.create", args.integrator_id, actor, detail=detail)
    if what == "token":
        given: str | None = args.name
        if given is not None and token_name_taken(given, (p.name for p in view.tokens.values())):
            print(f"a token named {given!r} exists; choose another name", file=sys.stderr)
            raise Refused
        token = await writer.create_token(Role(args.role), given)
        print(f"{args.role} token (shown once):")
        print(token)
        digest = hash_token(token)
        ident = token_id(digest)
        name = given if given is not None else default_token_name(Role(args.role), digest)
        detail = {"role": args.role, "name": name}
        return AuditRecord("token.create", f"token/{ident}", actor, detail=detail)
    if what == "revoke-token":
        hashes = view.tokens_by_id(args.token_id)
        if len(hashes) != 1:
            print(f"no single token with id {args.token_id!r}", file=sys.stderr)
            raise Refused
        revoked = view.tokens[hashes[0]]
        await writer.revoke_token(hashes[0])
        print(f"token {args.token_id} revoked")
        detail = {"role": revoked.role.value, "name": revoked.name}
        return AuditRecord("token.revoke", f"token/{args.token_id}", actor, detail=detail)
    if what == "rotate-token":
        integrator = view.integrators.get(args.integrator_id)
        if integrator is None:
            print(f"integrator {args.integrator_id!r} is not registered", file=sys.stderr)
            raise Refused
        old = [
            d
            for d, p in view.tokens.items()
            if p.role is Role.INTEGRATOR and p.integrator_id == args.integrator_id
        ]
        token = await writer.rotate_integrator_token(args.integrator_id, integrator.name, old)
        print(f"integrator {args.integrator_id}: new token (shown once); {len(old)} revoked:")
        print(token)
        detail = {"token_id": token_id(hash_token(token)), "revoked": [token_id(d) for d in old]}
        return AuditRecord("token.rotate", f"integrator/{args.integrator_id}", actor, detail=detail)
    if what == "camera":
        spec = _camera_spec(args, view)
        if spec is None:
            raise Refused
        if spec.integrator_id not in view.integrators:  # as POST /v1/cameras refuses it
            print(f"integrator {spec.integrator_id!r} is not registered", file=sys.stderr)
            raise Refused
        for ext in spec.external_ids:
            others = view.external_id_claims(ext) - {spec.camera_id}
            if others:
                print(f"external id {ext!r} is camera {min(others)!r}'s", file=sys.stderr)
                raise Refused
        previous = view.cameras.get(spec.camera_id)
        await writer.put_camera(spec, previous)
        print(f"camera {spec.camera_id} registered for integrator {spec.integrator_id}")
        detail = spec.model_dump(mode="json")
        went_live = previous is not None and previous.state is CameraState.COMMISSIONING
        if went_live and spec.state is CameraState.LIVE:
            # The API records the commissioning verdict the change was made on; the command
            # line has no camera health to judge by, and says so to the auditors.
            detail["commissioning_verdict"] = NOT_ASSESSED
            detail["commissioning_summary"] = NOT_ASSESSED_SUMMARY
            print(NOT_ASSESSED_NOTICE.format(camera_id=spec.camera_id), file=sys.stderr)
        return AuditRecord("camera.put", spec.camera_id, actor, detail=detail)
    # delete-camera
    if args.camera_id not in view.cameras:  # nothing to delete: no record, no audit entry
        print(f"camera {args.camera_id!r} is not registered", file=sys.stderr)
        raise Refused
    await writer.delete_camera(args.camera_id)
    print(f"camera {args.camera_id} deleted")
    return AuditRecord("camera.delete", args.camera_id, actor)


def _print_tokens(view: RegistryView) -> None:
    print(f"{'token_id':16}  {'role':11} {'integrator':16} {'created':24} name")
    for info in view.token_infos():
        created = ms_to_rfc3339(info.created_at) if info.created_at else "-"
        print(
            f"{info.token_id:16}  {info.role.value:11} {info.integrator_id or '-':16} "
            f"{created:24} {info.name}"
        )


async def _admin(args: argparse.Namespace) -> int:
    settings = CommonSettings()
    topics = Topics.from_prefix(settings.topic_prefix)
    bus = make_bus(settings, client_id="anpr-admin")
    await start_bus(bus, attempts=5)
    writer = RegistryWriter(bus, topics.registry)
    try:
        if args.admin_command == "format":
            from anpr_cli.formats import format_command

            status = await format_command(args, bus, writer, topics.registry)
            if status == 0 and args.format_command in {"put", "delete"}:
                action = f"format.{args.format_command}"
                target = f"format/{args.name}"  # as the API's format routes audit it
                await audit_made(bus, topics.audit, AuditRecord(action, target, cli_actor()))
            return status
        view = await _registry(bus, topics.registry)
        if args.admin_command == "tokens":
            _print_tokens(view)
            return 0
        try:
            record = await _run(args, writer, view)
        except Refused:
            return 2
        await audit_made(bus, topics.audit, record)
    finally:
        await bus.stop()
    return 0


AUDIT_ATTEMPTS = 3
AUDIT_RETRY_S = 2.0


class NotAudited(AnprError):
    """A change was made but its audit record could not be published."""


async def audit_made(bus: Bus, topic: str, record: AuditRecord) -> None:
    """Publish the audit record of a change already made, trying again while the bus is away
    (its `record_id` makes a repeat harmless); `NotAudited`, saying the change *was* made and
    which, when it cannot: the bus failing after the change left the administrator believing
    nothing had happened, and the auditors without a trace of it."""
    failure: AnprError | None = None
    for attempt in range(AUDIT_ATTEMPTS):
        if attempt:
            await asyncio.sleep(AUDIT_RETRY_S)
        try:
            await publish_audit(bus, topic, record)
        except AnprError as exc:
            failure = exc
            continue
        return
    raise NotAudited(
        f"the change was made ({record.action} {record.target}), but its audit record could "
        f"not be published: {failure}. Tell your auditors; the registry holds the change."
    )


def admin_command(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_admin(args))
    except KeyboardInterrupt:
        reading = args.admin_command == "tokens" or getattr(args, "format_command", "") == "list"
        state = "" if reading else "; the change may or may not have been made"
        print(f"anpr admin: interrupted{state}", file=sys.stderr)
        return INTERRUPTED
