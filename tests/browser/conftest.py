"""Browser tests of the console: `anpr run` (gateway, matcher and API on the embedded bus) on
free ports, seeded over HTTP like an administrator would, and Debian's Chromium driven by
Playwright for Python. Chromium missing is a failure, never a skip (`make tools` installs it).

Screenshots are test artifacts, written to `$ANPR_TEST_ARTIFACTS` (default
`.test-artifacts/browser/` in the checkout); the directory is printed at the end of the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from anpr.clock import ms_to_rfc3339, now_ms
from tests.support.ports import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ADMIN = "browser-admin-" + "b" * 40
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ANPR_TEST_ARTIFACTS", ROOT / ".test-artifacts" / "browser"))

CAMERAS = {
    "cam-north": {"name": "North gate", "timezone": "Europe/Brussels", "state": "live"},
    "cam-south": {"name": "South bridge", "timezone": "Europe/Brussels", "state": "live"},
    "cam-test": {"name": "Depot (commissioning)", "timezone": "UTC", "state": "commissioning"},
}


@dataclass
class Console:
    """The running system and what the tests seeded in it."""

    api: str
    gateway: str
    tokens: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path
    plates: dict[str, str] = field(default_factory=dict)

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN}"}

    def push_read(self, plate: str, camera_id: str, **extra: Any) -> float:
        """Push one read at the gateway; the monotonic time its 202 came back."""
        read = {"camera_id": camera_id, "captured_at": ms_to_rfc3339(now_ms()), "plate": plate,
                "country": "BE", "confidence": 0.91, **extra}  # fmt: skip
        response = httpx.post(
            f"{self.gateway}/v1/reads",
            json=read,
            headers={"Authorization": f"Bearer {self.tokens['integrator']}"},
            timeout=5,
        )
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 1, response.text
        return time.monotonic()

    def api_get(self, path: str, role: str = "supervisor", **params: Any) -> Any:
        response = httpx.get(
            f"{self.api}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, predicate: Any, what: str, timeout_s: float = 10) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"{what}: not within {timeout_s} s\n{self.log.read_text()[-2000:]}")


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready:\n{log.read_text()}")


def _seed(console: Console) -> None:
    def post(path: str, body: Any, expect: int = 201) -> Any:
        r = httpx.post(f"{console.api}{path}", json=body, headers=console.admin(), timeout=5)
        assert r.status_code == expect, r.text
        return r.json()

    console.tokens["integrator"] = post(
        "/v1/integrators", {"integrator_id": "int-city", "name": "City integrator"}
    )["token"]
    for role, name in (
        ("operator", "anna"),
        ("operator", "ben"),
        ("supervisor", "sam"),
        ("auditor", "audrey"),
    ):
        console.tokens[name] = post("/v1/tokens", {"role": role, "name": name})["token"]
    console.tokens["supervisor"] = console.tokens["sam"]
    for camera_id, spec in CAMERAS.items():
        post(
            "/v1/cameras",
            {"camera_id": camera_id, "integrator_id": "int-city", "zones": ["city"], **spec},
        )

    def entry(entry_id: str, plate: str, reason: str, action: str) -> dict[str, str]:
        key = "pattern" if "*" in plate else "plate"
        return {"entry_id": entry_id, key: plate, "reason": reason, "action": action}

    check = "Stop and check"
    lists: dict[str, tuple[dict[str, Any], list[dict[str, str]]]] = {
        "stolen": (
            {"name": "Stolen vehicles", "category": "stolen", "priority": 1, "match": "ocr"},
            [
                entry(
                    "s-1",
                    "1ABC123",
                    "Stolen 2026-11-28, case 4411",
                    "Do not approach; call dispatch <script>window.pwned=1</script>",
                ),
                entry("s-2", "2XYZ777", "Stolen motorbike", check),
                entry("s-3", "3DEF456", "Stolen van", check),
                entry("s-4", "4GHI789", "Stolen car", check),
                entry("s-5", "5JKL012", "Stolen car", check),
            ],
        ),
        "insurance": (
            {"name": "Uninsured", "category": "uninsured", "priority": 4},
            [entry("u-1", "7UN*", "Uninsured fleet", "Note only")],
        ),
        "covert-ops": (
            {"name": "Operation Heron", "category": "intel", "priority": 2, "covert": True},
            [entry("c-1", "9COV999", "Covert interest", "Observe")],
        ),
    }
    for list_id, (config, entries) in lists.items():
        r = httpx.put(f"{console.api}/v1/hotlists/{list_id}", json=config, headers=console.admin())
        assert r.status_code == 200, r.text
        post(f"/v1/hotlists/{list_id}/entries", entries, expect=200)

    def applied() -> bool:
        items = console.api_get("/v1/hotlists", "supervisor")["items"]
        return len(items) == 3 and all(
            i["matchers"] and all(m["up_to_date"] for m in i["matchers"]) for i in items
        )

    console.wait_for(applied, "the matcher applies every hotlist", timeout_s=20)


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is open, and every async test after it (pytest-asyncio's session loop) would fail
# with "Runner.run() cannot be called from a running event loop".
@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run deploy/browser/ensure-chromium.sh (make tools)")
    tmp = tmp_path_factory.mktemp("console-run")
    ports = {"ingest": free_port(), "api": free_port(), "matcher": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    env.update({
        "ANPR_DATA_DIR": str(tmp / "data"), "ANPR_ADMIN_TOKEN": ADMIN,
        "ANPR_INGEST_PORT": str(ports["ingest"]), "ANPR_API_PORT": str(ports["api"]),
        "ANPR_MATCHER_PORT": str(ports["matcher"]), "ANPR_MATCHER_STATUS_INTERVAL_S": "1",
        "ANPR_NOTIFY_PORT": str(free_port()), "ANPR_ARCHIVE_PORT": str(free_port()),
    })  # fmt: skip
    log = tmp / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anpr", "run"], env=env, stdout=out, stderr=out
        )
    console = Console(
        api=f"http://127.0.0.1:{ports['api']}",
        gateway=f"http://127.0.0.1:{ports['ingest']}",
        tokens={},
        proc=proc,
        log=log,
    )
    try:
        _wait_ready(console.api, proc, log)
        _wait_ready(console.gateway, proc, log)
        _seed(console)
        yield console
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def sign_in(console: Console, page: Page, who: str) -> None:
    page.goto(f"{console.api}/console/")
    page.fill("#token", console.tokens[who])
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#bar:not([hidden])")
    page.wait_for_selector("#conn.live", timeout=5000)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Any:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, label: str = "") -> Path:
        name = request.node.name + (f"-{label}" if label else "")
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ARTIFACTS.exists():
        terminalreporter.write_line(f"browser test screenshots: {ARTIFACTS}")
