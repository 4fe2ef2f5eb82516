"""`anpr admin integrator` refuses what `POST /v1/integrators` refuses (409, 422): an integrator
that is registered already, an id outside the safe alphabet. Run as an operator would, on the
embedded bus of a fresh data dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anpr.audit_wire import AuditRecord
from anpr.errors import BusUnavailable
from anpr_cli import admin as admin_module
from anpr_cli import main
from tests.support.cli import admin


def integrator_tokens(data: Path, integrator_id: str) -> list[str]:
    listed = admin(data, "tokens")
    assert listed.returncode == 0, listed.stderr
    return [line for line in listed.stdout.splitlines()[1:] if line.split()[2] == integrator_id]


def test_registering_an_integrator_again_is_refused_and_issues_no_token(tmp_path: Path) -> None:
    # Re-running the command (to "replace" a leaked token, say) gave a second valid token, left
    # the first one valid, and reset the integrator's name.
    data = tmp_path / "data"
    assert admin(data, "integrator", "acme", "--name", "Acme").returncode == 0
    again = admin(data, "integrator", "acme")
    assert again.returncode == 2, again.stderr
    assert "integrator 'acme' is registered" in again.stderr
    assert "rotate-token" in again.stderr
    assert "anpr_" not in again.stdout
    assert len(integrator_tokens(data, "acme")) == 1


def test_an_integrator_id_outside_the_safe_alphabet_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    refused = admin(data, "integrator", "acme corp/1")
    assert refused.returncode == 2, refused.stderr
    assert "integrator_id" in refused.stderr
    assert "anpr_" not in refused.stdout
    assert admin(data, "tokens").stdout.splitlines()[1:] == []


def test_an_integrator_without_a_name_is_named_by_its_id(tmp_path: Path) -> None:
    # It was registered with a blank name (the API requires 1-200 characters), and so was its
    # token: the audit log showed its changes with no actor at all.
    data = tmp_path / "data"
    assert admin(data, "integrator", "acme").returncode == 0
    assert admin(data, "rotate-token", "acme").returncode == 0
    (line,) = integrator_tokens(data, "acme")
    assert line.split()[-1] == "acme"


def test_a_token_without_a_name_is_named_by_its_role_and_id(tmp_path: Path) -> None:
    # Blank as well, and so not refused as a duplicate: several tokens no one could tell apart.
    data = tmp_path / "data"
    assert admin(data, "token", "auditor").returncode == 0
    assert admin(data, "token", "auditor").returncode == 0
    listed = admin(data, "tokens").stdout.splitlines()[1:]
    assert len(listed) == 2
    for line in listed:
        ident, role, *_, name = line.split()
        assert (role, name) == ("auditor", f"auditor-{ident}")


def test_a_change_whose_audit_record_cannot_be_published_says_it_was_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The registry write went through, then the bus failed on the audit record: the command
    ended with the bus's error alone, as if nothing had been done, and no auditor saw it."""
    for name in [k for k in os.environ if k.startswith("ANPR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANPR_DATA_DIR", str(tmp_path / "data"))
    tries: list[str] = []

    async def away(bus: object, topic: str, *records: AuditRecord) -> None:
        tries.append(records[0].action)
        raise BusUnavailable("Kafka did not take the records within 10 s")

    monkeypatch.setattr(admin_module, "publish_audit", away)
    monkeypatch.setattr(admin_module, "AUDIT_RETRY_S", 0)
    status = main(["admin", "integrator", "acme", "--name", "Acme"])
    err = capsys.readouterr().err
    assert status == 1
    assert "the change was made (integrator.create acme)" in err, err
    assert "audit record could not be published" in err
    assert tries == ["integrator.create"] * admin_module.AUDIT_ATTEMPTS
