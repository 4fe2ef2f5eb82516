"""`anpr admin format put|list|delete`: vendor mappings on the registry topic, checked exactly as
`PUT /v1/formats/{name}` checks them (the same `validate_mapping`, the same `RegistryWriter`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from anpr.bus.base import Bus, Record
from anpr.follow import replay
from anpr.formats import FormatMapping, validate_mapping
from anpr.formats.load import MappingFileError, load_mapping_text
from anpr.registry import RegistryView, RegistryWriter
from anpr.settings import CommonSettings
from anpr.topics import Topics

CATCH_UP_S = 120


def check_file(name: str, file: str) -> FormatMapping | None:
    """The checked mapping of `file`, or None with every error printed (field named)."""
    try:
        data = load_mapping_text(Path(file).read_bytes(), Path(file).suffix)
    except (OSError, MappingFileError) as exc:
        print(f"cannot read the mapping {file}: {exc}", file=sys.stderr)
        return None
    found = validate_mapping(data, name=name)
    if isinstance(found, FormatMapping):
        return found
    for error in found:
        print(f"{error['field']}: {error['message']}", file=sys.stderr)
    return None


async def registry_view(bus: Bus, topic: str) -> RegistryView:
    """The registry as of now, read from the start of its topic."""
    view = RegistryView()

    def apply(record: Record) -> None:
        view.apply(record.key, record.value)

    deadletter = Topics.from_prefix(CommonSettings().topic_prefix).deadletter
    await replay(
        bus, topic, apply, name="admin-formats", deadletter_topic=deadletter, timeout_s=CATCH_UP_S
    )
    return view


async def format_command(
    args: argparse.Namespace, bus: Bus, writer: RegistryWriter, topic: str
) -> int:
    if args.format_command == "put":
        mapping = check_file(args.name, args.file)
        if mapping is None:
            return 2
        await writer.put_format(mapping)
        print(f"mapping {args.name} registered: POST /v1/ingest/{args.name} takes it")
    elif args.format_command == "list":
        view = await registry_view(bus, topic)
        for name, found in sorted(view.formats.items()):
            print(f"{name}\t{found.body}\t{found.description or ''}")
    elif args.format_command == "delete":
        if args.name not in (await registry_view(bus, topic)).formats:  # as the API's 404
            print(f"mapping {args.name!r} is not registered", file=sys.stderr)
            return 2
        await writer.delete_format(args.name)
        print(f"mapping {args.name} deleted")
    return 0
