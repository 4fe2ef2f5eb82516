"""The paths of the mapping language, compiled: JSONPath and JSON pointers for JSON, XPath for XML.

JSON paths: a path starting with `/` (or the empty string) is a JSON pointer (RFC 6901, through
`jsonpointer`); anything else is JSONPath (through `jsonpath-ng`'s extended parser, so filters
such as `PlateAnalytics[?Key = 'Context'].Value` work). A JSONPath starting with `$` is read from
the whole document; any other path is read from the current read record.

XML paths: ElementTree's XPath subset (`Plate`, `.//Plate`, `a/b[Key='x']/Value`), on a tree whose
tags and attribute names have lost their namespaces (firmware versions disagree on them). A last
step `@name` reads an attribute. A path starting with `/` is read from the document (its first
step is the root element); any other path from the current read element.

Compiling raises `PathError` with a message fit to show next to the mapping field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree.ElementTree import Element

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext.filter import Expression
from jsonpath_ng.ext.parser import parse as parse_jsonpath
from jsonpath_ng.ext.string import DefintionInvalid
from jsonpointer import JsonPointer, JsonPointerException

from anpr.errors import AnprError

BodyKind = Literal["json", "xml"]
MAX_PATH_LEN = 300


class PathError(AnprError):
    """A path that does not compile; the message says why."""


@dataclass(frozen=True, slots=True)
class Found:
    """A value found by a path, and where it was in the payload (for error messages)."""

    value: Any
    where: str


@dataclass(frozen=True, slots=True)
class KeyEquals:
    """`[?Key = 'literal']`: the items (or object values) whose `Key` is that string."""

    key: str
    literal: str


Step = str | int | KeyEquals | None  # a key, an index, a string-equality filter, or `[*]`
_STEP = re.compile(
    r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d{1,6})\]|\[(\*)\]"
    r"|\[\?\(?\s*(?:@\.)?([A-Za-z_][A-Za-z0-9_-]*)\s*==?\s*(?:'([^'\\]*)'|\"([^\"\\]*)\")\s*\)?\]"
)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    pointer: JsonPointer | None
    expr: JSONPath | None
    # Plain keys, indexes, `[*]` and string-equality filters (`data.results[0].plate`,
    # `PlateAnalytics[?Key = 'Context'].Value`) are walked directly, with jsonpath-ng's meaning
    # (a property test holds them equal): many times faster than its general evaluation.
    steps: tuple[Step, ...] | None = None

    @property
    def from_document(self) -> bool:
        return self.expr is not None and self.text.startswith("$")

    def find(self, node: Any, base: str) -> list[Found]:
        """Every match in `node`; `base` is `node`'s own path in the payload."""
        if self.steps is not None:
            return self._walk(node, "" if self.from_document or base == "$" else base)
        if self.pointer is not None:
            value = self.pointer.resolve(node, None)
            where = self.text.lstrip("/").replace("/", ".")
            return [] if value is None else [Found(value, _join(base, where))]
        assert self.expr is not None  # noqa: S101 - one of the two is always set
        root = "" if self.from_document else base
        try:
            matches = self.expr.find(node)
            return [
                Found(m.value, _join(root, str(m.full_path).replace(".[", "["))) for m in matches
            ]
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, re.error):
            # A filter comparing values of different types (`[?score > 5]` on a string), a
            # `sub()` whose replacement names a group its pattern lacks.
            return []
        except RecursionError:
            # `$..` over a document nested hundreds deep (no camera sends one): nothing found.
            return []

    def _walk(self, node: Any, where: str) -> list[Found]:
        assert self.steps is not None  # noqa: S101 - only called when set
        nodes: list[tuple[Any, str]] = [(node, where)]
        for step in self.steps:
            nodes = [found for n, w in nodes for found in _step(step, n, w)]
        return [Found(n, w or "$") for n, w in nodes]


def _children(node: Any, where: str) -> list[tuple[Any, str]]:
    if isinstance(node, dict):
        return [(v, f"{where}.{k}" if where else k) for k, v in node.items()]
    if isinstance(node, list):
        return [(item, f"{where}[{i}]") for i, item in enumerate(node)]
    return []


def _step(step: Step, node: Any, where: str) -> list[tuple[Any, str]]:
    if step is None:
        return _children(node, where)
    if isinstance(step, KeyEquals):
        return [
            (child, w)
            for child, w in _children(node, where)
            if isinstance(child, dict) and child.get(step.key, _MISSING) == step.literal
        ]
    if isinstance(step, int):
        if isinstance(node, list) and step < len(node):
            return [(node[step], f"{where}[{step}]")]
        return []
    if isinstance(node, dict) and step in node:
        return [(node[step], f"{where}.{step}" if where else step)]
    return []


