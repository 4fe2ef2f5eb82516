"""A simulated camera fleet: ids, zones, locations, traffic weights and clock errors. Pure.

Cameras are spread over a few zones around Brussels; busy roads see more traffic than quiet
ones. A share of the cameras has a wrong clock: a few seconds or minutes off (no NTP), or an
hour ahead (local time sent as UTC, the classic integrator bug). One camera is silent: it is
registered but never sends anything, so the camera-health view shows it `never_seen`.
Cameras report `captured_at` either as epoch milliseconds or as RFC 3339 with an offset,
depending on the vendor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

ZONES = ("city-centre", "ring", "port", "airport", "north", "south")
CENTRE = (50.8467, 4.3525)  # Brussels
# Clock errors of the cameras with a wrong clock, in ms (captured_at = true time + skew).
SKEWS_MS = (-95_000, -12_000, -3_500, 2_500, 40_000, 3_600_000)


class TimeFormat(StrEnum):
    EPOCH_MS = "epoch_ms"
    RFC3339_UTC = "rfc3339_utc"
    RFC3339_OFFSET = "rfc3339_offset"  # +01:00, as a Belgian camera set to local time


@dataclass(frozen=True, slots=True)
class Camera:
    camera_id: str
    integrator_id: str
    name: str
    zones: tuple[str, ...]
    lat: float
    lon: float
    weight: float  # relative traffic
    skew_ms: int  # its clock error
    time_format: TimeFormat
    silent: bool = False

    def registration(self) -> dict[str, object]:
        """The body of `POST /v1/cameras`."""
        return {
            "camera_id": self.camera_id,
            "integrator_id": self.integrator_id,
            "name": self.name,
            "zones": list(self.zones),
            "location": {"lat": self.lat, "lon": self.lon},
            "expected_reads_per_hour": 0 if self.silent else round(self.weight * 600),
            "timezone": "Europe/Brussels",
        }


@dataclass(frozen=True, slots=True)
class FleetConfig:
    cameras: int = 50
    integrator_id: str = "sim-integrator"
    prefix: str = "sim-cam"
    skewed_share: float = 0.1  # cameras with a wrong clock
    silent: int = 1  # cameras that never send

    def __post_init__(self) -> None:
        if self.cameras < 1:
            raise ValueError("at least one camera")
        if not 0 <= self.silent < self.cameras:
            raise ValueError("at least one camera must send")
        if not 0.0 <= self.skewed_share <= 1.0:
            raise ValueError("skewed_share must be from 0 to 1")


def make_fleet(config: FleetConfig, seed: int) -> list[Camera]:
    """The fleet: the last `silent` cameras are silent; skewed cameras are spread evenly."""
    rng = random.Random(seed)
    n = config.cameras
    skewed = round(n * config.skewed_share)
    # Every (n / skewed)-th camera has a wrong clock, cycling through SKEWS_MS.
    skewed_at = {round(k * n / skewed): k for k in range(skewed)} if skewed else {}
    width = len(str(n))
    fleet: list[Camera] = []
    for i in range(n):
        zone_count = 1 if rng.random() < 0.8 else 2
        zones = tuple(sorted(rng.sample(ZONES, zone_count)))
        k = skewed_at.get(i)
        skew = SKEWS_MS[k % len(SKEWS_MS)] if k is not None else rng.randint(-400, 400)
        fleet.append(
            Camera(
                camera_id=f"{config.prefix}-{i + 1:0{width}d}",
                integrator_id=config.integrator_id,
                name=f"Simulated camera {i + 1} ({zones[0]})",
                zones=zones,
                lat=round(CENTRE[0] + rng.uniform(-0.08, 0.08), 5),
                lon=round(CENTRE[1] + rng.uniform(-0.12, 0.12), 5),
                weight=rng.choice((0.3, 0.6, 1.0, 1.0, 1.5, 3.0)),
                skew_ms=skew,
                time_format=rng.choice(tuple(TimeFormat)),
                silent=i >= n - config.silent,
            )
        )
    return fleet


def in_zone(fleet: list[Camera], zones: tuple[str, ...]) -> list[int]:
    """Indexes of the sending cameras that share a zone with `zones` (all of them if empty)."""
    wanted = set(zones)
    return [
        i
        for i, cam in enumerate(fleet)
        if not cam.silent and (not wanted or not wanted.isdisjoint(cam.zones))
    ]
