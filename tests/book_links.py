"""The links between the book and the library, read from the sources (no build, no kernel).

* Book -> code: the objects a chapter displays with ``show_source`` (or reads with
  ``source_of``), resolved through the chapter's own imports to a dotted path such as
  ``lstmlib.nn.LSTM.run_layer``, and whether that path is public API.
* Code -> book: the equation labels a chapter defines (``$$ ... $$ (label)``, MyST
  dollarmath), the ``{eq}`` references of the pages, and the ``:eq:`` labels that
  docstrings in ``lstmlib`` name on their ``Book:`` line.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import types
from dataclasses import dataclass
from pathlib import Path

from book_files import CHAPTERS, ROOT

PACKAGE = ROOT / "lstmlib"
SOURCE_DISPLAYS = ("show_source", "source_of")  # lstmlib.show: both print a library object's source
PART_NUMERALS = {"part1": "I", "part2": "II", "part3": "III", "part4": "IV"}

# $$ ... $$ (label): the label dollarmath gives a display (on the closing line).
EQUATION_LABEL = re.compile(r"\$\$[ \t]*\(([A-Za-z0-9_.:-]+)\)[ \t]*$", re.MULTILINE)
# ```{math} ... :label: name: the directive form, accepted too.
MATH_DIRECTIVE_LABEL = re.compile(r"^[`:]{3,}\{math\}[^\n]*\n(?:[ \t]*:[a-z]+:[^\n]*\n)*?[ \t]*:label:[ \t]*(\S+)",
                                  re.MULTILINE)
EQ_REFERENCE = re.compile(r"\{eq\}`([^`<>]+)`")
DOCSTRING_EQ = re.compile(r":eq:`([^`]+)`")
# Book: :eq:`lstm-step` (chapter I.2, Anatomy of an LSTM unit).  -- several :eq: allowed before the bracket
BOOK_LINE = re.compile(r"Book:\s+((?::eq:`[^`]+`(?:,?\s*(?:and\s+)?)?)+)\s*\(chapter\s+([IV]+\.\d+),\s*([^()]+?)\)\.")


def chapter_number(path: Path) -> str:
    """``chapters/part2-variants/05-gru.ipynb`` -> ``II.5``: the part's numeral and the file's number."""
    part = PART_NUMERALS[path.parent.name.split("-")[0]]
    return f"{part}.{int(path.name.split('-')[0])}"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def markdown_of(path: Path) -> list[tuple[int, str]]:
    """``(cell index, text)`` of every markdown cell of a notebook, or ``[(0, text)]`` of a ``.md`` page."""
    if path.suffix == ".md":
        return [(0, path.read_text())]
    return [(i, _source(c)) for i, c in enumerate(_cells(path)) if c["cell_type"] == "markdown"]


def headings(path: Path) -> list[str]:
    """The text of every markdown heading of a page (``# Title`` first)."""
    return [m.group(1).strip() for _, text in markdown_of(path)
            for m in re.finditer(r"^#{1,6}\s+(.+)$", text, re.MULTILINE)]


def labels_defined(pages: list[Path]) -> dict[str, list[tuple[Path, int]]]:
    """Every equation label -> the ``(page, cell index)`` places that define it."""
    found: dict[str, list[tuple[Path, int]]] = {}
    for page in pages:
        for index, text in markdown_of(page):
            for pattern in (EQUATION_LABEL, MATH_DIRECTIVE_LABEL):
                for label in pattern.findall(text):
                    found.setdefault(label, []).append((page, index))
    return found


def labels_referenced(pages: list[Path]) -> dict[str, list[tuple[Path, int]]]:
    """Every label that a ``{eq}`` role in the pages refers to -> where."""
    found: dict[str, list[tuple[Path, int]]] = {}
    for page in pages:
        for index, text in markdown_of(page):
            for label in EQ_REFERENCE.findall(text):
                found.setdefault(label.strip(), []).append((page, index))
    return found


@dataclass(frozen=True)
class DocstringLink:
    """One ``:eq:`` label named in a docstring of ``lstmlib``; ``chapter``/``title`` from its ``Book:`` line."""

    owner: str  # lstmlib/nn/gru.py::gru_cell
    label: str
    chapter: str | None  # "II.5", or None where the label is not on a well-formed Book: line
    title: str | None


def _docstrings(node: ast.AST, owner: str, prefix: str = ""):
    """``(owner, docstring)`` of a module and of every class and function in it (methods included), in order."""
    if prefix == "" and (doc := ast.get_docstring(node)) is not None:
        yield owner, doc
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{child.name}"
            if (doc := ast.get_docstring(child)) is not None:
                yield f"{owner}::{name}", doc
            yield from _docstrings(child, owner, f"{name}.")


def docstring_links(package: Path = PACKAGE) -> list[DocstringLink]:
    """Every ``:eq:`` label in a docstring of the package, with the chapter its ``Book:`` line gives."""
    links = []
    for file in sorted(package.rglob("*.py")):
        relative = file.relative_to(package.parent).as_posix()
        for owner, doc in _docstrings(ast.parse(file.read_text()), relative):
            flat = " ".join(doc.split())
            on_book_lines = {}
            for match in BOOK_LINE.finditer(flat):
                for label in DOCSTRING_EQ.findall(match.group(1)):
                    on_book_lines[label] = (match.group(2), match.group(3).strip())
            for label in DOCSTRING_EQ.findall(flat):
                chapter, title = on_book_lines.get(label, (None, None))
                links.append(DocstringLink(owner, label, chapter, title))
    return links


# ---------------------------------------------------------------- show_source


@dataclass(frozen=True)
class ShownObject:
    """One ``show_source(...)`` (or ``source_of(...)``) call of a chapter."""

    cell: int
    call: str  # the call as written, e.g. show_source(lstmlib.nn.LSTM.run_layer)
    module: str | None  # the module the chapter imports the head name from, e.g. "lstmlib"
    attributes: tuple[str, ...]  # the rest of the path, e.g. ("nn", "LSTM", "run_layer")
    problem: str | None = None  # why the call could not be resolved to an import


def _python_of(cell_source: str) -> str:
    """A code cell as Python: IPython magics and shell escapes become blank lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines())


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` -> ``["a", "b", "c"]``; ``None`` for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def shown_objects(cells: list[dict]) -> list[ShownObject]:
    """Every source display of a notebook's code cells, resolved through the imports above it."""
    imported: dict[str, tuple[str, tuple[str, ...]]] = {}  # local name -> (module, attributes)
    shown = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse(_python_of(_source(cell)))
        for node in ast.walk(tree):  # imports first: a cell may import and show at once
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imported[alias.asname] = (alias.name, ())
                    else:  # `import lstmlib.nn` binds `lstmlib`
                        head = alias.name.split(".")[0]
                        imported[head] = (head, ())
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    imported[alias.asname or alias.name] = (node.module, (alias.name,))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in SOURCE_DISPLAYS):
                continue
            call = ast.get_source_segment(_python_of(_source(cell)), node) or node.func.id
            path = _dotted(node.args[0]) if len(node.args) == 1 and not node.keywords else None
            if path is None:
                shown.append(ShownObject(index, call, None, (), "its argument is not a dotted name"))
            elif path[0] not in imported:
                shown.append(ShownObject(index, call, None, tuple(path),
                                         f"{path[0]!r} is not imported in the chapter (defined there?)"))
            else:
                module, attributes = imported[path[0]]
                shown.append(ShownObject(index, call, module, attributes + tuple(path[1:])))
    return shown


