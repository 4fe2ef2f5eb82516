"""The console's ES modules run under node against a fake DOM and a fake API
(`console_js/fake_dom.mjs`, no npm packages): what an operator sees when stream events, periodic
refreshes and acknowledgements meet. Node missing is a failure, never a skip (`make tools`
installs Debian's nodejs, as it installs Chromium for the other browser tests)."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE = shutil.which("node")
HERE = Path(__file__).parent
STATIC = (HERE.parent.parent / "api" / "console" / "static").as_uri()
FAKE_DOM = (HERE / "console_js" / "fake_dom.mjs").as_uri()
INDEX = HERE.parent.parent / "api" / "console" / "static" / "index.html"

PRELUDE = f"""
const dom = await import({json.dumps(FAKE_DOM)});
const document = dom.install();
const load = (name) => import({json.dumps(STATIC)} + "/js/" + name);
const out = (value) => {{ console.log(JSON.stringify(value)); process.exit(0); }};
"""


def run_js(body: str) -> Any:
    """Run `body` (an async ES module that ends by calling `out(value)`) and return `value`."""
    assert NODE is not None, "node is not installed: `make tools` installs Debian's nodejs"
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", PRELUDE + body],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def ago(seconds: float) -> str:
    """RFC 3339 UTC, `seconds` before now: the page sounds only alerts seen lately."""
    at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert(alert_id: str = "al-1", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "alert_id": alert_id,
        "plate_norm": "1ABC123",
        "plate": "1-ABC-123",
        "list_id": "stolen",
        "entry_id": "e1",
        "category": "stolen",
        "priority": 1,
        "covert": False,
        "test": False,
        "historical": False,
        "status": "new",
        "opened_at": ago(60),
        "last_seen_at": ago(60),
        "sightings": 1,
        "first_hit_id": "h1",
        "last_hit_id": "h1",
        "last_camera_id": "cam-1",
        "acknowledgement": None,
    }
    return base | overrides


def js(value: Any) -> str:
    return json.dumps(value)


def test_a_new_p1_alert_is_sounded_even_when_a_refresh_listed_it_first() -> None:
    """With replicas sharing PostgreSQL, `GET /v1/alerts` can list an alert before this
    replica's stream sends its `alert` event (up to `ANPR_STREAM_POLL_MS` later): the periodic
    refresh landing in that gap must not silence the P1 alarm."""
    beeps = run_js(f"""
        const live = await load("live.js");
        (await load("sound.js")).setSound(true);
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        await live.start();
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}] }});
        await dom.tick();
        dom.FakeEventSource.opened[0].emit("alert", {js(alert())});
        out(dom.beeps.length);
    """)
    assert beeps == 2  # P1: twice


def test_an_alert_is_sounded_once_however_often_its_event_comes() -> None:
    """A stream resumed with Last-Event-ID can send an alert's `alert` event again."""
    beeps = run_js(f"""
        const live = await load("live.js");
        (await load("sound.js")).setSound(true);
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        await live.start();
        const source = dom.FakeEventSource.opened[0];
        source.emit("alert", {js(alert(priority=2))});
        source.emit("alert", {js(alert(priority=2))});
        out(dom.beeps.length);
    """)
    assert beeps == 1


def test_a_refresh_answered_late_does_not_undo_an_acknowledgement_or_a_sighting() -> None:
    """The 15 s refresh's answer can be older than what the page already shows (it was
    computed before the operator's acknowledgement or the stream's sighting reached the page):
    the list must not show the alert as new again, or with fewer sightings, until the next one."""
    acked = alert(
        status="acknowledged",
        acknowledgement={"by": "op", "role": "operator", "outcome": "confirmed", "at": "x"},
    )
    seen_again = alert("al-2", sightings=2, last_seen_at=ago(1))
    shown = run_js(f"""
        const live = await load("live.js");
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}, {js(alert("al-2"))}] }});
        await live.start();
        live.remember({js(acked)});
        const source = dom.FakeEventSource.opened[0];
        source.emit("sighting", {{ alert: {js(seen_again)}, sighting: {{}} }});
        await dom.tick();  // answered with the snapshot from before both
        out(Object.fromEntries(live.allAlerts().map((a) => [a.alert_id, [a.status, a.sightings]])));
    """)
    assert shown == {"al-1": ["acknowledged", 1], "al-2": ["new", 2]}


def test_the_search_says_its_from_and_until_bound_the_match_time_and_shows_it() -> None:
    """`GET /v1/hits?since=&until=` bounds `matched_at` (and lists by it), not the capture
    time. A past read (past-read matching) is matched days after it was captured: under
    "From"/"Until" and a "Captured" column alone, an operator searching the morning's hits gets
    rows captured weeks ago, out of order, and cannot tell why."""
    hit = {
        "hit_id": "h1",
        "read": {"camera_id": "cam-1", "plate": "1ABC123", "captured_at": "2026-11-01T08:00:00Z"},
        "matched_at": "2026-12-02T09:30:00Z",
        "list_id": "stolen",
        "category": "stolen",
        "priority": 2,
        "match": {"kind": "exact"},
        "status": "new",
        "test": False,
        "historical": True,
    }
    shown = run_js(f"""
        const {{ renderSearch }} = await load("search.js");
        dom.routes.set("/v1/cameras", {{ items: [] }});
        const root = document.createElement("main");
        await renderSearch(root);
        const label = (id) => dom.all(root, (e) => e.getAttribute("for") === id)[0].textContent;
        dom.byId(root, "q-since").value = "2026-12-02T09:00:00";
        dom.routes.set("/v1/hits?*", {{ items: [{js(hit)}], next_cursor: null }});
        dom.byId(root, "search-form").dispatchEvent({{ type: "submit", preventDefault() {{}} }});
        await dom.settle();
        const table = dom.byId(root, "search-results");
        out({{
          since: label("q-since"), until: label("q-until"),
          heads: dom.all(table, (e) => e.tagName === "TH").map((e) => e.textContent),
          row: dom.all(table, (e) => e.tagName === "TD").map((e) => e.textContent),
        }});
    """)
    assert "matched" in shown["since"].lower() and "matched" in shown["until"].lower()
    matched = shown["heads"].index("Matched")
    assert shown["row"][matched] == "02/12/2026, 09:30:00 UTC"
    assert shown["row"][shown["heads"].index("Captured")] == "01/11/2026, 08:00:00 UTC"


def detail(**overrides: Any) -> dict[str, Any]:
    read = {"camera_id": "cam-1", "plate": "1-ABC-123", "captured_at": "2026-12-02T10:00:00Z"}
    hit = {"hit_id": "h1", "read": read, "match": {"kind": "exact", "read_plate": "1ABC123"}}
    return alert(**overrides) | {"trail": [], "hit": hit}


