"""Show the library's own source inside a chapter.

The book never copies library code into its pages: a chapter calls
:func:`show_source` and the page displays the function as it is in
``lstmlib`` today, so book and library cannot drift apart (and nbval fails
when the library changes under a chapter that was not re-executed).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from IPython.display import Markdown

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def source_of(obj: Any) -> tuple[str, str, int, int]:
    """Return ``(source, relative_path, first_line, last_line)`` of a function, class or module."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj) or inspect.ismethod(obj)):
        raise TypeError(f"obj must be a function, method, class or module; got {type(obj).__name__}")
    obj = inspect.unwrap(obj)  # a decorated function: the source of the function itself, with its decorators
    lines, first = inspect.getsourcelines(obj)
    first = max(first, 1)  # modules report line 0
    path = Path(inspect.getsourcefile(obj)).resolve()
    try:
        shown = path.relative_to(_PACKAGE_ROOT).as_posix()
    except ValueError:
        shown = path.name
    return "".join(lines).rstrip("\n"), shown, first, first + len(lines) - 1


def show_source(obj: Any) -> Markdown:
    """Display ``obj``'s source as a highlighted code block with its file and line numbers.

    Returns an ``IPython.display.Markdown`` object: JupyterLab renders it
    directly and the Jupyter Book build renders it as MyST, with the theme's
    code highlighting.
    """
    source, path, first, last = source_of(obj)
    return Markdown(f"`{path}`, lines {first}–{last}:\n\n```python\n{source}\n```")
