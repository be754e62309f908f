"""The book builds with zero warnings: a broken reference, an unknown citation
key or a stray file fails here, not in a reader's browser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from book_files import ROOT, toc_files


def test_book_builds_without_warnings(tmp_path):
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(tmp_path), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    html = tmp_path / "_build" / "html"
    assert (html / "index.html").is_file()
    for entry in toc_files():
        assert (html / f"{entry}.html").is_file(), f"no page was written for toc entry {entry}"
