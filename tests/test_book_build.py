"""The book builds with zero warnings and its pages work offline.

A broken reference, an unknown citation key or a stray file fails here, not
in a reader's browser; so does a page that would fetch a script, style, font
or image from the network (readers may have none).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from book_files import ROOT, toc_files

# Attributes through which a page loads something (hyperlinks are not loads).
LOADING_ATTRIBUTE = re.compile(
    r"<(script|link|img|source|iframe|embed)\b[^>]*?\b(src|href|srcset)\s*=\s*[\"'](https?:)?//[^\"']*[\"']",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    """Build the book once into a temporary folder; return its ``_build/html``."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    return out / "_build" / "html"


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