def test_a_sighting_while_the_operator_acknowledges_keeps_the_form() -> None:
    """The open alert's detail is drawn again when a sighting joins it. The acknowledgement
    form was drawn afresh too: the note being typed was lost, and an acknowledgement already
    sent came back as an enabled button for an alert that was being acknowledged (a second
    click: the operator's own 409)."""
    acked = detail(
        status="acknowledged",
        acknowledgement={"by": "op", "role": "operator", "outcome": "confirmed", "at": "x"},
    )
    shown = run_js(f"""
        const live = await load("live.js");
        const {{ renderAlerts }} = await load("alerts.js");
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        dom.routes.set("/v1/alerts/al-1", {js(detail())});
        await live.start();
        const root = document.createElement("main");
        await renderAlerts(root, "al-1", {{ image_hosts: [] }});
        const source = dom.FakeEventSource.opened[0];
        const seen = {{ alert: {js(alert())}, sighting: {{}} }};
        dom.byId(root, "ack-note").value = "Driver waved, plate matches";
        dom.routes.set("/v1/alerts/al-1", {js(detail(sightings=2))});
        source.emit("sighting", seen);
        await dom.settle();
        const note = dom.byId(root, "ack-note").value;

        let answer;
        dom.routes.set("/v1/alerts/al-1/acknowledge", () => new Promise((r) => {{ answer = r; }}));
        dom.byId(root, "ack-form").dispatchEvent({{ type: "submit", preventDefault() {{}} }});
        await dom.settle();
        dom.routes.set("/v1/alerts/al-1", {js(detail(sightings=3))});
        source.emit("sighting", seen);
        await dom.settle();
        const waiting = dom.byId(root, "ack-submit").disabled;
        answer({js(acked)});
        await dom.settle();
        const ack = dom.byId(root, "ack").textContent;
        out({{ note, waiting, ack, form: !!dom.byId(root, "ack-form") }});
    """)
    assert shown["note"] == "Driver waved, plate matches"
    assert shown["waiting"] is True
    assert shown["ack"].startswith("Acknowledged by op") and shown["form"] is False


def test_an_alert_from_a_camera_added_after_sign_in_shows_its_name_and_zone() -> None:
    """The camera index (names, time zones) was loaded once per sign-in: a camera registered
    during the shift showed as its id, and its times in UTC instead of the camera's zone."""
    south = {"camera_id": "cam-1", "name": "South gate", "timezone": "UTC"}
    north = {"camera_id": "cam-2", "name": "North gate", "timezone": "Europe/Brussels"}
    read = {"camera_id": "cam-2", "plate": "1-ABC-123", "captured_at": "2026-12-02T10:00:00Z"}
    later = detail(alert_id="al-2", last_camera_id="cam-2") | {
        "hit": {"hit_id": "h2", "read": read, "match": {"kind": "exact"}}
    }
    shown = run_js(f"""
        const live = await load("live.js");
        const {{ renderAlerts }} = await load("alerts.js");
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        dom.routes.set("/v1/cameras", {{ items: [{js(south)}] }});
        await live.start();
        await renderAlerts(document.createElement("main"), null, {{ image_hosts: [] }});
        const start = Date.now();
        Date.now = () => start + 60000;  // registered a minute later
        dom.routes.set("/v1/cameras", {{ items: [{js(south)}, {js(north)}] }});
        dom.routes.set("/v1/alerts/al-2", {js(later)});
        const root = document.createElement("main");
        await renderAlerts(root, "al-2", {{ image_hosts: [] }});
        out(dom.all(root, (e) => e.tagName === "DD").map((e) => e.textContent));
    """)
    assert "North gate (cam-2)" in shown
    assert "02/12/2026, 11:00:00 CET" in shown


def test_the_alert_list_follows_a_camera_renamed_and_one_added_during_the_shift() -> None:
    """The alert list drew camera names from the index it had when it opened: a camera renamed
    mid-shift kept its old name, and one registered since showed as its id, until the operator
    opened the camera board."""
    south = {"camera_id": "cam-1", "name": "South gate", "timezone": "UTC"}
    renamed = south | {"name": "South gate (A12 slip road)"}
    north = {"camera_id": "cam-2", "name": "North gate", "timezone": "UTC"}
    shown = run_js(f"""
        const live = await load("live.js");
        const {{ renderAlerts }} = await load("alerts.js");
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}] }});
        dom.routes.set("/v1/cameras", {{ items: [{js(south)}] }});
        await live.start();
        const root = document.createElement("main");
        await renderAlerts(root, null, {{ image_hosts: [] }});
        const where = () => dom.all(root, (e) => e.className === "where").map((e) => e.textContent);
        const before = where();
        const start = Date.now();
        Date.now = () => start + 10 * 60000;  // ten minutes on
        dom.routes.set("/v1/cameras", {{ items: [{js(renamed)}, {js(north)}] }});
        dom.FakeEventSource.opened[0].emit("alert", {js(alert("al-2", last_camera_id="cam-2"))});
        await dom.settle();
        out({{ before, after: where() }});
    """)
    assert shown == {
        "before": ["South gate"],
        "after": ["North gate", "South gate (A12 slip road)"],
    }


def test_the_stream_resumes_from_the_loaded_list_so_no_alert_falls_between() -> None:
    """The console loads the alert list, then opens the stream. A fresh stream sends only hits
    stored after it subscribed: an alert opened between the two was never streamed (shown up to
    15 s late by a refresh, and never sounded). The stream resumes from the newest hit of the
    list instead, and what the list showed on load is not sounded when the resume replays it."""
    older = alert("al-old", priority=1, last_hit_id="h-old", last_seen_at=ago(120))
    newest = alert("al-new", priority=1, last_hit_id="h-new", last_seen_at=ago(30))
    opened = alert("al-gap", priority=1, last_hit_id="h-gap", first_hit_id="h-gap")
    shown = run_js(f"""
        const live = await load("live.js");
        (await load("sound.js")).setSound(true);
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(older)}, {js(newest)}] }});
        await live.start();
        const source = dom.FakeEventSource.opened[0];
        source.emit("alert", {js(newest)});  // the resume replays what the list already had
        source.emit("alert", {js(opened)});  // opened between the list and the stream
        out({{ url: source.url, beeps: dom.beeps.length }});
    """)
    assert shown["url"] == "/v1/hits/stream?last_event_id=h-new"
    assert shown["beeps"] == 2  # the P1 opened in the gap, twice; not the one listed on load


