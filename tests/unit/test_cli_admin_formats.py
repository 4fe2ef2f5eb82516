"""`anpr admin format delete` refuses a mapping that is not registered, as
`DELETE /v1/formats/{name}` does (404): a typo in the name must not report a deletion (and write
one to the audit log) while the mapping meant goes on taking pushes. Run as an operator would,
on the embedded bus of a fresh data dir."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import admin

MAPPINGS = Path(__file__).parents[1] / "fixtures" / "mappings"


def test_deleting_a_mapping_that_is_not_registered_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    put = admin(data, "format", "put", "genetec-xml", str(MAPPINGS / "genetec_xml.yaml"))
    assert put.returncode == 0, put.stderr
    typo = admin(data, "format", "delete", "genetec-xlm")
    assert typo.returncode == 2, typo.stdout
    assert "mapping 'genetec-xlm' is not registered" in typo.stderr
    assert "deleted" not in typo.stdout
    listed = admin(data, "format", "list")
    assert listed.stdout.startswith("genetec-xml\t"), listed.stderr
    gone = admin(data, "format", "delete", "genetec-xml")
    assert gone.returncode == 0, gone.stderr
    assert admin(data, "format", "list").stdout == ""


def test_the_audit_names_a_mapping_as_the_api_does(tmp_path: Path) -> None:
    """`PUT`/`DELETE /v1/formats/{name}` audit the target `format/NAME`; the CLI audited the
    bare name, so an auditor filtering by target missed the changes made from the command line
    (and a mapping named like a camera or a list looked like one)."""
    import sqlite3

    from anpr.bus.factory import LOCAL_BUS_FILE

    data = tmp_path / "data"
    assert (
        admin(data, "format", "put", "genetec-xml", str(MAPPINGS / "genetec_xml.yaml")).returncode
        == 0
    )
    assert admin(data, "format", "delete", "genetec-xml").returncode == 0
    with sqlite3.connect(data / LOCAL_BUS_FILE) as db:
        keys = [k for (k,) in db.execute("SELECT key FROM log WHERE topic='anpr.audit.v1'")]
    assert keys == [b"format/genetec-xml", b"format/genetec-xml"]
