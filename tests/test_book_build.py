"""The book builds with zero warnings and its pages work offline.

A broken reference, an unknown citation key or a stray file fails here, not
in a reader's browser; so does a page that would fetch a script, style, font
or image from the network (readers may have none). The pieces that the book's
extensions (_ext/lstmbook, _ext/lstmbook_html.py) add are checked on the built
pages too: the launch hint on every chapter, the execution-times table,
lstmbook.css, each inline script once, the widget scripts in order. The
``built_book`` fixture (tests/conftest.py) builds the book once for this file
and the browser test.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from html.parser import HTMLParser

from book_files import ROOT, toc_files

# Attributes through which a page loads something (hyperlinks are not loads).
LOADING_ATTRIBUTE = re.compile(
    r"<(script|link|img|source|iframe|embed)\b[^>]*?\b(src|href|srcset)\s*=\s*[\"'](https?:)?//[^\"']*[\"']",
    re.IGNORECASE,
)


def test_book_builds_without_warnings(built_book):
    assert (built_book / "index.html").is_file()
    for entry in toc_files():
        assert (built_book / f"{entry}.html").is_file(), f"no page was written for toc entry {entry}"


def test_no_page_loads_anything_from_the_network(built_book):
    pages = sorted(built_book.rglob("*.html"))
    assert len(pages) >= len(toc_files())
    remote = {}
    for page in pages:
        found = [m.group(0)[:160] for m in LOADING_ATTRIBUTE.finditer(page.read_text(errors="replace"))]
        if found:
            remote[page.relative_to(built_book).as_posix()] = found
    assert not remote, f"pages that load from the network: {remote}"


def test_math_and_widgets_are_served_from_the_book(built_book):
    page = (built_book / "chapters/part1-lstm/02-anatomy.html").read_text()
    for local in ("_static/mathjax/tex-chtml.js", "_static/requirejs/require.js",
                  "_static/jupyter-widgets/embed-amd.js"):
        assert local in page, f"{local} is not loaded by the page"
        assert (built_book / local).is_file(), f"{local} is missing from the build"
    assert "application/vnd.jupyter.widget-state+json" in page, "the widget state was not embedded"


class _Table(HTMLParser):
    """The rows of the first ``<table>`` with class ``css_class``: each row a list of
    ``(text, [href, ...])`` per cell."""

    def __init__(self, css_class: str):
        super().__init__()
        self.css_class, self.depth, self.done = css_class, 0, False
        self.rows: list[list[tuple[str, list[str]]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and not self.done and self.css_class in (attrs.get("class") or "").split():
            self.depth = 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.rows[-1].append(["", []])
        elif self.depth and tag == "a" and self.rows and self.rows[-1]:
            self.rows[-1][-1][1].append(attrs.get("href"))

    def handle_endtag(self, tag):
        if self.depth and tag == "table":
            self.depth, self.done = 0, True

    def handle_data(self, data):
        if self.depth and self.rows and self.rows[-1]:
            self.rows[-1][-1][0] += data

    def cells(self):
        return [[(" ".join(text.split()), hrefs) for text, hrefs in row] for row in self.rows]


def _chapter_entries() -> list[str]:
    """The toc entries that are chapter notebooks, in toc order."""
    return [entry for entry in toc_files() if (ROOT / f"{entry}.ipynb").is_file()]


def test_execution_times_page_lists_every_chapter_with_its_recorded_run(built_book):
    page = (built_book / "execution-times.html").read_text()
    parser = _Table("lstmbook-execution-times")
    parser.feed(page)
    header, *rows = parser.cells()
    assert [text for text, _ in header] == ["Chapter", "Time", "Executed on", "Status"]
    chapters = _chapter_entries()
    assert chapters, "the toc lists no chapter notebooks"
    assert [hrefs for (_, hrefs), *_ in rows] == [[f"{entry}.html"] for entry in chapters]
    total = 0.0
    for entry, row in zip(chapters, rows):
        record = json.loads((ROOT / f"{entry}.ipynb").read_text())["metadata"]["lstmbook"]
        total += record["execution_seconds"]
        (_, _), (time, _), (day, _), (status, _) = row
        assert time == f"{record['execution_seconds']:.1f} s", entry
        assert day == record["executed_at"][:10], entry
        assert status == "executed without error", entry
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert f"Together the {len(chapters)} chapters ran in {total:.1f} s." in text


def test_every_page_loads_the_book_css(built_book):
    css = built_book / "_static" / "lstmbook.css"
    assert "html[data-theme=\"dark\"] .bd-content div.cell_output img" in css.read_text()
    pages = [built_book / f"{entry}.html" for entry in toc_files()]
    for page in pages:
        link = re.search(r'<link[^>]+href="([^"?]*lstmbook\.css)[?"]', page.read_text())
        assert link, f"{page.name} does not load lstmbook.css"
        assert (page.parent / link.group(1)).resolve() == css.resolve()


def test_every_chapter_page_says_how_to_run_it_locally(built_book):
    for entry in _chapter_entries():
        page = (built_book / f"{entry}.html").read_text()
        hint = re.search(r'<div class="[^"]*lstmbook-launch[^"]*">(.*?)</div>', page, re.S)
        assert hint, f"{entry}: no launch hint"
        text = html.unescape(re.sub(r"<[^>]+>", "", hint.group(1)))
        in_lab = entry.removeprefix("chapters/")
        assert "make lab" in text and f"{in_lab}.ipynb" in text and f"{entry}.ipynb in the repository" in text
        assert re.search(r'href="(\.\./)*execution-times\.html"', hint.group(1)), entry
        assert _archive_link(built_book, entry, hint.group(1)), f"{entry}: the hint does not link the source archive"
        assert "unzip lstm-book-source.zip && cd lstm-book" in text
    assert "lstmbook-launch" not in (built_book / "notation.html").read_text()


def _archive_link(built_book, entry: str, html: str) -> bool:
    """Whether ``html`` (part of the page of ``entry``) links the site's source archive."""
    hrefs = re.findall(r'href="([^"]*lstm-book-source\.zip)"', html)
    page_folder = (built_book / entry).parent
    return any((page_folder / href).resolve() == (built_book / "lstm-book-source.zip").resolve() for href in hrefs)