def test_an_alert_event_for_an_old_alert_is_shown_not_sounded() -> None:
    """A stream resumed while a replica replays the hits topic into an empty store gets the
    history after its last hit, alert events included: days-old alerts must not sound as new
    alarms. An alert whose latest sighting is older than ten minutes is shown, not sounded."""
    old, recent = ago(30 * 3600), ago(5)
    shown = run_js(f"""
        const live = await load("live.js");
        (await load("sound.js")).setSound(true);
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        await live.start();
        const source = dom.FakeEventSource.opened[0];
        source.emit("alert", {js(alert("al-old", opened_at=old, last_seen_at=old))});
        const afterOld = dom.beeps.length;
        source.emit("alert", {js(alert("al-now", opened_at=recent, last_seen_at=recent))});
        out({{ afterOld, total: dom.beeps.length, shown: live.allAlerts().length }});
    """)
    assert shown == {"afterOld": 0, "total": 2, "shown": 2}


SESSION = {
    "name": "anna",
    "role": "operator",
    "csrf_token": "csrf-1",
    "expires_at": "2026-12-02T22:00:00Z",
    "image_hosts": [],
}


def open_console() -> str:
    """JS that opens the console as a browser loads index.html: the page's elements that have an
    id (the console finds them by id), then main.js, then what it started is let run."""
    elements = []
    for tag, attrs in re.findall(r"<(\w+)(\s[^>]*)>", INDEX.read_text()):
        found = re.search(r'\sid="([^"]+)"', attrs)
        if found:
            elements.append([tag, found.group(1), re.search(r"\shidden\b", attrs) is not None])
    return f"""
        dom.page({js(elements)});
        await load("main.js");
        await dom.settle();
        const {{ seen, text }} = dom;
    """


DOWN = {
    "starting": '[503, { detail: "the API is still loading the registry" }]',
    "server error": '[500, { detail: "internal error" }]',
    "no answer": '() => { throw new TypeError("fetch failed"); }',
}


@pytest.mark.parametrize("answer", DOWN.values(), ids=DOWN.keys())
def test_a_reload_while_the_api_is_down_keeps_the_session_and_retries(answer: str) -> None:
    """Reloading the console while the API starts (503 until the registry is replayed), or is
    away, showed the sign-in screen: an operator mid-shift was told to sign in again, though
    the session was fine. Only a 401 means the session is gone; else the console says the service
    is unavailable, and tries again until it answers."""
    shown = run_js(f"""
        dom.routes.set("/console/session", {answer});
        {open_console()}
        const why = text("unavailable-message");
        const down = {{ signin: seen("signin"), unavailable: seen("unavailable"), why }};
        dom.routes.set("/console/session", {js(SESSION)});
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        await dom.later();
        out({{ down, signin: seen("signin"), unavailable: seen("unavailable"), who: text("who") }});
    """)
    assert shown["down"]["signin"] is False
    assert shown["down"]["unavailable"] is True
    assert "unavailable" in shown["down"]["why"] and "retrying" in shown["down"]["why"].lower()
    assert shown["signin"] is False and shown["unavailable"] is False
    assert shown["who"] == "anna · operator"


def test_a_reload_without_a_session_shows_the_sign_in() -> None:
    shown = run_js(f"""
        dom.routes.set("/console/session", [401, {{ detail: "no valid console session" }}]);
        {open_console()}
        await dom.later();
        out({{ signin: seen("signin"), unavailable: seen("unavailable"), bar: seen("bar") }});
    """)
    assert shown == {"signin": True, "unavailable": False, "bar": False}


SIGN_IN = {
    "starting": ('[503, { detail: "the API is still loading the registry" }]', "unavailable"),
    "server error": ('[500, { detail: "internal error" }]', "unavailable"),
    "no answer": ('(() => { throw new TypeError("fetch failed"); })()', "unavailable"),
    "bad token": ('[401, { detail: "token: not a valid token" }]', "token is not valid"),
    "integrator": ('[403, { detail: "role integrator may not use the console" }]', "may not use"),
    "limited": ('[429, { detail: "token: too many failed sign-ins" }]', "Too many failed sign-ins"),
}


@pytest.mark.parametrize(("answer", "says"), SIGN_IN.values(), ids=SIGN_IN.keys())
def test_only_a_401_at_sign_in_says_the_token_is_not_valid(answer: str, says: str) -> None:
    """Every failed sign-in said "the token is not valid": the API starting (503), a 500 or no
    answer at all sent an operator to ask for a new token that they did not need."""
    shown = run_js(f"""
        dom.routes.set("/console/session", (method) =>
          method === "GET" ? [401, {{ detail: "no valid console session" }}] : {answer});
        {open_console()}
        document.getElementById("token").value = "op-token";
        dom.submit("signin-form");
        await dom.settle();
        out(text("signin-error"));
    """)
    assert says in shown
    if says != "token is not valid":
        assert "not valid" not in shown


def test_a_console_that_cannot_load_after_sign_in_does_not_blame_the_token() -> None:
    """Signed in (the API set the cookie), but the alert list did not load (a 500, the store
    away): the page said "the token is not valid" on the hidden sign-in form and stayed blank.
    It says the service is unavailable and enters once the API answers."""
    shown = run_js(f"""
        let signedIn = false;
        dom.routes.set("/console/session", (method) => {{
          if (method === "POST") signedIn = true;
          return signedIn ? {js(SESSION)} : [401, {{ detail: "no valid console session" }}];
        }});
        dom.routes.set("/v1/alerts?limit=200", [500, {{ detail: "internal error" }}]);
        dom.routes.set("/v1/cameras", {{ items: [] }});
        {open_console()}
        document.getElementById("token").value = "op-token";
        dom.submit("signin-form");
        await dom.settle();
        const failed = {{ error: text("signin-error"), unavailable: seen("unavailable") }};
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        await dom.later();
        out({{ failed, bar: seen("bar"), who: text("who"), unavailable: seen("unavailable") }});
    """)
    assert "not valid" not in shown["failed"]["error"]
    assert shown["failed"]["unavailable"] is True
    assert shown["bar"] is True and shown["unavailable"] is False
    assert shown["who"] == "anna · operator"


