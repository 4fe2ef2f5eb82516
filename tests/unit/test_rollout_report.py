"""The rollout report's pure core with a fake clock: cameras walked through every stage by the
lifecycle book, one stuck on each blocking criterion, and the counts, durations, weeks, reasons
and ranking asserted exactly. Plus the renderers (Markdown, CSV, HTML) on the same report."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from anpr.registry import Camera, CameraState
from api.commissioning.criteria import evaluate
from api.rollout import reasons
from api.rollout.lifecycle import MAX_REPEATED, Kind, LifecycleBook
from api.rollout.reasons import Reason
from api.rollout.render import to_csv, to_html, to_json, to_markdown
from api.rollout.report import DAY_MS, CameraFacts, RolloutReport, Stage, build, position
from api.rollout.schemas import RolloutOut
from api.store.base import LifecycleEvent
from tests.unit.test_api_commissioning_criteria import HOUR, NOW, conf_hist, gap_hist, make_stats

# Day 0 is Monday 2026-01-05 00:00 UTC (ISO week 2026-W02): weeks start on multiples of 7 days.
T0 = 1_767_571_200_000
NOW_DAY = 100


def day(d: float) -> int:
    return T0 + int(d * DAY_MS)


def camera(camera_id: str, integrator_id: str, *, live: bool = False) -> Camera:
    state = CameraState.LIVE if live else CameraState.COMMISSIONING
    return Camera(camera_id, integrator_id, camera_id, frozenset(), "UTC", state, None, (), {})


class Walk:
    """Drives a `LifecycleBook` the way the API's feed does, at chosen days."""

    def __init__(self) -> None:
        self.book = LifecycleBook()

    def register(self, cam: Camera, d: float) -> Camera:
        self.book.on_camera(cam, day(d))
        return cam

    def go_live(self, cam: Camera, d: float) -> None:
        live = Camera(cam.camera_id, cam.integrator_id, cam.name, cam.zones, cam.timezone,
                      CameraState.LIVE, None, (), {})  # fmt: skip
        self.book.on_camera(live, day(d))


def walked() -> tuple[LifecycleBook, dict[str, Reason | None]]:
    """Six cameras, one in each stage, over two integrators."""
    w = Walk()
    b = w.book
    w.register(camera("a-registered", "int-a"), 80)  # nothing since: no contact

    w.register(camera("a-contacted", "int-a"), 60)
    b.on_contact("a-contacted", day(70), caller="int-a", refused=0, requests=3)

    w.register(camera("b-reading", "int-b"), 50)
    b.on_contact("b-reading", day(52), caller="int-b", refused=0, requests=1)
    b.on_read("b-reading", day(55))
    b.on_heartbeat("b-reading", day(55))

    comm = w.register(camera("b-commissioned", "int-b"), 40)
    b.on_read("b-commissioned", day(42))  # the first read is also the first contact
    skew = [{"code": "clock_skew", "text": "clock skew +43 s"}]
    b.on_verdict("b-commissioned", day(45), passed=False, reasons=skew)
    b.on_verdict("b-commissioned", day(50), passed=True)
    assert comm.state is CameraState.COMMISSIONING

    live = w.register(camera("a-live", "int-a"), 10)
    b.on_contact("a-live", day(12), caller="int-a", refused=0, requests=1)
    b.on_read("a-live", day(15))
    b.on_verdict("a-live", day(20), passed=True)
    w.go_live(live, 22)
    b.on_status("a-live", day(60), "offline")  # a silence, then back: live again
    b.on_status("a-live", day(61), "online")

    silent = w.register(camera("b-silent", "int-b"), 0)
    b.on_contact("b-silent", day(1), caller="int-b", refused=0, requests=1)
    b.on_read("b-silent", day(2))
    w.go_live(silent, 3)  # went live without a commissioning pass
    b.on_status("b-silent", day(90), "offline")
    b.on_status("b-silent", day(91), "offline")  # still silent: no second event

    blocking: dict[str, Reason | None] = {
        "a-registered": reasons.NO_CONTACT,
        "a-contacted": reasons.rejected(27, 73, {"captured_at without offset": 70, "plate": 3}),
        "b-reading": reasons.commissioning(evaluate(make_stats(clock_skew_ms=43_000)), {}),
        "b-commissioned": reasons.AWAITING_LIVE,
        "a-live": None,
        "b-silent": Reason("silent", "no read or heartbeat since 2026-04-05T00:00Z"),
    }
    return b, blocking


