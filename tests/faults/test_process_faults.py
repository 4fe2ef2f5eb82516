"""Process faults on the shared session broker: a matcher SIGKILLed with a second one in its
group, and the API SIGKILLed while an operator's stream resumes by `Last-Event-ID` after it
restarts on the same data dir. Under load; the ledger checks of `tests.faults.checks`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.checks import assert_every_matcher_working, delays, recovery_s, verdict

pytestmark = [pytest.mark.faults, pytest.mark.kafka]

READS_PER_S = 100  # 50 requests/s of 2 reads; 1 read in 5 carries a hot plate


@pytest.mark.timeout(240)
async def test_matcher_sigkill_with_a_second_matcher_in_the_group(
    kafka_bootstrap: str, scenario_factory: Callable[..., Any]
) -> None:
    async with scenario_factory(kafka_bootstrap, rate=READS_PER_S / 2, batch=2) as sc:
        sc.driver.start()
        assert await sc.driver.until_acked(3 * READS_PER_S, timeout_s=30), sc.driver.describe()
        await assert_every_matcher_working(sc.stack)
        fault_start = time.monotonic()
        sc.stack.procs["matcher-a"].kill()
        fault_end = time.monotonic()
        # Load on through the group's session timeout and the rebalance.
        await sc.driver.until_acked(len(sc.driver.ledger.acked) + 15 * READS_PER_S, timeout_s=30)
        await sc.driver.stop()
        result = await verdict(kafka_bootstrap, sc.reads_topic, sc.driver.ledger, sc.collector)
        recovery = recovery_s(sc.driver.ledger, sc.collector, fault_start, fault_end)
        sc.report(f"matcher SIGKILL: {result.summary()}; recovery {recovery:.1f} s")
        sc.report(sc.driver.describe())
        sc.report(delays(sc.driver.ledger, sc.collector, fault_start, fault_end))
        assert result.ok, f"{result}\n{sc.stack.logs()}"
        assert recovery < 30, f"hits held up {recovery:.1f} s by a dead matcher"


@pytest.mark.timeout(240)
async def test_api_sigkill_stream_resumes_by_last_event_id(
    kafka_bootstrap: str, scenario_factory: Callable[..., Any]
) -> None:
    async with scenario_factory(kafka_bootstrap, rate=READS_PER_S / 2, batch=2) as sc:
        sc.driver.start()
        assert await sc.driver.until_acked(3 * READS_PER_S, timeout_s=30), sc.driver.describe()
        api = sc.stack.procs["api"]
        connects = sc.collector.connects
        fault_start = time.monotonic()
        api.kill()
        await sc.driver.until_acked(len(sc.driver.ledger.acked) + 2 * READS_PER_S, timeout_s=20)
        api.start()  # same settings, same data dir (the hit store survives)
        await sc.stack.wait_ready("api", timeout_s=60)
        fault_end = time.monotonic()
        await sc.collector.wait_connected(connects + 1, timeout_s=20)
        await sc.driver.until_acked(len(sc.driver.ledger.acked) + 5 * READS_PER_S, timeout_s=20)
        await sc.driver.stop()
        result = await verdict(kafka_bootstrap, sc.reads_topic, sc.driver.ledger, sc.collector)
        recovery = recovery_s(sc.driver.ledger, sc.collector, fault_start, fault_end)
        sc.report(sc.driver.describe())
        sc.report(delays(sc.driver.ledger, sc.collector, fault_start, fault_end))
        sc.report(
            f"API SIGKILL: {result.summary()}; stream resumed {sc.collector.resumes} time(s) by "
            f"Last-Event-ID; recovery {recovery:.1f} s after the API was ready again"
        )
        assert sc.collector.resumes >= 1
        assert result.ok, f"{result}\n{sc.stack.logs()}"
        assert recovery < 30