def test_an_alert_view_left_while_loading_stops_listening() -> None:
    """Clicking a second alert while the first one's detail still loads: both views registered
    for stream events, and only the last one was ever unregistered. The first kept running for
    the rest of the shift, redrawing a list no one saw and fetching its alert again on every
    sighting, one more such view for every quick click."""
    fetched = run_js(f"""
        const answers = {{}};
        dom.routes.set("/console/session", {js(SESSION)});
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}, {js(alert("al-2"))}] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        for (const id of ["al-1", "al-2"]) {{
          dom.routes.set(`/v1/alerts/${{id}}`, () => new Promise((r) => {{ answers[id] = r; }}));
        }}
        location.hash = "#/alerts/al-1";
        {open_console()}
        dom.go("#/alerts/al-2");
        await dom.settle();
        answers["al-1"]({js(detail())});
        answers["al-2"]({js(detail(alert_id="al-2"))});
        await dom.settle();
        dom.go("#/search");
        await dom.settle();
        const before = dom.requests.length;
        const again = {{ alert: {js(alert(sightings=2))}, sighting: {{}} }};
        dom.FakeEventSource.opened[0].emit("sighting", again);
        await dom.settle();
        out(dom.requests.slice(before).map((r) => r.path));
    """)
    assert fetched == []


def test_a_view_that_loads_after_the_next_one_was_asked_for_is_not_shown() -> None:
    """A supervisor opens Hotlists and, before it loads, Cameras: Cameras is drawn, then the
    Hotlists answer came and drew over it, under a navigation bar saying Cameras."""
    shown = run_js(f"""
        let answer;
        dom.routes.set("/console/session", {js(SESSION | {"role": "supervisor"})});
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        dom.routes.set("/v1/hotlists", () => new Promise((r) => {{ answer = r; }}));
        location.hash = "#/hotlists";
        {open_console()}
        dom.go("#/cameras");
        await dom.settle();
        answer({{ items: [] }});
        await dom.settle();
        const main = document.getElementById("main");
        out(dom.all(main, (e) => e.tagName === "H2").map((e) => e.textContent));
    """)
    assert shown == ["Cameras"]


# An empty report by day, as the API answers for a control room in Brussels.
BRUSSELS_DAYS = {
    "group_by": "day",
    "since": None,
    "until": None,
    "timezone": "Europe/Brussels",
    "groups": [],
    "total": {"key": "all", "hits": 0, "acknowledged": 0, "false_positive_share": None},
}


def test_the_report_splits_days_in_the_control_rooms_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`GET /v1/reports/hits` takes the IANA zone its days are cut in (UTC when none is sent)
    and the report view sent none: a control room in Brussels grouping by day saw its hits from
    00:00 to 01:00 (02:00 in summer) counted on the day before."""
    monkeypatch.setenv("TZ", "Europe/Brussels")
    asked = run_js(f"""
        const {{ renderReport }} = await load("admin.js");
        dom.routes.set("/v1/reports/hits?*", {js(BRUSSELS_DAYS)});
        const root = document.createElement("main");
        await renderReport(root);
        const day = dom.all(root, (e) => e.getAttribute("data-group") === "day")[0];
        day.dispatchEvent({{ type: "click" }});
        await dom.settle();
        const last = dom.requests[dom.requests.length - 1].path;
        out(Object.fromEntries(new URL(last, "http://console").searchParams));
    """)
    assert asked["group_by"] == "day"
    assert asked["timezone"] == "Europe/Brussels"


def test_the_reports_period_starts_at_the_control_rooms_midnight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "Over the last 7 d" asked from now minus 7 × 24 h: grouped by day, the first row was a
    partial day (from the time of day the report was opened), read as a quiet day. The period
    starts at midnight in the control room's zone, the given number of days before today, and
    the view says so."""
    monkeypatch.setenv("TZ", "Europe/Brussels")
    shown = run_js(f"""
        const {{ renderReport }} = await load("admin.js");
        dom.routes.set("/v1/reports/hits?*", {js(BRUSSELS_DAYS)});
        Date.now = () => Date.parse("2026-12-02T15:40:00Z");  // 16:40 in Brussels
        const root = document.createElement("main");
        await renderReport(root);
        const asked = () => new URL(dom.requests[dom.requests.length - 1].path, "http://console")
          .searchParams.get("since");
        const week = asked();
        const day = dom.all(root, (e) => e.getAttribute("data-days") === "1")[0];
        day.dispatchEvent({{ type: "click" }});
        await dom.settle();
        const period = dom.byId(root, "report-period").textContent;
        out({{ week, day: asked(), period }});
    """)
    assert shown["week"] == "2026-11-24T23:00:00.000Z"  # 25 Nov, 00:00 CET
    assert shown["day"] == "2026-11-30T23:00:00.000Z"  # 1 Dec, 00:00 CET
    assert "00:00" in shown["period"] and "Europe/Brussels" in shown["period"]


SIGN_OUT = {
    "starting": '[503, { detail: "the API is still loading the registry" }]',
    "server error": '[500, { detail: "internal error" }]',
    "no answer": '(() => { throw new TypeError("fetch failed"); })()',
}


@pytest.mark.parametrize("answer", SIGN_OUT.values(), ids=SIGN_OUT.keys())
def test_a_sign_out_the_server_did_not_take_is_not_called_signed_out(answer: str) -> None:
    """*Sign out* said "Signed out." whatever `DELETE /console/session` answered: the session
    stayed valid on the server, and on a shared control-room PC the next person to reload the
    page walked into the previous operator's console. The console says the sign-out failed and
    tries again until the server ends the session."""
    shown = run_js(f"""
        let ended = false;
        dom.routes.set("/console/session", (method) => {{
          if (method !== "DELETE") return {js(SESSION)};
          if (ended) return [204, null];
          return {answer};
        }});
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        {open_console()}
        document.getElementById("signout").dispatchEvent({{ type: "click" }});
        await dom.settle();
        const failed = {{
          signin: seen("signin"), main: seen("main"), said: text("unavailable-message"),
          notice: seen("unavailable"),
        }};
        ended = true;
        await dom.later();
        out({{ failed, signin: seen("signin"), said: text("signin-error"),
               notice: seen("unavailable") }});
    """)
    assert shown["failed"]["signin"] is False and shown["failed"]["main"] is False
    assert shown["failed"]["notice"] is True
    assert "Sign-out failed" in shown["failed"]["said"]
    assert "still signed in" in shown["failed"]["said"]
    assert shown["signin"] is True and shown["notice"] is False
    assert shown["said"] == "Signed out."


def test_a_sign_out_with_a_stale_csrf_token_asks_for_the_current_one() -> None:
    """Another tab signing in replaces the cookie: this tab's CSRF token is the old session's,
    and its sign-out was refused (403) while the page said "Signed out."."""
    shown = run_js(f"""
        const session = {js(SESSION)};
        let csrf = "csrf-1";
        let ended = false;
        dom.routes.set("/console/session", (method, body, headers) => {{
          if (method === "GET") return ended ? [401, {{}}] : {{ ...session, csrf_token: csrf }};
          if (headers["X-CSRF-Token"] !== csrf) return [403, {{ detail: "wrong X-CSRF-Token" }}];
          ended = true;
          return [204, null];
        }});
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        {open_console()}
        csrf = "csrf-2";  // signed in again in another tab
        document.getElementById("signout").dispatchEvent({{ type: "click" }});
        await dom.settle();
        out({{ ended, signin: seen("signin"), said: text("signin-error") }});
    """)
    assert shown == {"ended": True, "signin": True, "said": "Signed out."}