@dataclass(frozen=True, slots=True)
class XmlPath:
    text: str
    steps: str  # the ElementTree path without a leading `/` and without the attribute step
    attribute: str | None

    @property
    def from_document(self) -> bool:
        return self.text.startswith("/")

    def find(self, node: Element, base: str) -> list[Found]:
        """Every match under `node` (a wrapper around the root for document paths)."""
        elements = [node] if not self.steps else node.findall(self.steps)
        out: list[Found] = []
        root = "" if self.from_document else base
        for position, element in enumerate(elements):
            step = f"{self.steps}[{position + 1}]" if self.steps else ""
            where = f"{root}/{step}" if root and step else (root or step or "/")
            if self.attribute is not None:
                if self.attribute in element.attrib:
                    out.append(Found(element.attrib[self.attribute], f"{where}/@{self.attribute}"))
            else:
                out.append(Found(element, where))
        return out


Path = JsonPath | XmlPath


def compile_path(text: str, body: BodyKind) -> Path:
    if len(text) > MAX_PATH_LEN:
        raise PathError(f"longer than {MAX_PATH_LEN} characters")
    return compile_json(text) if body == "json" else compile_xml(text)


def compile_json(text: str) -> JsonPath:
    if text == "" or text.startswith("/"):
        try:
            return JsonPath(text, JsonPointer(text), None)
        except JsonPointerException as exc:
            raise PathError(f"not a JSON pointer: {exc}") from exc
    try:
        expr = parse_jsonpath(text)
        _check_regexes(expr)
        return JsonPath(text, None, expr, _plain_steps(text))
    except (JSONPathError, DefintionInvalid, re.error, ValueError, TypeError) as exc:
        # jsonpath-ng's own error, and what its `split()`/`sub()` and `=~` raise for bad
        # arguments or patterns: refused when the mapping is put, not at every read after.
        raise PathError(f"not a JSONPath expression: {exc}") from exc


def _check_regexes(node: object, depth: int = 0) -> None:
    """Compile every `=~` pattern of a filter now (jsonpath-ng compiles them at each find)."""
    if depth > 64:
        return
    if isinstance(node, Expression) and node.op == "=~" and isinstance(node.value, str):
        re.compile(node.value)
    children = vars(node).values() if hasattr(node, "__dict__") else ()
    for child in children:
        for item in child if isinstance(child, list | tuple) else (child,):
            if isinstance(item, JSONPath):
                _check_regexes(item, depth + 1)


def _plain_steps(text: str) -> tuple[Step, ...] | None:
    """The keys and indexes of a plain path, or None when it needs jsonpath-ng."""
    rest = text[1:] if text.startswith("$") else text
    if text.startswith("$") and rest and not rest.startswith((".", "[")):
        return None
    if not text.startswith("$") and rest.startswith("."):
        return None
    steps: list[Step] = []
    pos = 0
    while pos < len(rest):
        match = _STEP.match(rest, pos)
        if match is None:
            return None
        name, index, _star, key, single, double = match.groups()
        dotted = match.group(0).startswith(".")
        if name is not None and dotted != bool(steps or text.startswith("$")):
            return None
        if name is not None:
            steps.append(name)
        elif index is not None:
            steps.append(int(index))
        elif key is not None:
            steps.append(KeyEquals(key, single if single is not None else double))
        else:
            steps.append(None)
        pos = match.end()
    return tuple(steps)


def compile_xml(text: str) -> XmlPath:
    steps, attribute = text.strip(), None
    head, sep, tail = steps.rpartition("@")
    # A trailing `@name` is an attribute step; an `@` inside a predicate (`Item[@key='t']`,
    # ElementTree's own syntax) is not.
    if sep and not any(c in tail for c in "[]/='\""):
        if head and not head.endswith("/"):
            raise PathError("an attribute step must follow a `/`: `Plate/@id`")
        steps, attribute = head.rstrip("/"), tail
        if not tail.isidentifier():
            raise PathError(f"{tail!r} is not an attribute name")
    if steps.startswith("//"):
        steps = "." + steps[1:]
    elif steps.startswith("/"):
        steps = steps[1:]
    try:
        Element("document").findall(steps) if steps else None
    except (SyntaxError, KeyError, TypeError) as exc:
        raise PathError(f"not an XPath of ElementTree's subset: {exc}") from exc
    return XmlPath(text, steps, attribute)


def _join(base: str, tail: str) -> str:
    if not tail:
        return base or "$"
    if not base or base == "$":
        return tail
    return f"{base}{'' if tail.startswith('[') else '.'}{tail}"
