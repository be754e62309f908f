"""The book builds with zero warnings and its pages work offline.

A broken reference, an unknown citation key or a stray file fails here, not
in a reader's browser; so does a page that would fetch a script, style, font
or image from the network (readers may have none). The ``built_book``
fixture (tests/conftest.py) builds the book once for this file and the
browser test.
"""

from __future__ import annotations

import re

from book_files import toc_files

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


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=\"([^\"?]+)")


def test_no_page_repeats_an_inline_script(built_book):
    # Sphinx 7.4 wrote extensions' late inline scripts twice, and sphinx-thebe's
    # `const THEBE_JS_URL` then threw on every page (fixed by web/lstmbook_html.py).
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