def test_the_service_unavailable_screen_can_sign_out() -> None:
    """While the API was starting or away, the console showed only "retrying": no way to end
    the session. An operator leaving a shared PC had to leave it signed in, and the page walked
    the next person into their console as soon as the API answered. The screen has *Sign out*:
    the page stops retrying its way in, and ends the session once the API takes it (the CSRF
    token, unknown to a page loaded while the API was down, is asked for first)."""
    shown = run_js(f"""
        let up = false;
        let ended = false;
        dom.routes.set("/console/session", (method, body, headers) => {{
          if (!up) return [503, {{ detail: "the API is still loading the registry" }}];
          if (method === "GET") return ended ? [401, {{}}] : {js(SESSION)};
          if (headers["X-CSRF-Token"] !== "csrf-1") return [403, {{ detail: "wrong CSRF" }}];
          ended = true;
          return [204, null];
        }});
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        {open_console()}
        const button = document.getElementById("unavailable-signout");
        const offered = !!button && seen("unavailable");
        if (button) button.dispatchEvent({{ type: "click" }});
        await dom.settle();
        const failed = text("unavailable-message");
        up = true;
        await dom.later();
        out({{
          offered, failed, ended, signin: seen("signin"), said: text("signin-error"),
          bar: seen("bar"), alerts: dom.requests.filter((r) => r.path.startsWith("/v1/")).length,
        }});
    """)
    assert shown["offered"] is True
    assert "Sign-out failed" in shown["failed"]
    assert shown["ended"] is True and shown["signin"] is True and shown["said"] == "Signed out."
    assert shown["bar"] is False and shown["alerts"] == 0


def report_of(group_by: str, *keys: str) -> dict[str, Any]:
    groups = [{"key": k, "hits": 1, "acknowledged": 0, "false_positive_share": None} for k in keys]
    total = {"key": "all", "hits": len(keys), "acknowledged": 0, "false_positive_share": None}
    return {
        "group_by": group_by,
        "since": None,
        "until": None,
        "timezone": "UTC",
        "groups": groups,
        "total": total,
    }


STALE = {
    "answered": "(answer, fail, body) => answer(body)",
    "failed": '(answer, fail, body) => fail(new TypeError("fetch failed"))',
}


@pytest.mark.parametrize("stale", STALE.values(), ids=STALE.keys())
def test_a_report_answered_after_the_next_one_was_asked_for_is_not_shown(stale: str) -> None:
    """A supervisor clicks *Camera*, then *Outcome*, and the camera report answers last: its
    table (or its error) was appended under the outcome one, below a picker saying Outcome, and
    the first table on the page, the one read, could be the camera's."""
    shown = run_js(f"""
        const {{ renderReport }} = await load("admin.js");
        const pending = [];
        dom.routes.set("/v1/reports/hits?*", () => new Promise((r, x) => pending.push([r, x])));
        const root = document.createElement("main");
        const first = renderReport(root);
        await dom.settle();
        pending[0][0]({js(report_of("list", "stolen"))});
        await first;
        const click = (group) => dom.all(root, (e) => e.getAttribute("data-group") === group)[0]
          .dispatchEvent({{ type: "click" }});
        click("camera");
        await dom.settle();
        click("outcome");
        await dom.settle();
        pending[2][0]({js(report_of("outcome", "confirmed"))});
        await dom.settle();
        ({stale})(...pending[1], {js(report_of("camera", "cam-1"))});
        await dom.settle();
        out({{
          tables: dom.all(root, (e) => e.id === "report").length,
          errors: dom.all(root, (e) => e.id === "report-error").length,
          keys: dom.all(root, (e) => e.tagName === "TBODY")
            .flatMap((b) => b.children.map((tr) => tr.getAttribute("data-key"))),
          active: dom.all(root, (e) => e.classList.contains("active")).map((e) => e.textContent),
        }});
    """)
    assert shown == {"tables": 1, "errors": 0, "keys": ["confirmed"], "active": ["Outcome", "7 d"]}


def hit_row(hit_id: str, plate: str) -> dict[str, Any]:
    read = {"camera_id": "cam-1", "plate": plate, "captured_at": "2026-12-02T08:00:00Z"}
    return {
        "hit_id": hit_id,
        "read": read,
        "matched_at": "2026-12-02T08:00:01Z",
        "list_id": "stolen",
        "category": "stolen",
        "priority": 2,
        "match": {"kind": "exact"},
        "status": "new",
        "test": False,
        "historical": False,
    }


SEARCH_RACES = {
    # search A, then search B; B answers first
    "second search answered first": """
        await search("stolen"); await search("wanted");
        await answer(1, [row("B1")], null); await answer(0, [row("A1")], "cursor-a");
    """,
    # A shown with more; "Older hits" of A, then search B; the older page answers last
    "older hits answered after a new search": """
        await search("stolen"); await answer(0, [row("A1")], "cursor-a");
        await more(); await search("wanted");
        await answer(2, [row("B1")], null); await answer(1, [row("A2")], "cursor-a2");
    """,
    # A shown with more; search B sent, "Older hits" clicked before B answers
    "older hits during a new search": """
        await search("stolen"); await answer(0, [row("A1")], "cursor-a");
        await search("wanted"); await more();
        for (let i = 1; i < pending.length; i += 1) await answer(i, [row("B" + i)], null);
    """,
}


