"""_ext/lstmbook, the book's Sphinx extension, without building the book: how it words what
``make notebooks`` recorded, where it says a chapter lives, and which pages its table lists.
(tests/test_book_build.py checks the built pages.)"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import PurePosixPath

import pybtex.database
import pytest
import yaml
from book_files import ROOT, toc_files
from docutils import nodes
from sphinx_external_toc.parsing import parse_toc_yaml

sys.path.insert(0, str(ROOT / "_ext"))

from lstmbook import register_bibliography_labels  # noqa: E402
from lstmbook.bib_labels import AuthorYearLabels, PlainAuthorYear  # noqa: E402
from lstmbook.execution_times import COLUMNS, table, toc_documents  # noqa: E402
from lstmbook.launch_hint import hint_node, lab_path  # noqa: E402
from lstmbook.records import (  # noqa: E402
    NOT_RECORDED,
    date_text,
    environment_text,
    execution_record,
    seconds_text,
    status_text,
)
from lstmbook.source_archive import ARCHIVE, archive_files, archive_uri, write_archive  # noqa: E402

RECORD = {
    "executed_at": "2026-11-25T23:50:42+00:00",
    "execution_seconds": 57.04,
    "status": "ok",
    "environment": {"python": "3.11.7", "numpy": "2.4.6", "torch": "2.13.0+cpu", "lstmlib": "0.1.0",
                    "torch_threads": 1},
}


def test_a_full_record_in_words():
    assert seconds_text(RECORD) == "57.0 s"
    assert date_text(RECORD) == "2026-11-25"
    assert status_text(RECORD) == "executed without error"
    assert environment_text(RECORD) == "Python 3.11.7, NumPy 2.4.6, torch 2.13.0+cpu, lstmlib 0.1.0, 1 torch thread"


def test_the_date_is_the_utc_day():
    assert date_text({"executed_at": "2026-11-25T23:30:00-02:00"}) == "2026-11-26"


def test_an_error_is_reported_as_recorded():
    record = {"status": "error", "error": "ValueError in cell In [3]: bad x"}
    assert status_text(record) == "raised ValueError in cell In [3]: bad x"


def test_threads_in_the_plural():
    record = {"environment": dict(RECORD["environment"], torch_threads=4)}
    assert environment_text(record).endswith(", 4 torch threads")


def test_missing_fields_say_not_recorded():
    # a notebook executed by the older script has only its time
    old = {"execution_seconds": 5.8}
    assert seconds_text(old) == "5.8 s"
    assert date_text(old) == status_text(old) == environment_text(old) == NOT_RECORDED
    assert seconds_text({}) == NOT_RECORDED


def test_execution_record_reads_the_notebook_metadata(tmp_path):
    path = tmp_path / "x.ipynb"
    path.write_text('{"cells": [], "metadata": {"lstmbook": {"execution_seconds": 1.5}}, "nbformat": 4, '
                    '"nbformat_minor": 5}')
    assert execution_record(path) == {"execution_seconds": 1.5}
    path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    assert execution_record(path) == {}


def test_lab_path_is_relative_to_the_lab_folder():
    assert lab_path(PurePosixPath("chapters/part1-lstm/02-anatomy.ipynb"), "chapters") == \
        PurePosixPath("part1-lstm/02-anatomy.ipynb")
    assert lab_path(PurePosixPath("notation.md"), "chapters") is None
    assert lab_path(PurePosixPath("chapters/part1-lstm/notes.md"), "chapters") is None
    assert lab_path(PurePosixPath("drafts/chapters/x.ipynb"), "chapters") is None


def test_the_hint_names_both_paths_the_time_and_links_the_times_page():
    source = PurePosixPath("chapters/part1-lstm/02-anatomy.ipynb")
    hint = hint_node("chapters/part1-lstm/02-anatomy", source, PurePosixPath("part1-lstm/02-anatomy.ipynb"),
                     RECORD, "execution-times")
    text = hint.astext()
    assert "make lab" in text
    assert "part1-lstm/02-anatomy.ipynb (chapters/part1-lstm/02-anatomy.ipynb in the repository)" in text
    assert "It last ran in 57.0 s" in text
    (link,) = [n for n in hint.findall() if n.tagname == "pending_xref"]
    assert (link["reftype"], link["reftarget"]) == ("doc", "/execution-times")
    (download,) = [n for n in hint.findall(nodes.reference) if "lstmbook-source-archive" in n["classes"]]
    assert download["refuri"] == "../../lstm-book-source.zip" and download.astext() == "lstm-book-source.zip"
    assert "unzip lstm-book-source.zip && cd lstm-book and make lab open JupyterLab" in text
    no_time = hint_node("d", source, PurePosixPath("x.ipynb"), {}, "execution-times").astext()
    assert "last ran" not in no_time and "See Execution times." in no_time


def test_toc_documents_follow_the_toc_with_their_part():
    site_map = parse_toc_yaml(ROOT / "_toc.yml")
    documents = toc_documents(site_map)
    assert [name for name, _ in documents] == toc_files()[1:]
    part_of = dict(documents)
    for part in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]:
        for entry in part["chapters"]:
            assert part_of[entry["file"]] == part["caption"]


def test_table_cells_carry_their_column_class():
    result = table(COLUMNS, [["a", "1.0 s", "d", nodes.strong(text="e")]], ["t"])
    entries = list(result.findall(nodes.entry))
    assert [e["classes"] for e in entries[:4]] == [["lstmbook-chapter"], ["lstmbook-time"],
                                                  ["lstmbook-executed-on"], ["lstmbook-status"]]
    assert [e.astext() for e in entries[4:]] == ["a", "1.0 s", "d", "e"]
    assert result["classes"] == ["t"]


def test_the_source_archive_holds_what_make_lab_and_make_test_need(tmp_path):
    files = {path.as_posix() for path in archive_files(ROOT)}
    for needed in ("Makefile", "README.md", "requirements.txt", "requirements-nodeps.txt", "pyproject.toml",
                   "_config.yml", "_toc.yml", "references.bib", "nbval-sanitize.cfg", "lstmlib/__init__.py",
                   "scripts/execute_notebooks.py", "tests/conftest.py", "_ext/lstmbook/__init__.py",
                   "vendor/README.md", "lstmlib/checkpoints/manifest.json"):
        assert needed in files, needed
    for entry in toc_files():  # every page of the book, as its notebook or Markdown file
        assert f"{entry}.ipynb" in files or f"{entry}.md" in files, entry
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or ".ipynb_checkpoints" in f
                or f.startswith((".venv/", "_build/", ".git/"))]
    # written under one folder, byte for byte
    count = write_archive(ROOT, tmp_path / ARCHIVE)
    with zipfile.ZipFile(tmp_path / ARCHIVE) as archive:
        names = archive.namelist()
        assert count == len(names) == len(files) and all(n.startswith("lstm-book/") for n in names)
        assert archive.read("lstm-book/Makefile") == (ROOT / "Makefile").read_bytes()


def test_the_archive_link_is_relative_to_the_page():
    assert archive_uri("intro") == "lstm-book-source.zip"
    assert archive_uri("chapters/part1-lstm/02-anatomy") == "../../lstm-book-source.zip"


def test_the_source_archive_holds_every_tracked_file():
    # a file added at the repository's top level must join CONTENTS (_ext/lstmbook/source_archive.py)
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (or no git): nothing to compare the archive with")
    tracked = {line for line in listed.splitlines() if (ROOT / line).is_file()}  # deleted but not committed: not there
    missing = sorted(tracked - {path.as_posix() for path in archive_files(ROOT)})
    assert not missing, f"tracked files left out of the source archive: {missing[:20]}"


def test_bibliography_labels_read_like_the_citations():
    entries = pybtex.database.parse_string("""
        @article{one, author = {Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen}, title = {A}, year = {1997}}
        @article{two, author = {Gers, Felix A. and Schmidhuber, J. and Cummins, F.}, title = {B}, year = {2000}}
        @article{three, author = {Gers, Felix A. and Schraudolph, N. and Schmidhuber, J.}, title = {C}, year = {2000}}
        @book{four, author = {Elman, Jeffrey L.}, title = {D}, year = {1990}}
        @misc{five, author = {van den Oord, A{\\"a}ron and Dieleman, Sander}, title = {E}, year = {2016}}
    """, "bibtex").entries
    register_bibliography_labels()
    labels = list(AuthorYearLabels().format_labels(entries.values()))
    assert labels == ["Hochreiter and Schmidhuber, 1997", "Gers et al., 2000a", "Gers et al., 2000b",
                      "Elman, 1990", "van den Oord and Dieleman, 2016"]
    assert PlainAuthorYear().label_style.__class__ is AuthorYearLabels
