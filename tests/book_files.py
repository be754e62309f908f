"""Where the book's pages are: the toc's entries and the chapter notebooks on disk."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"


def toc_files() -> list[str]:
    """Every ``file:`` (and the root) of ``_toc.yml``, as written there (no suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return found


def chapter_pages(suffixes: tuple[str, ...] = (".ipynb", ".md")) -> list[Path]:
    """Every page source under ``chapters/`` with one of ``suffixes``, checkpoints excluded."""
    return sorted(
        p for p in CHAPTERS.rglob("*") if p.suffix in suffixes and ".ipynb_checkpoints" not in p.parts
    )


def chapter_notebooks() -> list[Path]:
    """Every notebook under ``chapters/``."""
    return chapter_pages((".ipynb",))
