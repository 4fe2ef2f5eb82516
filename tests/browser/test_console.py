"""The console in Debian's Chromium, as an operator on a shift uses it: sign in, a read pushed at
the gateway shows as an alert within 2 s, acknowledge (and a second operator's 409), a second
sighting joins the trail, covert hits never reach the operator's page, plate search needs a
reason; and the camera board and hotlists page as a supervisor sees them."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import Console, sign_in

pytestmark = pytest.mark.timeout(120)


def alert_item(page: Page, plate: str) -> Any:
    return page.locator("#alert-list li.alert", has=page.locator(".plate", has_text=plate))


def test_an_operator_sees_a_new_alert_within_2_seconds(
    console: Console, new_context: Any, shot: Any
) -> None:
    page = new_context().new_page()
    sign_in(console, page, "anna")
    expect(page.locator("#who")).to_have_text("anna · operator")
    expect(page.locator("#nav a")).to_have_text(["Live alerts", "Search hits", "Cameras"])
    jpeg = page.evaluate(
        """() => { const c = document.createElement('canvas'); c.width = 120; c.height = 30;
        const g = c.getContext('2d'); g.fillStyle = '#ffd600'; g.fillRect(0, 0, 120, 30);
        g.fillStyle = '#000'; g.font = '20px monospace'; g.fillText('1ABC123', 8, 22);
        return c.toDataURL('image/jpeg').split(',')[1]; }"""
    )
    images = {"plate_jpeg_b64": jpeg, "overview_url": "http://cdn.example/overview.jpg"}
    pushed = console.push_read(
        "1-ABC-123",
        "cam-north",
        candidates=[{"plate": "IABC123", "confidence": 0.4}],
        images=images,
    )
    item = alert_item(page, "1-ABC-123")
    item.wait_for(timeout=2000)
    seen_after = time.monotonic() - pushed
    print(f"alert visible {seen_after * 1000:.0f} ms after the gateway's 202")  # noqa: T201
    assert seen_after < 2.0
    expect(item).to_have_class(re.compile(r"\bp1\b"))
    expect(item.locator(".where")).to_have_text("North gate")
    expect(item.locator(".badge.new")).to_be_visible()
    shot(page, "live")
    item.locator("a").click()
    detail = page.locator("#alert-detail")
    expect(detail.locator("#detail-plate")).to_have_text("1-ABC-123")
    expect(detail).to_contain_text("Stolen 2026-11-28, case 4411")
    expect(detail).to_contain_text("Do not approach; call dispatch")
    expect(detail.locator("#explain")).to_contain_text(
        "Exact: the read `1ABC123` is the list's plate."
    )
    expect(detail).to_contain_text("IABC123 (40 %)")
    expect(detail).to_contain_text("North gate (cam-north)")
    expect(detail).to_contain_text("CET")  # the camera's zone, Europe/Brussels
    # images: the JPEG as a data: URL; a plain-http URL is not loaded
    plate_image = detail.locator("img.read-image.plate")
    expect(plate_image).to_have_attribute("src", re.compile(r"^data:image/jpeg;base64,/9j/"))
    assert plate_image.evaluate("img => img.naturalWidth") == 120
    expect(detail.locator("img.read-image.overview")).to_have_count(0)
    expect(detail).to_contain_text("Overview image not shown")
    # text from the list is text, never markup
    expect(detail).to_contain_text("<script>window.pwned=1</script>")
    assert detail.locator("script").count() == 0
    assert page.evaluate("window.pwned") is None
    shot(page, "detail")


def test_acknowledge_and_a_second_operator_gets_the_409(
    console: Console, new_context: Any, shot: Any
) -> None:
    anna, ben = new_context().new_page(), new_context().new_page()
    sign_in(console, anna, "anna")
    sign_in(console, ben, "ben")
    console.push_read("2XYZ777", "cam-south")
    for page in (anna, ben):
        alert_item(page, "2XYZ777").locator("a").click(timeout=3000)
        page.wait_for_selector("#ack-form")
    anna.select_option("#ack-outcome", "dispatched")
    anna.fill("#ack-note", "Unit 12 sent")
    anna.click("#ack-submit")
    expect(anna.locator(".ack-done")).to_contain_text("Acknowledged by anna")
    expect(alert_item(anna, "2XYZ777").locator(".badge.done")).to_be_visible()
    shot(anna, "acknowledged")
    ben.select_option("#ack-outcome", "confirmed")
    ben.click("#ack-submit")
    expect(ben.locator("#ack-error")).to_contain_text("Already acknowledged by anna (dispatched)")
    shot(ben, "conflict")


def test_a_second_sighting_joins_the_trail_without_a_second_alert(
    console: Console, new_context: Any, shot: Any
) -> None:
    page = new_context().new_page()
    sign_in(console, page, "anna")
    beeps: list[str] = []
    page.on("console", lambda message: beeps.append(message.text))
    console.push_read("3DEF456", "cam-north")
    item = alert_item(page, "3DEF456")
    item.wait_for(timeout=2000)
    item.locator("a").click()
    expect(page.locator("#trail li")).to_have_count(1)
    console.push_read("3DEF456", "cam-south")
    expect(page.locator("#trail li")).to_have_count(2, timeout=2000)
    expect(page.locator("#trail li .where")).to_have_text(["North gate", "South bridge"])
    expect(item.locator(".badge.count")).to_have_text("×2")
    expect(alert_item(page, "3DEF456")).to_have_count(1)
    alerts = console.api_get("/v1/alerts", "anna")["items"]
    assert [a["sightings"] for a in alerts if a["plate_norm"] == "3DEF456"] == [2]
    # a read of a commissioning camera is a test, marked as such
    console.push_read("7UN001", "cam-test")
    test_item = alert_item(page, "7UN001")
    test_item.wait_for(timeout=2000)
    expect(test_item).to_have_class(re.compile(r"\bis-test\b"))
    expect(test_item.locator(".badge.test")).to_have_text("TEST")
    expect(test_item).to_have_class(re.compile(r"\bp4\b"))
    expect(page.locator("#sound")).not_to_be_checked()  # the audible alert is off until asked
    shot(page)


def test_a_covert_hit_never_reaches_the_operators_page(
    console: Console, new_context: Any, shot: Any
) -> None:
    operator = new_context().new_page()
    bodies: list[str] = []
    stream: list[str] = []

    def record(response: Response) -> None:
        if "text/event-stream" in response.headers.get("content-type", ""):
            return  # never finishes; its messages are recorded below
        try:
            bodies.append(response.text())
        except Exception as exc:  # noqa: BLE001 - a response without a body (redirect)
            bodies.append(f"<no body: {exc}>")

    operator.on("response", record)
    cdp = operator.context.new_cdp_session(operator)
    cdp.send("Network.enable")
    cdp.on("Network.eventSourceMessageReceived", lambda event: stream.append(event["data"]))
    sign_in(console, operator, "anna")
    supervisor = new_context().new_page()
    sign_in(console, supervisor, "sam")

    console.push_read("9COV999", "cam-north")
    # The supervisor sees it: the hit was matched and streamed.
    alert_item(supervisor, "9COV999").wait_for(timeout=3000)
    # A later overt read reaches the operator, so the covert one was streamed before it.
    console.push_read("4GHI789", "cam-north")
    alert_item(operator, "4GHI789").wait_for(timeout=3000)
    for view in ("#/search", "#/cameras", "#/alerts"):
        operator.goto(f"{console.api}/console/{view}")
        operator.wait_for_selector("#main:not([hidden]) h2")
    operator.wait_for_selector("#conn.live")
    assert any("4GHI789" in data for data in stream), "the stream recorder saw nothing"
    for text in (operator.content(), *bodies, *stream):
        assert "9COV999" not in text
        assert "covert-ops" not in text and "Operation Heron" not in text
    shot(operator, "operator")
    shot(supervisor, "supervisor")


def test_a_plate_search_needs_a_reason(console: Console, new_context: Any, shot: Any) -> None:
    page = new_context().new_page()
    searches: list[str] = []
    page.on(
        "request",
        lambda request: searches.append(request.url) if "/v1/hits?" in request.url else None,
    )
    sign_in(console, page, "anna")
    console.push_read("5JKL012", "cam-south")
    alert_item(page, "5JKL012").wait_for(timeout=2000)
    page.click("#nav a[data-route=search]")
    page.fill("#q-plate", "5-JKL-012")
    page.click("#search-submit")
    expect(page.locator("#search-error")).to_contain_text("A plate search needs a reason")
    assert not any("plate=" in url for url in searches)
    shot(page, "refused")
    page.fill("#q-reason", "case 2026/118")
    page.click("#search-submit")
    expect(page.locator("#search-results tbody tr")).to_have_count(1)
    expect(page.locator("#search-results tbody")).to_contain_text("5JKL012")
    audit = console.api_get("/v1/audit", "audrey")["items"]
    searches_logged = [e for e in audit if e["action"] == "hits.search"]
    assert [(e["actor"], e["target"], e["reason"]) for e in searches_logged] == [
        ("anna", "5JKL012", "case 2026/118")
    ]
    shot(page, "found")


def test_camera_board_and_hotlists_for_a_supervisor(
    console: Console, new_context: Any, shot: Any
) -> None:
    page = new_context().new_page()
    sign_in(console, page, "sam")
    expect(page.locator("#nav a")).to_have_text(
        ["Live alerts", "Search hits", "Cameras", "Hotlists", "Report"]
    )
    page.click("#nav a[data-route=cameras]")
    rows = page.locator("#camera-board tbody tr")
    expect(rows).to_have_count(3)
    # worst first: the never-seen commissioning camera before the two that have sent reads
    expect(rows.first).to_have_attribute("data-camera", "cam-test")
    expect(rows.first).to_contain_text("commissioning")
    shot(page, "cameras")
    page.click("#camera-board th:has-text('Reads / hour')")
    expect(rows.first).to_have_attribute("data-camera", "cam-test")
    page.click("#camera-board th:has-text('Reads / hour')")
    expect(rows.last).to_have_attribute("data-camera", "cam-test")
    page.click("#nav a[data-route=hotlists]")
    lists = page.locator("#hotlists tbody tr")
    expect(lists).to_have_count(3)
    stolen = page.locator("#hotlists tr[data-list=stolen]")
    expect(stolen).to_contain_text("Stolen vehicles")
    expect(stolen).to_contain_text("10 min")
    expect(stolen.locator("td").nth(6)).to_have_text("5")
    expect(stolen.locator("ul.matchers li.ok")).to_have_count(1)
    expect(page.locator("#hotlists tr[data-list=covert-ops] .badge.covert")).to_be_visible()
    shot(page, "hotlists")
    page.click("#nav a[data-route=report]")
    report = page.locator("#report")
    expect(report.locator("tbody tr[data-key=stolen]")).to_be_visible()
    expect(report.locator("tfoot tr")).to_contain_text("all")
    page.click("button[data-group=outcome]")
    expect(page.locator("#report tbody tr").first).to_be_visible()
    shot(page, "report")


def test_the_match_is_explained_in_words(console: Console, new_context: Any, shot: Any) -> None:
    page = new_context().new_page()
    sign_in(console, page, "anna")
    console.push_read("IABC123", "cam-south")  # OCR: I for 1 on the ocr list
    console.push_read("7UN042", "cam-north")  # the pattern 7UN*
    console.push_read("8QQQ888", "cam-north", candidates=[{"plate": "5JKL012", "confidence": 0.3}])
    cases = [
        ("IABC123", "OCR: `I` read where the list has `1`"),
        ("7UN042", "Pattern `7UN*` matches the read `7UN042`."),
        ("8QQQ888", "Candidate reading: the camera's alternative reading `5JKL012` is on the list"),
    ]
    for plate, words in cases:
        alert_item(page, plate).locator("a").click(timeout=3000)
        expect(page.locator("#detail-plate")).to_have_text(plate)
        expect(page.locator("#explain")).to_contain_text(words)
    shot(page)


def test_the_stream_resumes_by_last_event_id_with_the_session_cookie(
    console: Console, new_context: Any
) -> None:
    """What the console does when it reopens its stream: an EventSource authenticated by the
    session cookie alone, resumed from the last hit id it saw, gets what it missed."""
    page = new_context().new_page()
    sign_in(console, page, "ben")
    console.push_read("7UNRES1", "cam-north")
    before = alert_item(page, "7UNRES1")
    before.wait_for(timeout=2000)
    console.push_read("7UNRES2", "cam-south")
    alert_item(page, "7UNRES2").wait_for(timeout=2000)
    alerts = {a["plate_norm"]: a for a in console.api_get("/v1/alerts", "ben")["items"]}
    got = page.evaluate(
        """(id) => new Promise((resolve) => {
          const got = [];
          const es = new EventSource('/v1/hits/stream?last_event_id=' + encodeURIComponent(id));
          for (const name of ['alert', 'sighting', 'hit']) {
            es.addEventListener(name, (e) => {
              got.push([name, e.lastEventId, JSON.parse(e.data)]);
              if (name === 'hit') { es.close(); resolve(got); }
            });
          }
          setTimeout(() => { es.close(); resolve(got); }, 5000);
        })""",
        alerts["7UNRES1"]["first_hit_id"],
    )
    missed = alerts["7UNRES2"]
    # the alert event has no id of its own: it comes before its hit, whose id is the resume point
    assert [(name, last_id) for name, last_id, _ in got] == [
        ("alert", ""),
        ("hit", missed["first_hit_id"]),
    ]
    assert got[0][2]["alert_id"] == missed["alert_id"]
    assert got[1][2]["read"]["plate_norm"] == "7UNRES2"


def test_signing_out_ends_the_session(console: Console, new_context: Any, shot: Any) -> None:
    page = new_context().new_page()
    sign_in(console, page, "anna")
    page.click("#signout")
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#signin-error")).to_have_text("Signed out.")
    status = page.evaluate("() => fetch('/v1/alerts').then(r => r.status)")
    assert status == 401
    page.reload()
    expect(page.locator("#signin")).to_be_visible()
    shot(page)
