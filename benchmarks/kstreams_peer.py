"""The Kafka Streams peer of the matcher: its jars fetched, and the command that runs it.

`benchmarks/kstreams/pom.xml` lists Kafka Streams (the broker's version), Jackson and SLF4J's
no-op binding; `mvn dependency:copy-dependencies` puts them into a cache folder once (as
`deploy/kafka/kafka.sh` does for the broker), and `ExactMatch.java` runs from source with
`java` (a single-file program needs no separate compile step; the compile, about a second,
happens before the app's clock starts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "kstreams"
KAFKA_VERSION = "4.1.1"


class PeerUnavailable(RuntimeError):
    """Maven or Java is missing, or the jars could not be fetched."""


def libs_dir() -> Path:
    cache = Path(os.environ.get("ANPR_KSTREAMS_CACHE", Path.home() / ".cache" / "anpr-kstreams"))
    return cache / KAFKA_VERSION / "libs"


def ensure_libs() -> Path:
    """The folder of the peer's jars, fetched from Maven Central the first time."""
    libs = libs_dir()
    if (libs / ".complete").is_file():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PeerUnavailable("mvn is not on PATH: cannot fetch Kafka Streams")
    libs.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="libs.tmp.", dir=libs.parent))
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(HERE / "pom.xml"),
         "dependency:copy-dependencies", f"-DoutputDirectory={tmp}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PeerUnavailable(f"mvn could not fetch Kafka Streams: {done.stdout[-500:]}")
    (tmp / ".complete").touch()
    try:
        tmp.rename(libs)
    except OSError:  # a concurrent fetch won: keep its folder
        shutil.rmtree(tmp, ignore_errors=True)
    return libs


def command(
    *, bootstrap: str, topic: str, hits_topic: str, reads: int, list_file: Path, state_dir: Path
) -> list[str]:
    """The `java` command line of one run of the peer."""
    java = shutil.which("java")
    if java is None:
        raise PeerUnavailable("java is not on PATH")
    return [
        java, "-cp", f"{ensure_libs()}/*", str(HERE / "ExactMatch.java"),
        bootstrap, topic, hits_topic, str(reads), str(list_file), str(state_dir),
    ]  # fmt: skip
