"""Book and library link both ways, and only through public names.

Book -> code: a chapter displays library code with ``show_source``; what it
shows must be public API, or a reader is taught to use a name that may change
without notice. Code -> book: the key equations carry MyST labels, every
``{eq}`` reference resolves, and the docstring of a function that computes a
key equation names it on a ``Book:`` line (``Book: :eq:`lstm-step` (chapter
I.2, Anatomy of an LSTM unit).``) whose label, chapter number and title are
those of the book. Messages name a cell by its index in the notebook, counted
from 0 over all cells (markdown included), as ``nbformat`` and ``json`` see them.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from book_files import CHAPTERS, ROOT, chapter_notebooks, chapter_pages
from book_links import (
    DocstringLink,
    chapter_number,
    docstring_links,
    headings,
    labels_defined,
    labels_referenced,
    publicity_problem,
    shown_objects,
)

# The key equations: label -> the chapter that displays it. A new one (the
# coupled-gate LSTM's "cifg-step": "II.6", say) is one line here, one label on
# its display, and one Book: line in the docstring of the function computing it.
KEY_LABELS = {
    "rnn-step": "I.1",
    "lstm-step": "I.2",
    "lstm-step-backward": "I.3",
    "bptt": "I.3",
    "peephole-step": "II.2",
    "convlstm-step": "II.3",
    "child-sum-tree-lstm": "II.4",
    "nary-tree-lstm": "II.4",
    "gru-step": "II.5",
    "cifg-step": "II.6",
}

PAGES = chapter_pages() + [ROOT / "notation.md", ROOT / "intro.md"]
NOTEBOOK_IDS = {"ids": lambda p: p.relative_to(CHAPTERS).as_posix()}


def _where(place) -> str:
    page, cell = place
    return f"{page.relative_to(ROOT).as_posix()} cell {cell}"


# ---------------------------------------------------------------- book -> code: public names only


@pytest.mark.parametrize("path", chapter_notebooks(), **NOTEBOOK_IDS)
def test_chapter_shows_only_public_names(path):
    shown = shown_objects(json.loads(path.read_text())["cells"])
    wrong = []
    for item in shown:
        problem = item.problem or publicity_problem(item.module, item.attributes)
        if problem:
            wrong.append(f"{path.relative_to(ROOT).as_posix()} cell {item.cell}: {item.call}: {problem}")
    assert not wrong, "chapters display non-public names:\n" + "\n".join(wrong)


def test_the_chapters_show_library_source_at_all():
    # The parametrised test above passes vacuously if the scan finds no calls.
    shown = [item for path in chapter_notebooks() for item in shown_objects(json.loads(path.read_text())["cells"])]
    assert len(shown) >= 15, f"only {len(shown)} show_source calls found: is the scan broken?"
    assert any(len(item.attributes) >= 2 for item in shown), "no dotted path (a method, a module attribute) resolved"


def _code_cell(source: str) -> dict:
    return {"cell_type": "code", "source": source}


@pytest.fixture
def probe_package(tmp_path, monkeypatch):
    """A small package ``bookprobe`` whose API is known: what the check must accept and refuse."""
    package = tmp_path / "bookprobe"
    package.mkdir()
    (package / "__init__.py").write_text(
        '__all__ = ["Public", "exported", "dumps"]\n'
        "from json import dumps\n\n"
        "class Public:\n    def method(self):\n        pass\n\n    def _hidden(self):\n        pass\n\n"
        "def exported():\n    pass\n\n"
        "def not_listed():\n    pass\n"
    )
    (package / "plain.py").write_text("def helper():\n    pass\n")  # no __all__
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "bookprobe"
    for name in [m for m in sys.modules if m.split(".")[0] == "bookprobe"]:
        del sys.modules[name]


def _problem_of(source: str, package: str) -> str | None:
    [item] = shown_objects([_code_cell(source)])
    return item.problem or publicity_problem(item.module, item.attributes, package)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from bookprobe import Public\nshow_source(Public._hidden)", r"private parts \['_hidden'\]"),
        ("import bookprobe\nshow_source(bookprobe._secret)", r"private parts \['_secret'\]"),
        ("from bookprobe import not_listed\nshow_source(not_listed)", r"bookprobe\.__all__ does not list 'not_listed'"),
        ("from bookprobe.plain import helper\nshow_source(helper)", r"bookprobe\.plain declares no __all__"),
        ("import bookprobe\nshow_source(bookprobe.plain.helper)", r"bookprobe\.plain declares no __all__"),
        ("from bookprobe import Public\nshow_source(Public.no_such_method)", "does not exist"),
        ("from bookprobe import dumps\nshow_source(dumps)", "defined in json, not in bookprobe"),
        ("import json\nshow_source(json.dumps)", "not from bookprobe"),
        ("def mine():\n    pass\nshow_source(mine)", "'mine' is not imported"),
        ("import bookprobe\nshow_source(getattr(bookprobe, 'Public'))", "not a dotted name"),
        ("%matplotlib inline\nimport bookprobe\nshow_source(bookprobe)", "is a module"),
    ],
)
def test_the_publicity_check_catches(probe_package, source, expected):
    problem = _problem_of(source, probe_package)
    assert problem is not None and re.search(expected, problem), problem


@pytest.mark.parametrize(
    "source",
    [
        "from bookprobe import Public\nshow_source(Public.method)",
        "import bookprobe\nshow_source(bookprobe.Public)",
        "from bookprobe import exported as shown\nshow_source(shown)",
        "from lstmlib.show import source_of\nfrom bookprobe import Public\nsource_of(Public)",
    ],
)
def test_the_publicity_check_accepts(probe_package, source):
    assert _problem_of(source, probe_package) is None


@pytest.mark.parametrize(
    "source",
    [
        "import lstmlib.nn\nshow_source(lstmlib.nn.LSTM.run_layer)",
        "from lstmlib.reference import lstm_cell_forward as cell\nshow_source(cell)",
        "from lstmlib import nn\nshow_source(nn.LSTM)",
        "from lstmlib.show import source_of\nfrom lstmlib.models import CharNGram\nsource_of(CharNGram.probabilities)",
    ],
)
def test_the_publicity_check_accepts_lstmlib_names(source):
    items = [item for item in shown_objects([_code_cell(source)]) if item.problem is None]
    assert items
    for item in items:
        assert publicity_problem(item.module, item.attributes) is None, item


# ---------------------------------------------------------------- labels: defined once, every reference resolves


def test_every_label_is_defined_once():
    twice = {label: [_where(p) for p in places] for label, places in labels_defined(PAGES).items() if len(places) > 1}
    assert not twice, f"equation labels defined more than once: {twice}"


def test_every_eq_reference_in_the_pages_resolves():
    defined = labels_defined(PAGES)
    dangling = {
        label: [_where(p) for p in places] for label, places in labels_referenced(PAGES).items() if label not in defined
    }
    assert not dangling, f"{{eq}} references to labels no page defines: {dangling}"


@pytest.mark.parametrize("label", sorted(KEY_LABELS))
def test_key_equation_is_labelled_in_its_chapter(label):
    defined = labels_defined(PAGES)
    assert label in defined, f"no page labels the equation {label!r} (expected in chapter {KEY_LABELS[label]})"
    [(page, _)] = defined[label]
    assert page.suffix == ".ipynb" and chapter_number(page) == KEY_LABELS[label], (
        f"{label!r} is defined in {page.relative_to(ROOT)}, expected in chapter {KEY_LABELS[label]}"
    )


# ---------------------------------------------------------------- code -> book: docstrings name the section


def test_every_docstring_label_is_defined_in_the_chapter_it_names():
    defined = labels_defined(PAGES)
    titles = {chapter_number(p): p for p in chapter_notebooks()}
    wrong = []
    for link in docstring_links():
        if link.label not in defined:
            wrong.append(f"{link.owner}: :eq:`{link.label}` is defined by no chapter")
            continue
        if link.chapter is None:
            wrong.append(f"{link.owner}: :eq:`{link.label}` is not on a line 'Book: :eq:`LABEL` (chapter N.M, Title).'")
            continue
        [(page, _)] = defined[link.label]
        if chapter_number(page) != link.chapter:
            wrong.append(
                f"{link.owner}: :eq:`{link.label}` says chapter {link.chapter}, "
                f"the label is in {chapter_number(page)} ({page.name})"
            )
        elif link.title not in headings(titles[link.chapter]):
            wrong.append(
                f"{link.owner}: chapter {link.chapter} has no title or heading {link.title!r}; "
                f"its title is {headings(titles[link.chapter])[0]!r}"
            )
    assert not wrong, "docstrings that point into the book wrongly:\n" + "\n".join(wrong)


def test_every_key_label_is_named_by_a_docstring():
    named = {link.label for link in docstring_links()}
    unnamed = sorted(set(KEY_LABELS) - named)
    assert not unnamed, (
        f"key equations whose computing function does not name them in its docstring: {unnamed}; "
        "add 'Book: :eq:`LABEL` (chapter N.M, Title).' to its first paragraph"
    )


def test_the_docstring_scan_reads_book_lines(tmp_path):
    package = tmp_path / "lstmlib"
    package.mkdir()
    (package / "cell.py").write_text(
        'def step():\n    """One step.\n\n'
        '    Book: :eq:`lstm-step` (chapter I.2,\n    Anatomy of an LSTM unit).\n    """\n\n'
        'class Layer:\n    def back(self):\n        """Back. Book: :eq:`bptt`, :eq:`lstm-step-backward` '
        '(chapter I.3, How it works)."""\n\n'
        'def loose():\n    """See :eq:`rnn-step`."""\n'
    )
    assert docstring_links(package) == [
        DocstringLink("lstmlib/cell.py::step", "lstm-step", "I.2", "Anatomy of an LSTM unit"),
        DocstringLink("lstmlib/cell.py::Layer.back", "bptt", "I.3", "How it works"),
        DocstringLink("lstmlib/cell.py::Layer.back", "lstm-step-backward", "I.3", "How it works"),
        DocstringLink("lstmlib/cell.py::loose", "rnn-step", None, None),
    ]
