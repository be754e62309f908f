"""The book's structure: toc and notebooks agree, and every chapter carries its outputs."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from book_files import CHAPTERS, ROOT, chapter_notebooks, chapter_pages, toc_files


def _resolve(entry: str):
    """The file a toc entry names (Jupyter Book accepts it with or without suffix)."""
    candidates = [ROOT / entry] + [ROOT / f"{entry}{suffix}" for suffix in (".md", ".ipynb")]
    return next((p for p in candidates if p.is_file()), None)


def test_every_toc_entry_exists():
    missing = [entry for entry in toc_files() if _resolve(entry) is None]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_every_page_in_chapters_is_in_the_toc():
    # The build skips files outside the toc (only_build_toc_files), so a
    # forgotten chapter would vanish silently: catch it here.
    listed = {_resolve(entry) for entry in toc_files()}
    orphans = [p.relative_to(ROOT).as_posix() for p in chapter_pages() if p not in listed]
    assert not orphans, f"pages in chapters/ missing from _toc.yml: {orphans}"


def test_the_book_has_chapters():
    assert chapter_notebooks(), f"no notebooks found under {CHAPTERS}"


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.relative_to(CHAPTERS).as_posix())
def test_notebook_is_committed_executed(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    unexecuted = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not unexecuted, f"{path.name}: code cells {unexecuted} have no outputs; run `make notebooks`"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: cells were not executed top to bottom in one kernel (execution counts {counts}); "
        "run `make notebooks`"
    )


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.relative_to(CHAPTERS).as_posix())
def test_notebook_records_a_clean_run_of_make_notebooks(path):
    # The "Execution times" page shows this record; a chapter committed after a failed
    # run, or executed some other way, fails here instead of showing "not recorded".
    record = json.loads(path.read_text())["metadata"].get("lstmbook", {})
    assert record.get("status") == "ok", (
        f"{path.name}: make notebooks recorded {record.get('status')!r} ({record.get('error', 'no error text')}); "
        "fix the chapter and run `make notebooks`"
    )
    assert record["execution_seconds"] > 0
    assert datetime.fromisoformat(record["executed_at"]).tzinfo is not None
    assert set(record["environment"]) == {"python", "numpy", "torch", "lstmlib", "torch_threads"}


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.relative_to(CHAPTERS).as_posix())
def test_notebook_stores_the_kernelspec_jupyterlab_writes(path):
    # JupyterLab (`make lab`) stores the python3 kernel's display name on opening a notebook; a
    # chapter that stores another opens already modified. scripts/execute_notebooks.py writes it.
    spec = json.loads(path.read_text())["metadata"].get("kernelspec")
    assert spec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}, (
        f"{path.name}: kernelspec {spec}; run `make notebooks`"
    )
