"""A hint under each chapter's title: how to run this notebook on your own machine, from the
book's source archive (:mod:`.source_archive`).

Written into the page at build time (``doctree-read``) from the notebook's place in the
repository, so no notebook carries a copy and nbval never sees it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

from .records import execution_record
from .source_archive import COMMANDS, archive_link

TITLE = "Run this chapter yourself"

logger = logging.getLogger(__name__)


def lab_path(source: PurePosixPath, lab_folder: str) -> PurePosixPath | None:
    """The notebook's path in JupyterLab as ``make lab`` opens it (None if outside ``lab_folder``).

    source: the notebook's path relative to the book's root, e.g. ``chapters/part1/x.ipynb``.
    """
    if source.suffix != ".ipynb" or source.parts[:1] != (lab_folder,):
        return None
    return source.relative_to(lab_folder)


def hint_node(docname: str, source: PurePosixPath, in_lab: PurePosixPath, record: dict,
              times_page: str) -> nodes.admonition:
    """The hint as a docutils admonition; the link to ``times_page`` is resolved by Sphinx."""
    body = nodes.paragraph()
    body += nodes.Text("Download the book's source, ")
    body += archive_link(docname)
    body += nodes.Text(" (the chapters, lstmlib and the Makefile); then ")
    body += nodes.literal(text=COMMANDS[0])
    body += nodes.Text(" and ")
    body += nodes.literal(text=COMMANDS[1])
    body += nodes.Text(" open JupyterLab on the chapters, where this one is ")
    body += nodes.literal(text=str(in_lab))
    body += nodes.Text(" (")
    body += nodes.literal(text=str(source))
    body += nodes.Text(" in the repository).")
    seconds = record.get("execution_seconds")
    if seconds is not None:
        body += nodes.Text(f" It last ran in {seconds:.1f} s; see ")
    else:
        body += nodes.Text(" See ")
    link = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget=f"/{times_page}",
                                 refexplicit=True, refwarn=True, refdoc=docname)
    link += nodes.inline(text="Execution times")
    body += link
    body += nodes.Text(".")
    hint = nodes.admonition(classes=["tip", "lstmbook-launch"])
    hint += nodes.title(text=TITLE)
    hint += body
    return hint


def add_launch_hint(app, doctree: nodes.document) -> None:
    """``doctree-read``: put the hint right under the title of every chapter notebook."""
    env = app.env
    path = Path(env.doc2path(env.docname))
    source = PurePosixPath(path.relative_to(app.srcdir).as_posix())
    in_lab = lab_path(source, app.config.lstmbook_lab_folder)
    if in_lab is None:
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        logger.warning("a chapter must start with a title for the launch hint to go under it",
                       location=env.docname)
        return
    record = execution_record(path)
    section.insert(1, hint_node(env.docname, source, in_lab, record, app.config.lstmbook_execution_times_page))
