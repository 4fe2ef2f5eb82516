"""The real local Kafka broker, started once per test session by the project's own script.

Registered as fixtures by tests/conftest.py, so the integration and e2e layers share ONE broker.

If the broker cannot be fetched or started, every test here ERRORS with the script's message:
the Kafka tests are never skipped.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from anpr.bus.kafka import KafkaBus
from anpr.settings import CommonSettings
from anpr.topics import Topics

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kafka" / "kafka.sh"


class Broker:
    def __init__(self, port: int, data_dir: Path) -> None:
        self.port = port
        self.data_dir = data_dir
        self.bootstrap = f"127.0.0.1:{port}"

    def _run(self, action: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KAFKA_PORT": str(self.port), "KAFKA_DATA_DIR": str(self.data_dir)}
        return subprocess.run(
            ["bash", str(SCRIPT), action],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self) -> None:
        result = self._run("up")
        if result.returncode != 0:
            pytest.fail(
                f"the local Kafka broker could not be started on {self.bootstrap}:\n"
                f"{result.stdout}\n{result.stderr}",
                pytrace=False,
            )

    def down(self) -> None:
        self._run("down", timeout=60)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    port = int(os.environ.get("ANPR_TEST_KAFKA_PORT", "19092"))
    broker = Broker(port, tmp_path_factory.mktemp("kafka"))
    broker.up()
    yield broker
    broker.down()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: Broker) -> str:
    return kafka_broker.bootstrap


@pytest.fixture
def topic_prefix() -> str:
    """Topics unique to one test, so tests never see each other's records."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
async def kafka_bus(kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[KafkaBus]:
    settings = CommonSettings(
        kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix, topic_partitions=3
    )
    bus = KafkaBus(
        kafka_bootstrap, Topics.from_prefix(topic_prefix).specs(settings), client_id="anpr-test"
    )
    await bus.start()
    await bus.ensure_topics()
    yield bus
    await bus.stop()
