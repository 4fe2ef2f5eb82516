"""Identifier types shared by every service, so a camera id is never passed where a list id goes.

They are given where an id is validated or decoded (`anpr.reads.validate_read`, the hotlist
parser and wire decoders, `plan_put_config`, `derive_read_id`) and carried by the kernel's records:
`ReadRecord.read_id`/`camera_id`/`integrator_id`, `HitRecord.hit_id`/`list_id`/`entry_id`,
`ListConfig.list_id`, `EntrySpec.entry_id`, `Entry.list_id`; `derive_hit_id` takes each one by its
type, so swapping two of its arguments is a type error. At run time a `NewType` is the plain `str`.
"""

from __future__ import annotations

import re
from typing import NewType

CameraId = NewType("CameraId", str)
IntegratorId = NewType("IntegratorId", str)
ReadId = NewType("ReadId", str)
HitId = NewType("HitId", str)
ListId = NewType("ListId", str)
EntryId = NewType("EntryId", str)

# read_id, camera_id, integrator_id, list_id and entry_id share one safe alphabet: they appear in
# URLs, Kafka keys and log lines.
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None