@pytest.mark.parametrize("steps", SEARCH_RACES.values(), ids=SEARCH_RACES.keys())
def test_a_search_shows_only_the_current_querys_hits(steps: str) -> None:
    """An answer to an earlier query (a search, or its "Older hits") arriving after a new
    search was sent replaced or extended the new search's rows, so an operator read hits of
    list `stolen` under a form asking for `wanted`; and "Older hits" clicked while a new search
    loaded sent the old query's cursor with the new filters."""
    shown = run_js(f"""
        const {{ renderSearch }} = await load("search.js");
        dom.routes.set("/v1/cameras", {{ items: [] }});
        const root = document.createElement("main");
        await renderSearch(root);
        const pending = [];
        dom.routes.set("/v1/hits?*", () => new Promise((r) => pending.push(r)));
        const hits = {js({p: hit_row(f"h-{p}", p) for p in ["A1", "A2", "B1", "B2"]})};
        const row = (plate) => hits[plate];
        const search = async (listId) => {{
          dom.byId(root, "q-list").value = listId;
          dom.byId(root, "search-form").dispatchEvent({{ type: "submit", preventDefault() {{}} }});
          await dom.settle();
        }};
        const more = async () => {{
          dom.byId(root, "search-more").dispatchEvent({{ type: "click" }});
          await dom.settle();
        }};
        const answer = async (i, items, next_cursor) => {{
          pending[i]({{ items, next_cursor }});
          await dom.settle();
        }};
        {steps}
        await dom.settle();
        const sent = dom.requests.filter((r) => r.path.startsWith("/v1/hits?"))
          .map((r) => Object.fromEntries(new URL(r.path, "http://console").searchParams));
        out({{
          plates: dom.all(dom.byId(root, "search-results"), (e) => e.className === "plate")
            .map((e) => e.textContent),
          mixed: sent.filter((q) => q.list_id === "wanted" && q.cursor).length,
          more: !dom.byId(root, "search-more").hidden,
        }});
    """)
    assert shown["mixed"] == 0
    assert shown["plates"] and all(p.startswith("B") for p in shown["plates"])
    assert shown["more"] is False


def test_a_sign_out_that_gets_no_answer_is_said_and_tried_again() -> None:
    """A `DELETE /console/session` that never answered (a proxy holding the connection, the API
    hung) left the page saying "Signing out…" for good, and the sign-out was never tried again:
    the operator could not tell whether the shared PC was still signed in. API calls give up
    after a while, as "no answer"."""
    shown = run_js(f"""
        let hang = true;
        dom.routes.set("/console/session", (method) => {{
          if (method !== "DELETE") return {js(SESSION)};
          return hang ? new Promise(() => {{}}) : [204, null];
        }});
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        {open_console()}
        document.getElementById("signout").dispatchEvent({{ type: "click" }});
        await dom.settle();
        const waiting = text("unavailable-message");
        hang = false;
        await dom.later();  // the request's time is up
        const failed = text("unavailable-message");
        await dom.later();  // the retry
        out({{ waiting, failed, signin: seen("signin"), said: text("signin-error") }});
    """)
    assert shown["waiting"] == "Signing out…"
    assert "Sign-out failed (no answer from the server" in shown["failed"]
    assert shown["signin"] is True and shown["said"] == "Signed out."


SIGNED_OUT_DURING = {
    "first load": """
        dom.routes.set("/v1/alerts?limit=200", late);
        live.start().catch(() => {});
        await dom.settle();
    """,
    "15 s refresh": """
        dom.routes.set("/v1/alerts?limit=200", { items: [] });
        await live.start();
        dom.routes.set("/v1/alerts?limit=200", late);
        dom.intervals[0]();
        await dom.settle();
    """,
    "acknowledgement": """
        dom.routes.set("/v1/alerts?limit=200", { items: [] });
        dom.routes.set("/v1/alerts/al-covert", DETAIL);
        dom.routes.set("/v1/alerts/al-covert/acknowledge", late);
        await live.start();
        const view = document.createElement("main");
        await renderAlerts(view, "al-covert", { name: "anna", role: "operator", image_hosts: [] });
        dom.submit(dom.byId(view, "ack-form"));
        await dom.settle();
    """,
}


@pytest.mark.parametrize("steps", SIGNED_OUT_DURING.values(), ids=SIGNED_OUT_DURING.keys())
def test_an_answer_to_the_previous_session_is_not_shown_to_the_next(steps: str) -> None:
    """On a shared control-room PC, an alert list (the first load or the 15 s refresh) or an
    acknowledgement still on its way when the operator signed out was written into the page's
    alert list after sign-out had cleared it. Nothing prunes that list: the next person signing
    in without a reload saw the previous session's alerts, covert ones their role may not see,
    and the first load's late answer also opened a second stream."""
    covert = alert("al-covert", covert=True, list_id="covert-1", category="covert")
    acked = detail(
        alert_id="al-covert",
        covert=True,
        status="acknowledged",
        acknowledgement={"by": "anna", "role": "operator", "outcome": "confirmed", "at": "x"},
    )
    shown = run_js(f"""
        const live = await load("live.js");
        const {{ renderAlerts }} = await load("alerts.js");
        const DETAIL = {js(detail(alert_id="al-covert", covert=True))};
        let answer;
        const late = () => new Promise((r) => {{ answer = r; }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        {steps}
        live.stop();  // signed out
        answer(dom.requests.at(-1).method === "POST" ? {js(acked)} : {{ items: [{js(covert)}] }});
        await dom.settle();
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        await live.start();  // the next person signs in
        await dom.settle();
        out({{
          shown: live.allAlerts().map((a) => a.alert_id),
          streams: dom.FakeEventSource.opened.filter((s) => s.readyState !== 2).length,
        }});
    """)
    assert shown == {"shown": [], "streams": 1}


SESSION_CHECK = {
    "session fine": js(SESSION),
    "no session": '[401, { detail: "no valid console session" }]',
}


@pytest.mark.parametrize("answer", SESSION_CHECK.values(), ids=SESSION_CHECK.keys())
def test_a_session_check_answered_after_a_new_sign_in_leaves_the_new_session_alone(
    answer: str,
) -> None:
    """The stream refused: the console asks `GET /console/session` whether it is still signed
    in. Answered after a sign-out and the next person's sign-in, that check opened a second
    stream next to the new session's, never closed (each of its events reached the page twice,
    possibly of the previous session's role), or, answered 401 for the previous session, signed
    the new person out."""
    shown = run_js(f"""
        const live = await load("live.js");
        const signedOut = [];
        window.addEventListener("anpr:signed-out", () => signedOut.push(1));
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        await live.start();
        let answer;
        dom.routes.set("/console/session", () => new Promise((r) => {{ answer = r; }}));
        const first = dom.FakeEventSource.opened[0];
        first.close();  // refused
        first.emit("error", null);
        await dom.settle();
        live.stop();  // signed out
        await live.start();  // the next person signs in
        answer({answer});
        await dom.settle();
        await dom.later();  // the reopen, if one was asked for
        out({{
          streams: dom.FakeEventSource.opened.filter((s) => s.readyState !== 2).length,
          signedOut: signedOut.length,
        }});
    """)
    assert shown == {"streams": 1, "signedOut": 0}


DETAIL_ORDER = {
    "answered": "(answer, fail, body) => answer(body)",
    "failed": '(answer, fail, body) => fail(new TypeError("fetch failed"))',
}


