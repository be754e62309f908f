"""The book's source as one download in the built site: ``lstm-book-source.zip``.

A reader of the HTML book gets everything ``make lab`` and ``make test`` need (the chapters,
``lstmlib``, the Makefile, the README, the pinned requirements, the tests, the book's own
extensions and vendored scripts) from a link on the intro page and in every chapter's launch
hint; a downloaded ``.ipynb`` alone cannot ``import lstmlib``. Written at the end of every HTML
build (``build-finished``), so ``make book`` and the test build both ship it.
"""

from __future__ import annotations

import fnmatch
import zipfile
from pathlib import Path, PurePosixPath

from docutils import nodes

ARCHIVE = "lstm-book-source.zip"
FOLDER = "lstm-book"  # what the archive unpacks into
# The top-level entries of the repository that the archive holds.
CONTENTS = (
    "Makefile", "README.md", "requirements.txt", "requirements-nodeps.txt", "pyproject.toml",
    "_config.yml", "_toc.yml", "intro.md", "notation.md", "bibliography.md", "execution-times.md",
    "references.bib", "nbval-sanitize.cfg", ".gitignore",
    "chapters", "lstmlib", "tests", "scripts", "benchmarks", "_ext", "vendor", ".ci",
)
# What a working copy holds that is no part of the source (as .gitignore says).
SKIP = ("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache", "*.egg-info", ".venv", "_build", ".DS_Store")
# The two commands beside every link.
COMMANDS = (f"unzip {ARCHIVE} && cd {FOLDER}", "make lab")


def archive_files(root: Path) -> list[PurePosixPath]:
    """Every file the archive holds, relative to ``root``, sorted (entries of CONTENTS that are absent are left out)."""
    found = []
    for entry in CONTENTS:
        path = root / entry
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = PurePosixPath(file.relative_to(root).as_posix())
            if not any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in SKIP):
                found.append(relative)
    return found


def write_archive(root: Path, target: Path) -> int:
    """Write the zip of :func:`archive_files` under ``FOLDER/`` to ``target``; return how many files it holds."""
    files = archive_files(root)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for relative in files:
            archive.write(root / relative, f"{FOLDER}/{relative}")
    return len(files)


def archive_uri(docname: str) -> str:
    """The archive's address relative to the page of ``docname`` (it sits at the site's root)."""
    return "../" * docname.count("/") + ARCHIVE


def archive_link(docname: str, text: str = ARCHIVE) -> nodes.reference:
    return nodes.reference("", "", nodes.literal(text=text), refuri=archive_uri(docname),
                           classes=["lstmbook-source-archive"])


def source_archive_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{source-archive}`<text>``` : a link to the archive (its file name as the text if empty)."""
    docname = inliner.document.settings.env.docname
    return [archive_link(docname, text.strip() or ARCHIVE)], []


def build_archive(app, exception) -> None:
    """``build-finished``: put the archive at the root of the HTML site."""
    if exception is None and app.builder.format == "html":
        write_archive(Path(app.srcdir), Path(app.outdir) / ARCHIVE)
