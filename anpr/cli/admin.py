"""`anpr admin`: register integrators, cameras and tokens through the registry writer (the same
code path as the API's registry routes)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from anpr.auth import Role
from anpr.buses import make_bus, start_bus
from anpr.registry import CameraSpec, RegistryWriter, validate_camera
from anpr.settings import CommonSettings
from anpr.topics import Topics


async def _admin(args: argparse.Namespace) -> int:
    settings = CommonSettings()
    bus = make_bus(settings, client_id="anpr-admin")
    await start_bus(bus, attempts=5)
    topic = Topics.from_prefix(settings.topic_prefix).registry
    writer = RegistryWriter(bus, topic)
    try:
        if args.admin_command == "format":
            from anpr.cli.formats import format_command

            return await format_command(args, bus, writer, topic)
        if args.admin_command == "integrator":
            token = await writer.create_integrator(args.integrator_id, args.name)
            print(f"integrator {args.integrator_id} registered; its token (shown once):")
            print(token)
        elif args.admin_command == "token":
            token = await writer.create_token(Role(args.role), args.name)
            print(f"{args.role} token (shown once):")
            print(token)
        elif args.admin_command == "camera":
            spec = validate_camera(
                {
                    "camera_id": args.camera_id,
                    "integrator_id": args.integrator_id,
                    "name": args.name or args.camera_id,
                    "zones": [z.strip() for z in args.zones.split(",") if z.strip()],
                    "timezone": args.timezone,
                    "expected_reads_per_hour": args.expected_reads_per_hour,
                    "external_ids": args.external_ids,
                    "state": args.state,
                }
            )
            if not isinstance(spec, CameraSpec):
                for error in spec:
                    print(f"{error['field']}: {error['message']}", file=sys.stderr)
                return 2
            await writer.put_camera(spec)
            print(f"camera {spec.camera_id} registered for integrator {spec.integrator_id}")
        elif args.admin_command == "delete-camera":
            await writer.delete_camera(args.camera_id)
            print(f"camera {args.camera_id} deleted")
    finally:
        await bus.stop()
    return 0


def admin_command(args: argparse.Namespace) -> int:
    return asyncio.run(_admin(args))
