"""Every link between the project's Markdown documents leads somewhere: the file exists and
the section it names is a heading there (as GitHub makes a heading's anchor)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The README and the documents it links to, and theirs.
DOCUMENTS = ("README.md", "mock_frames/README.md", "mock_frames/JOURNAL.md", "training/JOURNAL.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings, code blocks left out."""
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.add(anchor(line.lstrip("#")))
    return found


def broken_links(path: Path) -> list[str]:
    """The relative links of a Markdown file whose file or section does not exist."""
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # https:, mailto: and the like: not ours to check
            continue
        name, _, section = target.partition("#")
        linked = (path.parent / name).resolve() if name else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif section and linked.suffix == ".md" and section not in anchors(linked):
            broken.append(f"{target}: no such section")
    return broken


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_link_of_the_document_leads_somewhere(document: str) -> None:
    assert broken_links(ROOT / document) == []


def test_a_link_to_a_missing_section_or_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A section, with `code`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n```sh\n# not a heading\n```\n\n"
        "[ok](other.md#a-section-with-code) [ok](#page) [web](https://example.org/x#y)\n"
        "[gone](other.md#another-section) [lost](missing.md) [here](#not-a-heading)\n"
    )
    assert broken_links(page) == [
        "other.md#another-section: no such section",
        "missing.md: no such file",
        "#not-a-heading: no such section",
    ]
