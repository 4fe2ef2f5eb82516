"""CPU time and memory of processes, and of the whole machine, from /proc (Linux).

A phase of the benchmark takes a `snapshot` of its processes before and after; the difference
of CPU seconds over the wall time is the cores each used. The machine's own counters give the
CPU used by everything else (other users of the machine make figures noisy; this says how much),
and the scheduler's counters how long each process was ready to run but waited for a CPU
(milliseconds per second: 100 means a tenth of its time queued behind others).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (None when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def runqueue_wait_s(pid: int) -> float | None:
    """Seconds the process's threads have spent runnable but waiting for a CPU (schedstat)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int((task / "schedstat").read_text().split()[1])
    except OSError:
        return None
    return total / 1e9


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) in KiB; empty when the process is gone."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        return {}
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) / TICKS for v in first[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float
    cpu: dict[str, float]
    wait: dict[str, float]
    machine_busy: float
    machine_total: float


def snapshot(pids: dict[str, int]) -> Snapshot:
    cpu = {name: c for name, pid in pids.items() if (c := cpu_seconds(pid)) is not None}
    wait = {name: w for name, pid in pids.items() if (w := runqueue_wait_s(pid)) is not None}
    busy, total = machine_cpu()
    return Snapshot(time.monotonic(), cpu, wait, busy, total)


def usage(before: Snapshot, after: Snapshot) -> dict[str, object]:
    """Cores used per process between two snapshots, ours in total, and everything else."""
    wall = max(after.at - before.at, 1e-9)
    cores = {
        name: round((after.cpu[name] - before.cpu[name]) / wall, 3)
        for name in after.cpu
        if name in before.cpu
    }
    ours = sum(cores.values())
    machine = (after.machine_busy - before.machine_busy) / wall
    # A thread that ended between the snapshots takes its count with it: a lower bound.
    waited = {
        name: round(max(0.0, after.wait[name] - before.wait[name]) / wall * 1000, 1)
        for name in after.wait
        if name in before.wait
    }
    return {
        "wall_s": round(wall, 2),
        "cores": cores,
        "runqueue_wait_ms_per_s": waited,
        "ours_cores": round(ours, 3),
        "machine_busy_cores": round(machine, 3),
        "others_cores": round(max(0.0, machine - ours), 3),
    }
