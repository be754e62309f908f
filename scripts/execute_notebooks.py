"""Re-execute the book's chapters in place (``make notebooks``).

Each notebook runs top to bottom in a fresh kernel from the notebook's own
folder, with the widget state stored in the file, so that the HTML book shows
widgets and every committed output comes from the code beside it. The wall
time of the run is kept in the notebook's metadata (``lstmbook.execution_seconds``).

Usage: python scripts/execute_notebooks.py [PATH ...]   (folders or .ipynb files)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def find_notebooks(paths: list[str]) -> list[Path]:
    """Every ``.ipynb`` under ``paths``, sorted, checkpoints excluded."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.suffix == ".ipynb":
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            raise SystemExit(f"not a notebook or folder: {path}")
    return sorted(found)


def execute(path: Path) -> float:
    """Execute ``path`` in place; return the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata.setdefault("lstmbook", {})["execution_seconds"] = round(seconds, 1)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    notebooks = find_notebooks(argv or ["chapters"])
    for path in notebooks:
        seconds = execute(path)
        print(f"{seconds:6.1f} s  {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
