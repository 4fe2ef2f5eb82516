"""The CLI faces of this work: `anpr convert --mapping`, the mapping check of `anpr admin format
put`, and `anpr report rollout` against a stand-in API (one GET, token and query checked)."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import orjson
import pytest

from anpr.bus.local import LocalBus
from anpr.registry import RegistryWriter
from anpr.settings import CommonSettings
from anpr.topics import Topics
from anpr_cli import main
from anpr_cli.formats import check_file, format_command, registry_view

MAPPINGS = Path(__file__).parents[1] / "fixtures" / "mappings"
VENDOR = Path(__file__).parents[1] / "fixtures" / "vendor"


def test_convert_with_a_mapping_prints_reads(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "convert",
            "--mapping",
            str(MAPPINGS / "genetec_json.yaml"),
            "--camera-tz",
            "America/Toronto",
            str(VENDOR / "genetec_sharpv_http_extension.json"),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    (line,) = out.out.splitlines()
    read = orjson.loads(line)
    assert (read["plate"], read["captured_at"]) == ("AA7D2", "2016-08-29T08:42:45.797-04:00")
    assert read["vendor_ids"] == ["genetec-json:SHARPV12345:Lpr Camera", "genetec-json:SHARPV12345"]


def test_convert_with_a_bad_mapping_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("body: json\nfields: {plate: p}\ntime: {format: strftime}\n")
    code = main(
        ["convert", "--mapping", str(bad), str(VENDOR / "genetec_sharpv_http_extension.json")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "mapping fields.captured_at: required" in err
    assert "mapping time.pattern:" in err


def test_admin_format_put_checks_the_file_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_file("acme", str(MAPPINGS / "genetec_xml.yaml")) is None  # name differs
    assert "name: 'genetec-xml' differs from 'acme'" in capsys.readouterr().err
    found = check_file("genetec-xml", str(MAPPINGS / "genetec_xml.yaml"))
    assert found is not None and found.body == "xml"
    assert check_file("x", str(tmp_path / "missing.yaml")) is None
    assert "cannot read the mapping" in capsys.readouterr().err


class _Api(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        ok = self.headers.get("Authorization") == "Bearer tok-m"
        body = b"# Camera rollout, 2026-11-30\n" if ok else b'{"detail":"missing or invalid"}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "text/markdown")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in_api() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Api.seen.clear()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_report_rollout_fetches_and_prints(
    stand_in_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "rollout", "--api", stand_in_api, "--token", "tok-m", "--format", "md"])
    assert code == 0
    assert capsys.readouterr().out == "# Camera rollout, 2026-11-30\n"
    assert _Api.seen == [("/v1/rollout?format=md&table=integrators", "Bearer tok-m")]


def test_report_rollout_warns_of_a_token_on_the_command_line(
    stand_in_api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token in argv is readable by every user of the host (`ps`) and kept in shell history."""
    assert main(["report", "rollout", "--api", stand_in_api, "--token", "tok-m"]) == 0
    assert "ANPR_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("ANPR_TOKEN", "tok-m")
    assert main(["report", "rollout", "--api", stand_in_api]) == 0
    assert capsys.readouterr().err == ""


def test_report_rollout_says_why_it_failed(
    stand_in_api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = main(["report", "rollout", "--api", stand_in_api, "--token", "wrong"])
    assert code == 1
    assert "the API answered 401" in capsys.readouterr().err
    monkeypatch.delenv("ANPR_TOKEN", raising=False)
    monkeypatch.delenv("ANPR_ADMIN_TOKEN", raising=False)
    assert main(["report", "rollout", "--api", stand_in_api]) == 2


async def test_admin_format_put_list_delete_on_a_bus(capsys: pytest.CaptureFixture[str]) -> None:
    topics = Topics.from_prefix("anpr.")
    bus = LocalBus(None, topics.specs(CommonSettings()))
    await bus.start()
    writer = RegistryWriter(bus, topics.registry)
    try:
        put = argparse.Namespace(
            format_command="put", name="genetec-xml", file=str(MAPPINGS / "genetec_xml.yaml")
        )
        assert await format_command(put, bus, writer, topics.registry) == 0
        listing = argparse.Namespace(format_command="list")
        assert await format_command(listing, bus, writer, topics.registry) == 0
        assert "genetec-xml\txml\t" in capsys.readouterr().out
        gone = argparse.Namespace(format_command="delete", name="genetec-xml")
        assert await format_command(gone, bus, writer, topics.registry) == 0
        assert (await registry_view(bus, topics.registry)).formats == {}
    finally:
        await bus.stop()
