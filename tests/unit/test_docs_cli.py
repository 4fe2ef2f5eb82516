"""The command-line reference in docs/operations.md and the `anpr` parser agree: every command
has a line (`anpr admin format put ...`), every option of a command is named on its lines, and
the reference names no command or option the parser does not have. An operator reads that
block, not `--help` ten levels down, and an option missing from it is one nobody uses."""

from __future__ import annotations

import argparse
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from anpr_cli import _parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
HEADING = "### The `anpr` command"
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)")


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], set[str]]]:
    """(command words, the options shown in its --help) for the parser and each sub-command."""
    options = {
        flag
        for action in parser._actions
        if action.help != argparse.SUPPRESS and not isinstance(action, argparse._HelpAction)
        for flag in action.option_strings
    }
    yield path, options
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def _block() -> list[str]:
    text = DOC.read_text()
    assert HEADING in text, f"{DOC.name} has no section {HEADING!r}"
    section = text.split(HEADING, 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def _entries() -> list[tuple[list[tuple[str, ...]], str]]:
    """Each `anpr ...` entry of the block (with its continuation lines): the command words it
    stands for (`{a,b}` expanded) and its text before the comment."""
    entries: list[tuple[list[tuple[str, ...]], str]] = []
    for line in _block():
        code = line.split("#", 1)[0]
        if line.startswith("anpr"):
            words: list[list[str]] = []
            for word in code.split()[1:]:
                if not re.fullmatch(r"[a-z][a-z-]*|\{[a-z,-]+\}", word):
                    break
                words.append(word.strip("{}").split(","))
            entries.append(([tuple(w) for w in itertools.product(*words)], code))
        elif entries and line.startswith(" "):
            paths, text = entries[-1]
            entries[-1] = (paths, text + " " + code)
    return entries


def test_every_command_and_option_is_in_the_reference() -> None:
    entries = _entries()
    for path, options in _commands(_parser()):
        mine = [text for paths, text in entries if any(p[: len(path)] == path for p in paths)]
        assert mine, f"`anpr {' '.join(path)}` has no line in {DOC.name} ({HEADING})"
        named = {flag for text in mine for flag in OPTION.findall(text)}
        missing = sorted(options - named)
        assert not missing, f"`anpr {' '.join(path)}`: options not in {DOC.name}: {missing}"


def test_the_reference_names_only_commands_and_options_that_exist() -> None:
    commands = dict(_commands(_parser()))
    for paths, text in _entries():
        for path in paths:
            # The words up to the first that is not a command are the command; a choice of a
            # positional argument (`token {operator,...}`) may follow them.
            known = max((c for c in commands if path[: len(c)] == c), key=len, default=None)
            assert known is not None and (known or not path), f"{text.strip()!r}: no command"
            parent = any(c[:-1] == known for c in commands if c)
            assert known == path or not parent, f"{text.strip()!r}: no command {path}"
            allowed = set().union(*(commands[known[:n]] for n in range(len(known) + 1)))
            unknown = sorted(set(OPTION.findall(text)) - allowed - {"-h", "--help"})
            assert not unknown, f"{text.strip()!r}: no such option {unknown}"