def _submodule(module: types.ModuleType, name: str) -> types.ModuleType | None:
    """``module.name`` if it is a module (imported here if need be, as ``import a.b`` would), else ``None``."""
    if isinstance(getattr(module, name, None), types.ModuleType):
        return getattr(module, name)
    if not hasattr(module, "__path__"):  # a plain module has no submodules
        return None
    try:
        return importlib.import_module(f"{module.__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{module.__name__}.{name}":
            raise  # the submodule exists but fails to import: say so, do not call it an attribute
        return None


def publicity_problem(module_name: str, attributes: tuple[str, ...], package: str = "lstmlib") -> str | None:
    """Why ``module_name.attr1.attr2...`` is not public API of ``package``, or ``None`` if it is.

    Public means: every part of the path is a name without a leading underscore;
    the path descends through the package's modules to one object that the last of them
    lists in its ``__all__`` (a module without ``__all__`` exports nothing by this
    rule: it has not said what its API is); anything after that object is an
    attribute of it (a method of a public class), and the object displayed is
    defined in the package.
    """
    full = ".".join((module_name, *attributes))
    private = [part for part in (*module_name.split("."), *attributes) if part.startswith("_")]
    if private:
        return f"{full} has private parts {private}"
    if module_name.split(".")[0] != package:
        return f"{full} is not from {package}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        return f"module {module_name} cannot be imported: {error}"
    rest = list(attributes)
    while rest and _submodule(module, rest[0]) is not None:  # `import lstmlib` then lstmlib.nn.LSTM
        module = _submodule(module, rest.pop(0))
    if not rest:
        return f"{full} is a module, not a function or class"
    exported = getattr(module, "__all__", None)
    if exported is None:
        return f"{module.__name__} declares no __all__, so {rest[0]!r} is not exported; list it in __all__"
    if rest[0] not in exported:
        return f"{module.__name__}.__all__ does not list {rest[0]!r}"
    obj = module
    for name in rest:
        if not hasattr(obj, name):
            return f"{full} does not exist ({getattr(obj, '__name__', obj)!r} has no attribute {name!r})"
        obj = getattr(obj, name)
    home = inspect.getmodule(obj)
    if home is None or home.__name__.split(".")[0] != package:
        return f"{full} is defined in {getattr(home, '__name__', 'an unknown module')}, not in {package}"
    return None


def report() -> str:
    """Every equation label: where it is defined, how many ``{eq}`` references it has, which docstrings name it."""
    pages = sorted(CHAPTERS.rglob("*.ipynb")) + [ROOT / "notation.md"]
    defined, referenced = labels_defined(pages), labels_referenced(pages)
    named: dict[str, list[str]] = {}
    for link in docstring_links():
        named.setdefault(link.label, []).append(link.owner)
    rows = ["label | defined in | {eq} references | named by docstrings"]
    for label in sorted(set(defined) | set(named) | set(referenced)):
        places = ", ".join(f"{p.relative_to(ROOT).as_posix()} cell {c}" for p, c in defined.get(label, []))
        rows.append(f"{label} | {places or '-'} | {len(referenced.get(label, []))} | "
                    f"{', '.join(named.get(label, [])) or '-'}")
    return "\n".join(rows)


if __name__ == "__main__":  # python tests/book_links.py
    print(report())