def report(stuck_after_days: float = 14) -> RolloutReport:
    book, blocking = walked()
    facts = [
        CameraFacts(
            cid, "int-a" if cid[0] == "a" else "int-b", position(life.events), blocking[cid]
        )
        for cid, life in sorted(book.lives.items())
    ]
    names = {"int-a": "Alpha Installs", "int-b": "Beta Systems", "int-c": "Gamma (no cameras)"}
    return build(facts, names, now=day(NOW_DAY), stuck_after_days=stuck_after_days, weeks=4)


def test_the_book_records_each_event_once_with_its_time() -> None:
    book, _ = walked()
    kinds = {cid: [(e.kind, (e.at - T0) / DAY_MS) for e in life.events]
             for cid, life in book.lives.items()}  # fmt: skip
    assert kinds["b-commissioned"] == [
        ("registered", 40),
        ("moved_commissioning", 40),
        ("first_contact", 42),
        ("first_valid_read", 42),
        ("commissioning_failed", 45),
        ("commissioning_passed", 50),
    ]
    assert kinds["a-live"][-4:] == [
        ("commissioning_passed", 20),
        ("moved_live", 22),
        ("went_silent", 60),
        ("came_back", 61),
    ]
    assert [k for k, _ in kinds["b-silent"]].count("went_silent") == 1
    assert book.lives["b-reading"].first(Kind.FIRST_HEARTBEAT) is not None
    # Everything recorded is pending for the store, once.
    assert len(book.drain()) == sum(len(v) for v in kinds.values())
    assert book.drain() == []


def test_replayed_registry_and_repeated_observations_add_nothing() -> None:
    book, _ = walked()
    book.drain()
    book.on_camera(camera("a-registered", "int-a"), day(99))  # registry replay at a restart
    book.on_read("b-reading", day(99))
    book.on_contact("a-contacted", day(99), caller="int-a", refused=0, requests=1)
    book.on_verdict("b-commissioned", day(99), passed=True)
    assert book.drain() == []


STAGES: dict[str, tuple[Stage, float]] = {
    "a-registered": (Stage.REGISTERED, 80),
    "a-contacted": (Stage.CONTACTED, 70),
    "b-reading": (Stage.READING, 55),
    "b-commissioned": (Stage.COMMISSIONED, 50),
    "a-live": (Stage.LIVE, 22),
    "b-silent": (Stage.SILENT, 90),
}


@pytest.mark.parametrize("camera_id, stage, since", [(k, *v) for k, v in STAGES.items()],
                         ids=STAGES.keys())  # fmt: skip
def test_each_camera_is_in_its_stage(camera_id: str, stage: Stage, since: float) -> None:
    book, _ = walked()
    pos = position(book.lives[camera_id].events)
    assert (pos.stage, pos.since) == (stage, day(since))


def test_counts_durations_and_stuck_cameras_overall() -> None:
    r = report()
    o = r.overall
    assert o.cameras == 6
    assert {s.stage.value: s.cameras for s in o.stages} == {
        "registered": 1, "contacted": 1, "reading": 1, "commissioned": 1, "live": 1, "silent": 1,
    }  # fmt: skip
    stats = {s.stage.value: (s.samples, s.median_days, s.p90_days) for s in o.stages}
    # registered: 20 (now), 10, 2, 2 (first read at 42 is the contact), 2, 1 days
    assert stats["registered"] == (6, 2.0, 15.0)
    # contacted: 30 (now), 3, 0 (read at first contact), 3, 1 days
    assert stats["contacted"] == (5, 3.0, 19.2)
    # reading: 45 (now), 8 (pass at 50), 5 (pass at 20), 1 (b-silent went live with no pass)
    assert stats["reading"] == (4, 6.5, 33.9)
    # commissioned: 50 (now), 2 (a-live: pass at 20, live at 22); p90 interpolates linearly
    assert stats["commissioned"] == (2, 26.0, 45.2)
    assert stats["silent"] == (1, 10.0, 10.0)
    assert stats["live"] == (0, None, None)
    assert o.median_days_to_live == 7.5  # a-live 12 days, b-silent 3 days
    assert [(s.camera_id, s.stage.value, s.days, s.code, s.reason) for s in o.stuck] == [
        ("b-commissioned", "commissioned", 50.0, "awaiting_live",
         "commissioning passed: waiting to be moved to live"),
        ("b-reading", "reading", 45.0, "clock_skew", "clock skew +43 s"),
        ("a-contacted", "contacted", 30.0, "reads_rejected",
         "73% reads rejected: captured_at without offset"),
        ("a-registered", "registered", 20.0, "no_contact", "no request has named the camera yet"),
    ]  # fmt: skip