def test_the_site_ships_the_books_source(built_book):
    # a downloaded .ipynb alone cannot import lstmlib: the intro and every chapter link the whole source
    with zipfile.ZipFile(built_book / "lstm-book-source.zip") as archive:
        names = set(archive.namelist())
        for needed in ("Makefile", "README.md", "requirements.txt", "lstmlib/__init__.py", "tests/conftest.py"):
            assert f"lstm-book/{needed}" in names, needed
        for entry in _chapter_entries():
            assert archive.read(f"lstm-book/{entry}.ipynb") == (ROOT / f"{entry}.ipynb").read_bytes(), entry
    assert _archive_link(built_book, "intro", (built_book / "intro.html").read_text())


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=\"([^\"?]+)")


def test_no_page_repeats_an_inline_script(built_book):
    # Sphinx 7.4 wrote extensions' late inline scripts twice, and sphinx-thebe's
    # `const THEBE_JS_URL` then threw on every page (fixed by _ext/lstmbook_html.py).
    repeated = {}
    for page in sorted(built_book.rglob("*.html")):
        bodies = [body.strip() for body in INLINE_SCRIPT.findall(page.read_text(errors="replace")) if body.strip()]
        twice = sorted({body[:80] for body in bodies if bodies.count(body) > 1})
        if twice:
            repeated[page.relative_to(built_book).as_posix()] = twice
    assert not repeated, f"inline scripts written twice: {repeated}"


def test_widget_pages_load_the_widget_scripts_in_order(built_book):
    # require.js, then the page set up for the manager, the manager, and the gate explorer's model
    order = ["requirejs/require.js", "lstmbook/widgets-env.js", "jupyter-widgets/embed-amd.js",
             "lstmbook/lstm-cell.js", "lstmbook/gate-explorer.js"]
    widget_pages = [p for p in sorted(built_book.rglob("*.html"))
                    if "application/vnd.jupyter.widget-state+json" in p.read_text(errors="replace")]
    assert widget_pages, "no page holds widget state"
    for page in widget_pages:
        sources = [src.split("_static/", 1)[-1] for src in SCRIPT_SRC.findall(page.read_text())]
        loaded = [src for src in sources if src in order]
        assert loaded == order, f"{page.name} loads {loaded}"
    for script in order:
        assert (built_book / "_static" / script).is_file(), f"_static/{script} is missing from the build"
