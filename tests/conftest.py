import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Lets the test modules share small helpers (book_files.py) without a package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from book_files import ROOT  # noqa: E402


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The book, built once per test run into a temporary folder; its ``_build/html``.

    Several test files use it (the build test, the browser test). Under
    pytest-xdist every worker has its own session, so the build goes to the
    run's shared temporary folder under a lock: the first worker that needs the
    book builds it, the others wait for it and reuse it (and its log, if it failed).

    BOOK_HTML=<folder>: test the book built there instead (``jupyter-book build .
    --path-output <folder>``), to run the build and browser tests again without a new build.
    """
    if os.environ.get("BOOK_HTML"):
        html = Path(os.environ["BOOK_HTML"]) / "_build" / "html"
        assert (html / "index.html").is_file(), f"BOOK_HTML={os.environ['BOOK_HTML']}: no built book there"
        return html
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # above each worker's own folder: the same for the whole run
    out = shared / "book"
    with open(shared / "book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        outcome_file = shared / "book-build.json"
        if not outcome_file.exists():
            jupyter_book = Path(sys.executable).parent / "jupyter-book"
            result = subprocess.run(
                [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "--keep-going"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            log = result.stdout + result.stderr
            outcome_file.write_text(json.dumps({"returncode": result.returncode, "log": log[-6000:]}))
        outcome = json.loads(outcome_file.read_text())
    assert outcome["returncode"] == 0, f"jupyter-book build failed:\n{outcome['log']}"
    return out / "_build" / "html"