@pytest.mark.parametrize("older", DETAIL_ORDER.values(), ids=DETAIL_ORDER.keys())
def test_an_alert_detail_answered_out_of_order_shows_the_newest(older: str) -> None:
    """Each sighting of the open alert fetches its detail again. When two answers came out of
    order the older was drawn last: the operator read the previous camera and sighting count
    (or an error) under a list saying the vehicle had been seen since."""
    shown = run_js(f"""
        const live = await load("live.js");
        const {{ renderAlerts }} = await load("alerts.js");
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        dom.routes.set("/v1/alerts/al-1", {js(detail())});
        await live.start();
        const root = document.createElement("main");
        await renderAlerts(root, "al-1", {{ image_hosts: [] }});
        const pending = [];
        dom.routes.set("/v1/alerts/al-1", () => new Promise((r, x) => pending.push([r, x])));
        const source = dom.FakeEventSource.opened[0];
        source.emit("sighting", {{ alert: {js(alert(sightings=2))}, sighting: {{}} }});
        await dom.settle();
        source.emit("sighting", {{ alert: {js(alert(sightings=3))}, sighting: {{}} }});
        await dom.settle();
        pending[1][0]({js(detail(sightings=3))});
        await dom.settle();
        ({older})(...pending[0], {js(detail(sightings=2))});
        await dom.settle();
        out({{
          heads: dom.all(root, (e) => e.tagName === "H3").map((e) => e.textContent),
          errors: dom.all(root, (e) => e.className === "error" && e.textContent).length,
        }});
    """)
    assert "Sightings (3)" in shown["heads"] and shown["errors"] == 0


def first_ack(by: str) -> str:
    ack = {"outcome": "confirmed", "note": None, "by": by, "role": "operator"}
    body = {"detail": f"alert already acknowledged by {by} (confirmed)", "errors": []}
    return js([409, body | {"acknowledgement": ack | {"at": "2026-12-02T10:00:00Z"}}])


@pytest.mark.parametrize(
    ("first", "own"), [(first_ack("anna"), True), (first_ack("ben"), False)], ids=["own", "other"]
)
def test_an_acknowledgement_that_got_no_answer_and_was_taken_is_not_a_conflict(
    first: str, own: bool
) -> None:
    """An acknowledgement that got no answer (the console gives up after 30 s) may have reached
    the server. Sent again, it was refused (409) and the operator read "Already acknowledged by
    anna" in red, about their own acknowledgement, as if a colleague had been first. The 409 names
    who acknowledged, how and with what note: when that is this session's unanswered attempt,
    the console shows the acknowledgement as done; someone else's is still a conflict."""
    shown = run_js(f"""
        const live = await load("live.js");
        const {{ renderAlerts }} = await load("alerts.js");
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        dom.routes.set("/v1/alerts/al-1", {js(detail())});
        await live.start();
        const root = document.createElement("main");
        document.body.append(root);
        await renderAlerts(root, "al-1", {js(SESSION)});
        let sent = 0;
        dom.routes.set("/v1/alerts/al-1/acknowledge", () => {{
          sent += 1;
          return sent === 1 ? new Promise(() => {{}}) : {first};
        }});
        dom.submit(dom.byId(root, "ack-form"));
        await dom.settle();
        await dom.later();  // no answer in 30 s
        const timedOut = dom.byId(root, "ack-error").textContent;
        dom.submit(dom.byId(root, "ack-form"));
        await dom.settle();
        out({{
          timedOut, ack: dom.byId(root, "ack").textContent,
          error: dom.byId(root, "ack-error") ? dom.byId(root, "ack-error").textContent : "",
          status: dom.byId(root, "detail-status").textContent,
        }});
    """)
    assert "no answer" in shown["timedOut"]
    assert shown["status"] == "acknowledged"
    if own:
        assert shown["ack"].startswith("Acknowledged by anna (operator) — confirmed")
        assert shown["error"] == ""
    else:
        assert shown["error"].startswith("Already acknowledged by ben (confirmed)")


def signs_out_then_ben_signs_in() -> str:
    """JS: the signed-in operator clicks *Sign out*, then ben signs in on the same page."""
    return """
        document.getElementById("signout").dispatchEvent({ type: "click" });
        await dom.settle();
        document.getElementById("token").value = "ben-token";
        dom.submit("signin-form");
        await dom.settle();
    """


def shared_pc(cameras: str = "{ items: [] }") -> str:
    """JS: routes for anna (signed in at load), her sign-out, and ben's sign-in."""
    ben = SESSION | {"name": "ben", "csrf_token": "csrf-2"}
    return f"""
        dom.routes.set("/console/session", (method) =>
          method === "DELETE" ? [204, null] : method === "POST" ? {js(ben)} : {js(SESSION)});
        dom.routes.set("/v1/alerts?limit=200", {{ items: [] }});
        dom.routes.set("/v1/cameras", {cameras});
    """


HELD_401 = {
    "15 s refresh": """
        dom.routes.set("/v1/alerts?limit=200", () => held());
        dom.intervals[0]();
        await dom.settle();
        dom.routes.set("/v1/alerts?limit=200", { items: [] });
    """,
    "a view": """
        let asked = 0;
        dom.routes.set("/v1/cameras", () => (asked += 1) === 1 ? held() : { items: [] });
        dom.go("#/cameras");
        await dom.settle();
    """,
}


@pytest.mark.parametrize("steps", HELD_401.values(), ids=HELD_401.keys())
def test_a_401_to_the_previous_session_does_not_sign_the_next_person_out(steps: str) -> None:
    """Any 401 (but the session check's) signed the page out. A request of the previous session
    (its 15 s refresh, a view loading) held by a proxy or a slow API is answered 401 once that
    session has ended, up to 30 s later: by then the next operator had signed in on the shared
    PC, and was thrown back to the sign-in in the middle of their shift, for someone else's
    session."""
    shown = run_js(f"""
        {shared_pc()}
        {open_console()}
        let answer;
        const held = () => new Promise((r) => {{ answer = r; }});
        {steps}
        {signs_out_then_ben_signs_in()}
        const entered = text("who");
        answer([401, {{ detail: "no valid console session" }}]);
        await dom.settle();
        out({{ entered, signin: seen("signin"), bar: seen("bar"), who: text("who") }});
    """)
    assert shown == {
        "entered": "ben · operator",
        "signin": False,
        "bar": True,
        "who": "ben · operator",
    }


