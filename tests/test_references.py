"""Every reference in the course resolves inside the repository.

The lectures, homework, READMEs, notes and docstrings cite the course's notes (``notes/``): the derivations
by section ("derivations §4.2"), the slides' errors by number (E1 ... E17), and other files by relative links.
These tests fail on a link to a file or a section anchor that does not exist, on a § number or an E<n> that no
note defines, and on the old citations of a document that is not in the repository ("MATH", "Appendix A").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from problems import ROOT

SKIP_DIRS = {".git", ".venv", "build", "grading", "results", "__pycache__", ".ipynb_checkpoints", ".pytest_cache",
             ".hypothesis", "node_modules", "dist"}
NOTES = ROOT / "notes"


def _files(*suffixes):
    out = []
    for p in ROOT.rglob("*"):
        rel = p.relative_to(ROOT)
        if p.is_file() and p.suffix in suffixes and not SKIP_DIRS.intersection(rel.parts) \
                and not any(part.endswith(".egg-info") for part in rel.parts):
            out.append(p)
    return sorted(out)


def slug(title: str) -> str:
    """The anchor GitHub and MyST give a heading (lower case, punctuation dropped, spaces to hyphens)."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _markdown_texts(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text("utf-8")]
    nb = json.loads(path.read_text("utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def headings(path: Path) -> dict[str, str]:
    """slug -> heading text, for the headings of a markdown file or of a notebook's markdown cells."""
    out = {}
    for text in _markdown_texts(path):
        for line in _prose(text).splitlines():
            m = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
            if m:
                out[slug(m.group(1))] = m.group(1)
    return out


DERIVATIONS = headings(NOTES / "derivations.md")
SECTIONS = {t.split()[0] for t in DERIVATIONS.values() if re.match(r"^\d+(\.\d+)?$", t.split()[0])}
ERRATA = {int(m.group(1)): s for s, t in headings(NOTES / "errata.md").items() if (m := re.match(r"^E(\d+)\b", t))}
MARKDOWN = _files(".md", ".ipynb")
TEXT = _files(".py", ".md", ".ipynb", ".cfg", ".toml", ".yml", ".mk", ".txt") + [ROOT / "Makefile"]
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)")


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def test_the_notes_exist_and_are_numbered():
    for name in ("start.md", "notation.md", "derivations.md", "errata.md", "slides.md", "checks.md"):
        assert (NOTES / name).is_file(), f"notes/{name} is missing"
    assert sorted(ERRATA) == list(range(1, 18)), f"errata.md must number E1..E17, has {sorted(ERRATA)}"
    assert {str(k) for k in range(1, 13)} <= SECTIONS, sorted(SECTIONS)
    assert len(MARKDOWN) > 20 and len(TEXT) > 60


@pytest.mark.parametrize("path", MARKDOWN, ids=_rel)
def test_links_resolve(path):
    """Relative links point at files in the repository; #anchors at headings of the target."""
    bad = []
    for text in _markdown_texts(path):
        for label, target in LINK.findall(_prose(text)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):           # http:, https:, mailto:, attachment:
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists() or not dest.is_relative_to(ROOT):
                bad.append(f"{target}: no such file in the repository")
                continue
            if anchor and dest.suffix in (".md", ".ipynb") and anchor not in headings(dest):
                bad.append(f"{target}: no heading with the anchor #{anchor} in {_rel(dest)}")
            for sec in re.findall(r"§(\d+(?:\.\d+)?)", label):
                want = sec.replace(".", "") + "-"
                if dest != NOTES / "derivations.md" or not anchor.startswith(want):
                    bad.append(f"[{label}]({target}): §{sec} must link to notes/derivations.md#{want}...")
            if m := re.fullmatch(r"E(\d+)", label):
                if dest != NOTES / "errata.md" or anchor != ERRATA.get(int(m.group(1))):
                    bad.append(f"[{label}]({target}): must link to notes/errata.md#{ERRATA.get(int(m.group(1)))}")
    assert not bad, f"{_rel(path)}:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("path", [p for p in MARKDOWN if p != NOTES / "errata.md"], ids=_rel)
def test_errata_and_sections_cited_in_prose_are_links(path):
    """In markdown prose, E<n> is a link to its erratum, and a § number one of the derivations' sections."""
    bad = []
    for text in _markdown_texts(path):
        prose = _prose(text)
        unlinked = LINK.sub(lambda m: "" if re.fullmatch(r"E\d+", m.group(1)) else m.group(1), prose)
        bad += [f"E{n} is not a link to notes/errata.md" for n in re.findall(r"\bE(\d+)\b", unlinked)]
        bad += [f"§{s} is not a section of notes/derivations.md" for s in re.findall(r"§(\d+(?:\.\d+)?)", prose)
                if s not in SECTIONS]
    assert not bad, f"{_rel(path)}:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("path", TEXT, ids=_rel)
def test_no_citation_of_a_document_outside_the_repository(path):
    if path == Path(__file__).resolve():
        pytest.skip("this file names the patterns it looks for")
    text = path.read_text("utf-8")
    bad = [m.group(0) for m in re.finditer(r"(?<![A-Za-z_])MATH(?![A-Za-z])[^\n]{0,20}", text)]
    bad += [m.group(0) for m in re.finditer(r"Appendix A[^\n]{0,20}", text)]
    assert not bad, (f"{_rel(path)} cites a document that is not in the repository: {bad[:5]}; cite notes/ "
                     "instead (notes/derivations.md §N, notes/errata.md E<n>)")


@pytest.mark.parametrize("path", _files(".py", ".cfg", ".toml", ".yml", ".mk") + [ROOT / "Makefile"], ids=_rel)
def test_references_in_code_resolve(path):
    """Docstrings and messages: notes/<file>.md exists, its § numbers are sections, its E<n> are errata."""
    if path == Path(__file__).resolve():
        pytest.skip("this file names the patterns it looks for")
    text = path.read_text("utf-8")
    bad = [f"{m.group(0)}: no such file" for m in re.finditer(r"notes/[\w-]+\.md", text)
           if not (ROOT / m.group(0)).is_file()]
    bad += [f"§{s} is not a section of notes/derivations.md" for s in re.findall(r"§(\d+(?:\.\d+)?)", text)
            if s not in SECTIONS]
    for m in re.finditer(r"(?<![\w.])E(\d+)\b", text):
        before = text[max(0, m.start() - 16):m.start()]
        if before.endswith("noqa: "):
            continue                                                # flake8 codes such as E731
        if not before.endswith("errata.md ") or int(m.group(1)) not in ERRATA:
            bad.append(f"{m.group(0)} (write notes/errata.md E<n>, 1 <= n <= 17)")
    assert not bad, f"{_rel(path)}:\n  " + "\n  ".join(bad)


LECTURES = sorted((ROOT / "lectures").glob("0*.ipynb"))
PRACTISED_BY = {"01": "hw1", "02": "hw1", "03": "hw2", "04": "hw1", "05": "hw2", "06": "hw3", "07": "hw3", "09": "hw4"}


def _targets(path: Path) -> set[Path]:
    return {(path.parent / t.partition("#")[0]).resolve() for text in _markdown_texts(path)
            for _, t in LINK.findall(_prose(text)) if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and t.partition("#")[0]}


def test_each_lecture_links_to_its_homework_and_back():
    assert len(LECTURES) == 9
    start = (NOTES / "start.md").resolve()
    for k, lec in enumerate(LECTURES):
        links = _targets(lec)
        assert start in links, f"{lec.name} does not link to the start page"
        if k + 1 < len(LECTURES):
            assert LECTURES[k + 1].resolve() in links, f"{lec.name} does not link to the next lecture"
        hw = PRACTISED_BY.get(lec.name[:2])
        if hw:
            for folder in ("solutions", "assignments"):
                nb = ROOT / folder / hw / f"{hw}.ipynb"
                assert (ROOT / "assignments" / hw / f"{hw}.ipynb").resolve() in links, (
                    f"{lec.name} does not link to {hw}")
                assert lec.resolve() in _targets(nb), f"{folder}/{hw} does not link back to {lec.name}"
    start_links = _targets(NOTES / "start.md")
    for p in LECTURES + sorted((ROOT / "assignments").glob("hw*/hw*.ipynb")):
        assert p.resolve() in start_links, f"the start page does not list {_rel(p)}"
