"""Reads the simulated cameras send, and the hits each one is owed. Pure.

`Traffic.read()` picks a camera (busy roads more often), then either a passing car with a random
plate seen through OCR noise, or, with probability `hit_share`, a car on a hotlist: a `Probe`'s
plate, read in a way its list must still match (clean for exact lists or through a candidate,
a look-alike swap for OCR lists, a missing or extra character for fuzzy lists, the plate behind
a partial-plate pattern). Such a read carries the (list_id, entry_id) it must produce a hit for;
other reads may hit too, by chance, against big lists.

`stamp` fills in what depends on the moment of sending: the read_id and the camera's
`captured_at` (its capture delay and clock error applied, in the camera's time format).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from simulator.fleet import Camera, TimeFormat, in_zone
from simulator.hotlists import MIN_FUZZY_PLATE, Probe
from simulator.noise import Misread, NoiseConfig, Observation, ReadNoise, compact
from simulator.plates import PlateGenerator

Expected = tuple[str, str]  # (list_id, entry_id)
BRUSSELS = timezone(timedelta(hours=1))
MAKES = ("Volkswagen", "Renault", "Peugeot", "BMW", "Toyota", "Mercedes-Benz", "Skoda", "Ford")
COLORS = ("grey", "black", "white", "blue", "red", "silver")
CLASSES = ("car", "car", "car", "van", "truck", "motorcycle")
DIRECTIONS = ("approaching", "receding", "unknown")


@dataclass(frozen=True, slots=True)
class PlannedRead:
    camera: int  # index in the fleet
    body: dict[str, Any]  # the read without read_id and captured_at
    capture_delay_ms: int  # from the capture to the send
    expected: tuple[Expected, ...]


class Traffic:
    def __init__(
        self,
        fleet: list[Camera],
        probes: list[Probe],
        *,
        seed: int,
        hit_share: float = 0.02,
        noise: NoiseConfig | None = None,
        country_share: float = 0.7,
        vehicle_share: float = 0.5,
    ) -> None:
        if not 0.0 <= hit_share <= 1.0:
            raise ValueError("hit_share must be from 0 to 1")
        self.fleet = fleet
        self.rng = random.Random(seed)
        self.plates = PlateGenerator(seed + 7)
        self.noise = ReadNoise(self.rng, noise)
        self.hit_share = hit_share if probes else 0.0
        self.country_share = country_share
        self.vehicle_share = vehicle_share
        self._senders = in_zone(fleet, ())
        self._weights = [fleet[i].weight for i in self._senders]
        # Probes that some sending camera can see (a zone list needs a camera in its zone).
        seeing = {zones: in_zone(fleet, zones) for zones in {p.zones for p in probes}}
        self._probes = [(p, seeing[p.zones]) for p in probes if seeing[p.zones]]

    def _camera(self) -> int:
        return self.rng.choices(self._senders, weights=self._weights)[0]

    def read(self) -> PlannedRead:
        if self._probes and self.rng.random() < self.hit_share:
            return self._listed()
        display, country = self.plates.plate()
        obs = self.noise.observe(display)
        return self._planned(self._camera(), obs, country, ())

    def _listed(self) -> PlannedRead:
        rng = self.rng
        probe, cameras = rng.choice(self._probes)
        camera = rng.choice(cameras)
        obs = self._probe_observation(probe)
        return self._planned(camera, obs, probe.country, ((probe.list_id, probe.entry_id),))

    def _probe_observation(self, probe: Probe) -> Observation:
        """A reading of a listed plate that the probe's list must match."""
        rng, noise = self.rng, self.noise
        plate = probe.plate
        high = round(rng.uniform(0.8, 0.99), 3)
        low = round(rng.uniform(0.35, 0.7), 3)
        roll = rng.random()
        if probe.pattern is not None or roll < 0.4:
            return Observation(plate, high, (), Misread.CLEAN)
        if probe.match == "exact":
            # Misread on the plate, the truth among the candidates: an exact candidate hit.
            misread = noise.confusable(plate)
            if misread == plate:
                return Observation(plate, high, (), Misread.CLEAN)
            return Observation(misread, low, ((plate, round(low * 0.9, 3)),), Misread.CONFUSABLE)
        if probe.match == "ocr" or roll < 0.7 or len(plate) < MIN_FUZZY_PLATE:
            changed = noise.confusable(plate, rng.randint(1, 2))
            kind = Misread.CLEAN if changed == plate else Misread.CONFUSABLE
            return Observation(changed, low, (), kind)
        if rng.random() < 0.5:
            return Observation(noise.missing(plate), low, (), Misread.MISSING)
        return Observation(noise.inserted(plate), low, (), Misread.EXTRA)

    def _planned(
        self, camera: int, obs: Observation, country: str | None, expected: tuple[Expected, ...]
    ) -> PlannedRead:
        rng = self.rng
        body: dict[str, Any] = {
            "camera_id": self.fleet[camera].camera_id,
            "plate": obs.plate,
            "confidence": obs.confidence,
        }
        if country is not None and rng.random() < self.country_share:
            body["country"] = country
        if obs.candidates:
            body["candidates"] = [{"plate": p, "confidence": c} for p, c in obs.candidates]
        body["direction"] = rng.choice(DIRECTIONS)
        body["lane"] = rng.randint(1, 3)
        if rng.random() < self.vehicle_share:
            body["vehicle"] = {
                "make": rng.choice(MAKES),
                "color": rng.choice(COLORS),
                "class": rng.choice(CLASSES),
            }
        return PlannedRead(camera, body, rng.randint(40, 400), expected)

    def reads(self, count: int) -> list[PlannedRead]:
        return [self.read() for _ in range(count)]


def format_time(ms: int, fmt: TimeFormat) -> int | str:
    if fmt is TimeFormat.EPOCH_MS:
        return ms
    zone = UTC if fmt is TimeFormat.RFC3339_UTC else BRUSSELS
    text = datetime.fromtimestamp(ms / 1000, tz=zone).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


class TimeText:
    """`format_time` as JSON bytes, the date-and-second part cached: the sender stamps every
    read with its capture time, and datetime formatting would otherwise dominate its cost."""

    def __init__(self) -> None:
        self._seconds: dict[tuple[int, TimeFormat], tuple[bytes, bytes]] = {}

    def json(self, ms: int, fmt: TimeFormat) -> bytes:
        if fmt is TimeFormat.EPOCH_MS:
            return str(ms).encode()
        second, milli = divmod(ms, 1000)
        key = (second, fmt)
        parts = self._seconds.get(key)
        if parts is None:
            if len(self._seconds) > 4096:
                self._seconds.clear()
            text = str(format_time(second * 1000, fmt))  # ...T08:00:00.000Z or .000+01:00
            cut = -5 if text.endswith("Z") else -10
            head, tail = text[:cut], text[cut + 4 :]
            parts = self._seconds[key] = (f'"{head}.'.encode(), f'{tail}"'.encode())
        return parts[0] + b"%03d" % milli + parts[1]


def stamp(read: PlannedRead, camera: Camera, *, read_id: str, sent_ms: int) -> dict[str, Any]:
    """The read as sent at `sent_ms` (wall clock, epoch ms)."""
    body = dict(read.body)
    body["read_id"] = read_id
    captured = sent_ms - read.capture_delay_ms + camera.skew_ms
    body["captured_at"] = format_time(captured, camera.time_format)
    return body


def plate_key(body: dict[str, Any]) -> str:
    """The compact plate of a read body (for display)."""
    return compact(str(body["plate"]))
