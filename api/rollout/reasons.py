"""Why a camera is not further along, in a few words a programme manager can forward.

Pure: each function takes the evidence (a commissioning report, rejection tallies) and gives a
`Reason`: a stable `code` (grouped in "top failure reasons") and a `text` that carries the
measure (`clock skew +43 s`, `73% reads rejected: captured_at without offset`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api.commissioning.model import CommissioningReport, Criterion, Status, Verdict


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str


NO_CONTACT = Reason("no_contact", "no request has named the camera yet")
NO_VALID_READ = Reason("no_valid_read", "requests arrive, but no valid read yet")
AWAITING_LIVE = Reason("awaiting_live", "commissioning passed: waiting to be moved to live")

# Titles of the reason codes, for the "top failure reasons" table.
LABELS: dict[str, str] = {
    "no_contact": "no contact",
    "no_valid_read": "no valid read",
    "reads_rejected": "reads rejected",
    "requests_refused": "requests refused (camera not the caller's)",
    "awaiting_live": "waiting to be moved to live",
    "silent": "silent",
    "observation_window": "observed too briefly",
    "sample_size": "too few reads yet",
    "valid_reads": "reads rejected",
    "clock_skew": "clock skew",
    "heartbeat_count": "no or too few heartbeats",
    "heartbeat_gaps": "irregular heartbeats",
    "confidence_present": "confidence missing",
    "confidence_median": "low median confidence",
    "low_confidence": "many low-confidence reads",
    "images": "images missing",
    "read_ids": "inconsistent read ids",
    "read_rate": "read rate off",
}


def percent(share: float) -> str:
    return f"{round(share * 100)}%"


def rejected(accepted: int, rejected: int, details: Mapping[str, int]) -> Reason | None:
    """`73% reads rejected: captured_at without offset` (the dominant wording), or None."""
    attempts = accepted + rejected
    if not rejected or not attempts:
        return None
    top = max(sorted(details), key=lambda d: details[d]) if details else None
    tail = f": {top}" if top else ""
    return Reason("reads_rejected", f"{percent(rejected / attempts)} reads rejected{tail}")


def refused(requests: int, callers: Mapping[str, int]) -> Reason:
    names = ", ".join(sorted(callers))
    return Reason(
        "requests_refused",
        f"{requests} requests refused: the camera is not registered to {names}",
    )


def criterion(c: Criterion, details: Mapping[str, int] | None = None) -> Reason:
    """The reason a failing (or not yet judged) commissioning criterion gives."""
    m = c.measured
    waiting = c.status is Status.INSUFFICIENT_DATA
    if c.id == "clock_skew" and not waiting:
        median = c.evidence.get("median_ms")
        signed = median if isinstance(median, int | float) else m or 0
        return Reason(c.id, f"clock skew {signed / 1000:+.0f} s")
    if c.id == "heartbeat_count" and not waiting:
        if not m:
            return Reason(c.id, "no heartbeat")
        return Reason(c.id, f"{m:g} heartbeats, {c.threshold.min:g} expected")
    if c.id == "heartbeat_gaps" and not waiting:
        if m is None:
            return Reason(c.id, "no two heartbeats in a row")
        return Reason(c.id, f"heartbeat gaps p95 {m:g} s")
    if c.id == "valid_reads" and not waiting and m is not None:
        accepted = int(c.evidence.get("accepted") or 0)
        found = rejected(accepted, int(c.evidence.get("rejected") or 0), details or {})
        if found is not None:
            return Reason(c.id, found.text)
    if c.id == "observation_window":
        return Reason(c.id, f"observed {m or 0:g} h of {c.threshold.min or 0:g} h")
    if c.id == "sample_size":
        return Reason(c.id, f"waiting for evidence: {m or 0:g} of {c.threshold.min or 0:g} reads")
    if waiting:
        return Reason(c.id, f"waiting for evidence: {c.title.lower()} ({c.samples} samples)")
    if c.id == "confidence_median" and m is not None:
        return Reason(c.id, f"median confidence {m:g}")
    if c.id == "confidence_present" and m is not None:
        return Reason(c.id, f"{percent(m)} of reads carry a confidence")
    if c.id == "read_rate" and m is not None:
        low, high = c.threshold.min, c.threshold.max
        expected = f" (expected {low:g}-{high:g}/h)" if low is not None and high is not None else ""
        return Reason(c.id, f"read rate {m:g}/h{expected}")
    shown = percent(m) if c.unit == "share" and m is not None else f"{m:g} {c.unit}" if m else "-"
    return Reason(c.id, f"{c.title.lower()}: {shown}")


def commissioning(report: CommissioningReport, details: Mapping[str, int]) -> Reason | None:
    """The first failing criterion, else the first still waiting for data; None on a pass."""
    if report.verdict is Verdict.PASS:
        return None
    wanted = Status.FAIL if report.verdict is Verdict.FAIL else Status.INSUFFICIENT_DATA
    first = next(c for c in report.criteria if c.status is wanted)
    return criterion(first, details)


def failures(report: CommissioningReport, details: Mapping[str, int]) -> list[Reason]:
    """Every failing criterion's reason (stored with a `commissioning_failed` event)."""
    return [criterion(c, details) for c in report.criteria if c.status is Status.FAIL]