def test_weeks_reasons_and_ranking() -> None:
    r = report()
    # Day 100 is in the week starting day 98; the live entries are days 22 and 3.
    assert [(w.week, (w.starts - T0) / DAY_MS, w.connected) for w in r.overall.weeks] == [
        ("2026-W13", 77.0, 0),
        ("2026-W14", 84.0, 0),
        ("2026-W15", 91.0, 0),
        ("2026-W16", 98.0, 0),
    ]
    wide = build([], {}, now=day(23), stuck_after_days=14, weeks=4)
    assert [w.connected for w in wide.overall.weeks] == [0, 0, 0, 0]
    book, blocking = walked()
    facts = [CameraFacts(c, "int-a" if c[0] == "a" else "int-b", position(life.events), blocking[c])
             for c, life in book.lives.items()]  # fmt: skip
    early = build(facts, {}, now=day(23), stuck_after_days=14, weeks=4)
    assert [(w.week, w.connected) for w in early.overall.weeks] == [
        ("2026-W02", 1),  # b-silent, day 3
        ("2026-W03", 0),
        ("2026-W04", 0),
        ("2026-W05", 1),  # a-live, day 22
    ]
    assert [(x.code, x.label, x.cameras, x.stuck) for x in r.top_reasons] == [
        ("awaiting_live", "waiting to be moved to live", 1, 1),
        ("clock_skew", "clock skew", 1, 1),
        ("no_contact", "no contact", 1, 1),
        ("reads_rejected", "reads rejected", 1, 1),
        ("silent", "silent", 1, 0),
    ]
    assert [(g.integrator_id, len(g.stuck), g.cameras) for g in r.integrators] == [
        ("int-a", 2, 3),
        ("int-b", 2, 3),
        ("int-c", 0, 0),
    ]
    b = next(g for g in r.integrators if g.integrator_id == "int-b")
    assert {s.stage.value: s.cameras for s in b.stages}["silent"] == 1
    assert [s.camera_id for s in b.stuck] == ["b-commissioned", "b-reading"]


def test_threshold_setting_decides_who_is_stuck() -> None:
    assert [s.camera_id for s in report(stuck_after_days=40).overall.stuck] == [
        "b-commissioned",
        "b-reading",
    ]
    assert len(report(stuck_after_days=5).overall.stuck) == 5  # the silent camera too


# -- one camera stuck on each commissioning criterion: the reason it gives -----------------------

