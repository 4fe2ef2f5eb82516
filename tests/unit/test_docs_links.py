"""README.md and docs/*.md: every relative link reaches its file and, with a `#fragment`, an
anchor of that file; no page defines the same anchor twice.

Anchors are those GitHub makes: a heading's slug (lower case, punctuation dropped, spaces as
hyphens, `-1`, `-2` for repeats) and explicit `<a id="...">`. Two with the same id make a link
land on whichever comes first, so an alert's runbook link that lands on a table row saying
"follow the runbook" with a link to itself leaves the reader nowhere."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> list[str]:
    """Every anchor of a page, repeats included (a heading repeated gets `-1`, `-2`)."""
    found: list[str] = []
    seen: Counter[str] = Counter()
    for line in FENCE.sub("", text).splitlines():
        heading = re.match(r"#{1,6} (.*)", line)
        if heading:
            slug = _slug(heading.group(1))
            found.append(f"{slug}-{seen[slug]}" if seen[slug] else slug)
            seen[slug] += 1
    found += re.findall(r'<a (?:id|name)="([^"]+)"', text)
    return found


def test_anchors_are_made_as_github_makes_them() -> None:
    text = '# Top\n## Gateway (`:8080/metrics`)\n## Top\n```\n# not a heading\n```\n<a id="x"></a>'
    assert anchors(text) == ["top", "gateway-8080metrics", "top-1", "x"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_anchor_is_defined_twice(page: Path) -> None:
    twice = sorted(a for a, n in Counter(anchors(page.read_text())).items() if n > 1)
    assert not twice, f"{page.name} defines these anchors more than once: {twice}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for url in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", url):
            continue
        path, _, fragment = url.partition("#")
        target = (page.parent / path).resolve() if path else page
        missing_anchor = (
            target.exists()
            and bool(fragment)
            and target.suffix == ".md"
            and fragment not in anchors(target.read_text())
        )
        if not target.exists() or missing_anchor:
            broken.append(url)
    assert not broken, f"{page.name}: links to no file or no anchor: {broken}"
