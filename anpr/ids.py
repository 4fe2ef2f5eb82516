"""Identifier types shared by every service, so a camera id is never passed where a list id goes."""

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