def test_a_401_to_the_current_session_still_signs_out() -> None:
    shown = run_js(f"""
        {shared_pc()}
        {open_console()}
        dom.routes.set("/v1/alerts?limit=200", [401, {{ detail: "no valid console session" }}]);
        await dom.intervals[0]();
        await dom.settle();
        out({{ signin: seen("signin"), bar: seen("bar"), said: text("signin-error") }});
    """)
    assert shown["signin"] is True and shown["bar"] is False
    assert "session has ended" in shown["said"]


def test_sign_out_resets_the_tab_title_count_of_waiting_alerts() -> None:
    """The tab title counts the alerts waiting ("(3) ANPR control room"), covert ones included.
    Sign-out left it: the next person on the shared PC saw the previous session's count on the
    sign-in screen, and under their own console until their alert list drew."""
    covert = alert("al-2", covert=True, list_id="covert-1")
    shown = run_js(f"""
        {shared_pc()}
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}, {js(covert)}] }});
        {open_console()}
        const before = document.title;
        document.getElementById("signout").dispatchEvent({{ type: "click" }});
        await dom.settle();
        out({{ before, after: document.title, signin: seen("signin") }});
    """)
    assert shown == {
        "before": "(2) ANPR control room",
        "after": "ANPR control room",
        "signin": True,
    }


def test_the_tab_title_counts_new_alerts_on_every_view() -> None:
    """The tab title's count of waiting alerts was drawn by the Live alerts view only: an
    operator on the camera board or a search saw the title frozen while new alerts came (and
    the alert from another tab went unseen if the sound was off)."""
    shown = run_js(f"""
        {shared_pc()}
        {open_console()}
        dom.go("#/cameras");
        await dom.settle();
        const onCameras = document.title;
        dom.FakeEventSource.opened[0].emit("alert", {js(alert())});
        dom.FakeEventSource.opened[0].emit("alert", {js(alert("al-2", test=True))});
        await dom.settle();
        const afterAlert = document.title;
        dom.FakeEventSource.opened[0].emit("alert", {js(alert("al-3", priority=3))});
        dom.FakeEventSource.opened[0].emit(
          "sighting", {{ alert: {js(alert(status="acknowledged", sightings=2))} }});
        await dom.settle();
        out({{ onCameras, afterAlert, afterAck: document.title, view: location.hash }});
    """)
    assert shown == {
        "onCameras": "ANPR control room",
        "afterAlert": "(1) ANPR control room",
        "afterAck": "(1) ANPR control room",
        "view": "#/cameras",
    }


def test_an_acknowledged_alerts_detail_says_acknowledged() -> None:
    """After a successful acknowledgement the detail showed "Acknowledged by anna" under a
    header badge still saying "new", until a sighting drew the detail again (maybe never)."""
    acked = detail(
        status="acknowledged",
        acknowledgement={"by": "anna", "role": "operator", "outcome": "confirmed", "at": "x"},
    )
    shown = run_js(f"""
        const live = await load("live.js");
        const {{ renderAlerts }} = await load("alerts.js");
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        dom.routes.set("/v1/alerts/al-1", {js(detail())});
        dom.routes.set("/v1/alerts/al-1/acknowledge", {js(acked)});
        await live.start();
        const root = document.createElement("main");
        await renderAlerts(root, "al-1", {js(SESSION)});
        const before = dom.byId(root, "detail-status").textContent;
        dom.submit(dom.byId(root, "ack-form"));
        await dom.settle();
        const badge = () => dom.byId(root, "detail-status");
        const after = [badge().textContent, badge().classList.contains("done")];
        // A sighting draws the detail again from an answer computed before the acknowledgement.
        dom.FakeEventSource.opened[0].emit("sighting", {{ alert: {js(alert(sightings=2))} }});
        await dom.settle();
        out({{ before, after, ack: dom.byId(root, "ack").textContent,
               redrawn: [badge().textContent, badge().classList.contains("done")] }});
    """)
    assert shown["before"] == "new"
    assert shown["ack"].startswith("Acknowledged by anna (operator) — confirmed")
    assert shown["after"] == ["acknowledged", True]
    assert shown["redrawn"] == ["acknowledged", True]


def test_the_next_person_does_not_get_the_previous_sessions_camera_names() -> None:
    """The console's camera index (names, time zones) was kept for the page's lifetime, and
    only reloaded for a camera it did not know: after a sign-out the next person on the shared
    PC saw the previous session's names and local times for cameras renamed or moved to another
    time zone since, until someone opened the camera board."""
    renamed = {"camera_id": "cam-1", "name": "North gate", "timezone": "Europe/Brussels"}
    shown = run_js(f"""
        let name = "Old name";
        {shared_pc("() => ({ items: [{ ..." + js(renamed) + ", name }] })")}
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}] }});
        {open_console()}
        const where = () => dom.all(document.getElementById("alert-list"),
          (e) => e.className === "where").map((e) => e.textContent);
        const before = where();
        name = "North gate";
        {signs_out_then_ben_signs_in()}
        out({{ before, who: text("who"), after: where() }});
    """)
    assert shown == {"before": ["Old name"], "who": "ben · operator", "after": ["North gate"]}


def test_a_late_conflict_marks_its_own_alert_not_the_one_opened_since() -> None:
    """An acknowledgement refused as already done (409) marked whichever badge the page had
    under the id `detail-status`: an operator who had opened another alert while the request
    waited saw that other, unhandled alert marked "acknowledged"."""
    shown = run_js(f"""
        const live = await load("live.js");
        const {{ renderAlerts }} = await load("alerts.js");
        dom.routes.set("/v1/alerts?limit=200", {{ items: [{js(alert())}, {js(alert("al-2"))}] }});
        dom.routes.set("/v1/cameras", {{ items: [] }});
        dom.routes.set("/v1/alerts/al-1", {js(detail())});
        dom.routes.set("/v1/alerts/al-2", {js(detail(alert_id="al-2"))});
        let answer = null;
        dom.routes.set("/v1/alerts/al-1/acknowledge", () => new Promise((resolve) => {{
          answer = resolve;
        }}));
        await live.start();
        const first = document.createElement("main");
        document.body.append(first);
        await renderAlerts(first, "al-1", {js(SESSION)});
        dom.submit(dom.byId(first, "ack-form"));
        await dom.settle();
        // The operator opens the other alert while the acknowledgement waits.
        document.body.childNodes.splice(document.body.childNodes.indexOf(first), 1);
        first.parentNode = null;
        const second = document.createElement("main");
        document.body.append(second);
        await renderAlerts(second, "al-2", {js(SESSION)});
        answer({first_ack("ben")});
        await dom.settle();
        out({{
          second: dom.byId(second, "detail-status").textContent,
          first: dom.byId(first, "detail-status").textContent,
        }});
    """)
    assert shown == {"second": "new", "first": "acknowledged"}