CRITERIA: dict[str, tuple[dict[str, Any], str, str]] = {
    "observation window": ({"window_start": NOW - HOUR // 2}, "observation_window",
                           "observed 0.5 h of 1 h"),
    "sample size": ({"reads": 50, "with_confidence": 50, "own_read_ids": 50, "rejected": 0,
                     "expected_reads_per_hour": None}, "sample_size",
                    "waiting for evidence: 50 of 100 reads"),
    "valid reads": ({"rejected": 100}, "valid_reads",
                    "29% reads rejected: captured_at without offset"),
    "clock skew behind": ({"clock_skew_ms": 43_000}, "clock_skew", "clock skew +43 s"),
    "clock skew ahead": ({"clock_skew_ms": -12_400}, "clock_skew", "clock skew -12 s"),
    "no heartbeat": ({"heartbeats": 0, "heartbeat_gaps": gap_hist({})}, "heartbeat_count",
                     "no heartbeat"),
    "heartbeat gaps": ({"heartbeat_gaps": gap_hist({300: 119})}, "heartbeat_gaps",
                       "heartbeat gaps p95 294 s"),
    "confidence missing": ({"with_confidence": 100, "confidence": conf_hist({0.92: 100})},
                           "confidence_present", "42% of reads carry a confidence"),
    "median confidence": ({"confidence": conf_hist({0.55: 240})}, "confidence_median",
                          "median confidence 0.55"),
    "low confidence": ({"confidence": conf_hist({0.92: 150, 0.3: 90})}, "low_confidence",
                       "reads below confidence 0.5: 38%"),
    "read ids": ({"own_read_ids": 120}, "read_ids", "stable read_ids on resend: 50%"),
    "read rate": ({"expected_reads_per_hour": 1000.0}, "read_rate",
                  "read rate 120/h (expected 500-1500/h)"),
}  # fmt: skip


@pytest.mark.parametrize("changes, code, text", CRITERIA.values(), ids=CRITERIA.keys())
def test_a_camera_stuck_on_each_criterion_names_it(
    changes: dict[str, Any], code: str, text: str
) -> None:
    found = reasons.commissioning(
        evaluate(make_stats(**changes)), {"captured_at without offset": 90, "plate empty": 10}
    )
    assert found == Reason(code, text)
    # ...and that reason is what the report shows for the camera stuck in `reading`.
    book, _ = walked()
    facts = [CameraFacts("b-reading", "int-b", position(book.lives["b-reading"].events), found)]
    stuck = build(facts, {}, now=day(NOW_DAY), stuck_after_days=14).overall.stuck
    assert [(s.code, s.reason) for s in stuck] == [(code, text)]


def test_a_passing_camera_gives_no_commissioning_reason() -> None:
    assert reasons.commissioning(evaluate(make_stats()), {}) is None


def test_refused_requests_name_the_callers() -> None:
    book = LifecycleBook()
    book.on_camera(camera("c1", "int-a"), day(1))
    book.on_contact("c1", day(2), caller="int-x", refused=4, requests=4)
    book.on_contact("c1", day(3), caller="int-a", refused=0, requests=2)  # the owner: no refusal
    life = book.lives["c1"]
    assert life.first(Kind.FIRST_CONTACT) is not None
    assert life.first(Kind.FIRST_CONTACT).detail == {"caller": "int-x", "refused": True}  # type: ignore[union-attr]
    assert reasons.refused(4, life.refused_by_caller) == Reason(
        "requests_refused", "4 requests refused: the camera is not registered to int-x"
    )


# -- rendering -----------------------------------------------------------------------------------


def test_markdown_csv_html_and_json_carry_the_same_numbers() -> None:
    r = report()
    md = to_markdown(r)
    assert md.startswith("# Camera rollout, 2026-04-15\n")
    assert "6 cameras registered, 2 connected (live), 4 stuck for more than 14 days" in md
    assert (
        "| b-reading | int-b | reading | 2026-03-01 | 45.0 | clock_skew | clock skew +43 s |" in md
    )
    rows = list(csv.DictReader(io.StringIO(to_csv(r))))
    assert [(x["integrator_id"], x["stuck"], x["in_live"]) for x in rows] == [
        ("*", "4", "1"), ("int-a", "2", "1"), ("int-b", "2", "0"), ("int-c", "0", "0"),
    ]  # fmt: skip
    assert rows[0]["reading_median_days"] == "6.5"
    stuck = list(csv.DictReader(io.StringIO(to_csv(r, "stuck"))))
    assert stuck[0]["reason"] == "commissioning passed: waiting to be moved to live"
    reasons_csv = to_csv(r, "reasons").splitlines()
    assert reasons_csv[0] == "reason_code,reason,cameras,stuck"
    assert to_csv(r, "weeks").splitlines()[0] == "week,starts,connected,int-a,int-b,int-c"
    page = to_html(r)
    assert "<td>clock skew +43 s</td>" in page and "<script" not in page
    out = RolloutOut.model_validate(to_json(r))
    assert out.overall.stuck_cameras == 4
    assert out.overall.stuck[1].reason == "clock skew +43 s"


def test_renderers_escape_what_came_from_outside() -> None:
    facts = [CameraFacts("c1", "int-a", position(walked()[0].lives["a-registered"].events),
                         Reason("x", "=HYPERLINK(\"http://e\") | <b>"))]  # fmt: skip
    r = build(facts, {"int-a": "<script>alert(1)</script>"}, now=day(NOW_DAY),
              stuck_after_days=1)  # fmt: skip
    assert "<script>" not in to_html(r)
    assert "'=HYPERLINK" in to_csv(r, "stuck")
    assert "\\| <b>" in to_markdown(r)


def test_an_earlier_first_contact_observed_late_replaces_the_later_one() -> None:
    book = LifecycleBook()
    book.on_camera(camera("c1", "int-a"), day(1))
    book.on_read("c1", day(5))  # the reads topic was consumed first...
    book.on_contact("c1", day(4), caller="int-a", refused=0, requests=1)  # ...then the contact
    life = book.lives["c1"]
    contact = life.first(Kind.FIRST_CONTACT)
    assert contact is not None
    assert (contact.at, contact.detail) == (day(4), {"caller": "int-a", "refused": False})
    assert [e.kind for e in book.drain()][-1] == "first_contact"
    assert position(life.events).entries[Stage.CONTACTED] == day(4)


def test_a_flapping_camera_keeps_a_bounded_history_in_memory() -> None:
    book = LifecycleBook()
    book.on_camera(camera("c1", "int-a", live=True), day(0))
    book.on_read("c1", day(0.5))
    for n in range(100):
        book.on_status("c1", day(1 + n), "offline")
        book.on_status("c1", day(1.5 + n), "online")
    life = book.lives["c1"]
    assert len(book.drain()) == 4 + 200  # every change is still stored
    # registered, moved_live, first contact, first read, and the latest silences
    assert len(life.events) == 4 + MAX_REPEATED
    assert life.events[-1].kind == "came_back" and life.events[-1].at == day(100.5)
    assert position(life.events).stage is Stage.LIVE
    assert position(life.events).entries[Stage.REGISTERED] == day(0)


def test_json_renders_each_stuck_camera_once_per_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear in the stuck cameras: the JSON once built every stuck row again for each stuck
    camera, and 10,000 stuck cameras (a rollout's first weeks) held the API's loop 4 minutes."""
    from api.rollout import render

    now = day(NOW_DAY)
    facts = [
        CameraFacts(
            f"cam-{n:04d}",
            f"int-{n % 3}",
            position([LifecycleEvent(f"cam-{n:04d}", Kind.REGISTERED, day(10 + n % 20), {})]),
            reasons.NO_CONTACT,
        )
        for n in range(300)
    ]
    report = build(facts, {}, now=now, stuck_after_days=14)
    assert len(report.overall.stuck) == 300
    rendered: list[str] = []
    real = render._stuck
    monkeypatch.setattr(render, "_stuck", lambda s: rendered.append(s.camera_id) or real(s))
    body = to_json(report)
    assert len(rendered) == 600  # the overall list and the camera's integrator's
    assert sorted(r["camera_id"] for r in body["overall"]["stuck"]) == sorted(
        f.camera_id for f in facts
    )


def test_restore_keeps_the_latest_repeated_events_of_each_group() -> None:
    stored = [LifecycleEvent("cam-r", "registered", day(0), {})]
    for n in range(3 * MAX_REPEATED):  # silent and back, over and over
        kind = "went_silent" if n % 2 == 0 else "came_back"
        stored.append(LifecycleEvent("cam-r", kind, day(1 + n / 10), {"n": n}))
    stored.append(LifecycleEvent("cam-r", "moved_live", day(0.5), {}))
    book = LifecycleBook()
    book.restore(reversed(stored))  # the store's order is not the book's
    life = book.lives["cam-r"]
    kept = [e.detail["n"] for e in life.events if e.kind in ("went_silent", "came_back")]
    assert kept == list(range(2 * MAX_REPEATED, 3 * MAX_REPEATED))
    assert [e.kind for e in life.events[:2]] == ["registered", "moved_live"]
    assert [e.at for e in life.events] == sorted(e.at for e in life.events)


def test_a_camera_put_back_in_commissioning_needs_a_new_pass() -> None:
    # A live camera put back in commissioning (a replaced device) is not `commissioned` on the
    # old device's pass: it is reading again, from the move, until its report passes anew, and
    # that new pass is recorded even though the latest verdict stored is a pass.
    w = Walk()
    b = w.book
    cam = w.register(camera("cam", "int-a"), 10)
    b.on_read("cam", day(11))
    b.on_verdict("cam", day(12), passed=True)
    w.go_live(cam, 13)
    assert position(b.lives["cam"].events).stage is Stage.LIVE
    w.register(camera("cam", "int-a"), 30)  # the registry record, back in commissioning
    back = position(b.lives["cam"].events)
    assert (back.stage, back.since) == (Stage.READING, day(30))  # not stuck since day 11
    assert Stage.COMMISSIONED not in back.entries
    b.on_verdict("cam", day(31), passed=True)
    again = position(b.lives["cam"].events)
    assert (again.stage, again.since) == (Stage.COMMISSIONED, day(31))
