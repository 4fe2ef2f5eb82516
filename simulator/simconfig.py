"""The settings of a simulation (`anpr simulate`), checked at construction, and the probes a
benchmark saves once so each load phase need not rebuild a million-entry hotlist to know them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from simulator.fleet import FleetConfig
from simulator.hotlists import Probe
from simulator.noise import NoiseConfig
from simulator.schedule import Schedule


@dataclass(frozen=True, slots=True)
class SimConfig:
    gateway: str = "http://127.0.0.1:8080"
    api: str = "http://127.0.0.1:8000"
    admin_token: str | None = None
    token: str | None = None  # an integrator token: skip registering an integrator
    integrator_id: str = "sim-integrator"
    data_dir: Path = Path(".anpr-data")
    cameras: int = 50
    skewed_share: float = 0.1
    silent: int = 1
    rate: float = 50.0
    batch: int = 1
    duration_s: float = 60.0
    closed_loop: bool = False  # for a throughput ceiling, not for latency
    connections: int = 32
    client: str = "httpx"  # or "raw": simulator.rawhttp, far cheaper per request
    late_ms: float = 10.0
    hit_share: float = 0.02
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    seed: int = 2026
    setup: bool = True
    hotlist_entries: int = 2000
    list_prefix: str = "sim"
    watch: bool = True
    show_hits: bool = False
    drain_s: float = 15.0
    progress_s: float = 5.0
    read_id_prefix: str | None = None
    json_out: Path | None = None
    probes_file: Path | None = None  # probes saved by the benchmark (skips building the lists)
    quiet: bool = False
    # Delete the cameras and hotlists registered by the set-up, and revoke the integrator's
    # tokens, when the run ends (`--cleanup`).
    cleanup: bool = False

    def __post_init__(self) -> None:
        Schedule(self.rate, self.batch, self.duration_s)  # validates
        FleetConfig(cameras=self.cameras, skewed_share=self.skewed_share, silent=self.silent)
        if not 0.0 <= self.hit_share <= 1.0:
            raise ValueError("hit share must be from 0 to 1")
        if self.setup and self.hotlist_entries < 100:
            raise ValueError("at least 100 hotlist entries")
        if self.connections < 1:
            raise ValueError("connections must be at least 1")
        if self.client not in ("httpx", "raw"):
            raise ValueError("client must be httpx or raw")
        if not self.setup and not self.token:
            raise ValueError("without set-up an integrator token is needed (--token)")


def save_probes(path: Path, probes: list[Probe]) -> None:
    path.write_bytes(orjson.dumps([asdict(p) for p in probes]))


def load_probes(path: Path) -> list[Probe]:
    return [
        Probe(**{**item, "zones": tuple(item["zones"])}) for item in orjson.loads(path.read_bytes())
    ]
