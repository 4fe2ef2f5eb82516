"""The free-text options of `anpr admin` and `anpr hotlist load` (`--name`, `--category`) are
bounded as the API bounds the same fields (`api/fields.py` `Name`: 1-200 characters; a list's
name and category: 1-1024): a value the API answers 422 is a usage error here too (exit status
2, the option named), refused before anything is published."""

from __future__ import annotations

from pathlib import Path

import pytest

from anpr_cli import _parser
from tests.support.cli import admin

LONG_NAME = "n" * 201
LONG_TEXT = "t" * 1025


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["admin", "integrator", "acme", "--name", ""], id="integrator-empty"),
        pytest.param(["admin", "integrator", "acme", "--name", LONG_NAME], id="integrator-long"),
        pytest.param(["admin", "token", "auditor", "--name", ""], id="token-empty"),
        pytest.param(["admin", "token", "auditor", "--name", LONG_NAME], id="token-long"),
        pytest.param(["admin", "camera", "c-1", "--integrator", "i", "--name", ""], id="camera"),
        pytest.param(["hotlist", "load", "l", "f.csv", "--name", ""], id="list-name-empty"),
        pytest.param(["hotlist", "load", "l", "f.csv", "--name", LONG_TEXT], id="list-name-long"),
        pytest.param(["hotlist", "load", "l", "f.csv", "--category", ""], id="category-empty"),
    ],
)
def test_a_name_the_api_would_refuse_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    option = argv[-2]
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err, err
    assert "characters" in err, err


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        (["admin", "token", "auditor", "--name", "n" * 200], "n" * 200),
        (["admin", "integrator", "acme", "--name", " "], " "),  # the API takes it too
        (["hotlist", "load", "l", "f.csv", "--name", "t" * 1024], "t" * 1024),
    ],
)
def test_a_name_the_api_takes_is_taken(argv: list[str], value: str) -> None:
    assert _parser().parse_args(argv).name == value


def test_an_empty_token_name_registers_nothing(tmp_path: Path) -> None:
    # It made a token the audit log and `anpr admin tokens` showed with no name at all.
    data = tmp_path / "data"
    refused = admin(data, "token", "auditor", "--name", "")
    assert refused.returncode == 2, refused.stderr
    assert "--name" in refused.stderr
    assert "anpr_" not in refused.stdout
    assert admin(data, "tokens").stdout.splitlines()[1:] == []


@pytest.mark.parametrize("name", ["bootstrap-admin", "Bootstrap-Admin", " bootstrap-admin "])
def test_a_token_may_not_take_the_bootstrap_admins_name(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit log names the `ANPR_ADMIN_TOKEN` admin `bootstrap-admin`: a registry token of
    that name would pass for it there, as the API refuses it (422, `name`)."""
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["admin", "token", "admin", "--name", name])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --name" in err and "bootstrap-admin" in err, err


def test_a_token_name_differing_only_in_case_or_blanks_is_taken(tmp_path: Path) -> None:
    """As the API answers 409: the audit log would show the two actors as one."""
    data = tmp_path / "data"
    made = admin(data, "token", "operator", "--name", "Night Desk")
    assert made.returncode == 0, made.stderr
    refused = admin(data, "token", "operator", "--name", "night desk ")
    assert refused.returncode == 2, refused.stderr
    assert "exists; choose another name" in refused.stderr
    assert "anpr_" not in refused.stdout
    names = admin(data, "tokens").stdout
    assert names.count("Night Desk") == 1 and "night desk" not in names, names
