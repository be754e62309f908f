"""The ``execution-times`` directive: a table of every chapter notebook in the toc with what
``make notebooks`` recorded about its last run (see :mod:`records`).

The table is computed while Sphinx reads the page, from the notebooks as they are on disk, and
the page is re-read on every build; so it always describes the notebooks that the book shows.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

from .records import date_text, environment_text, execution_record, seconds_text, status_text

# No "Part" column: the chapters are listed in reading order and their titles are the navigation's.
COLUMNS = ("Chapter", "Time", "Executed on", "Status")


def toc_documents(site_map) -> list[tuple[str, str | None]]:
    """Every document below the root of a sphinx-external-toc site map, in reading order,
    as ``(docname, caption of its top-level part)``."""
    found: list[tuple[str, str | None]] = []

    def walk(docname: str, part: str | None) -> None:
        for tree in site_map[docname].subtrees:
            for child in tree.files():
                caption = tree.caption if part is None else part
                found.append((child, caption))
                walk(child, caption)

    walk(site_map.root.docname, None)
    return found


def doc_link(docname: str, refdoc: str) -> addnodes.pending_xref:
    """A link to ``docname`` whose text Sphinx fills in with that page's title."""
    link = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget=f"/{docname}",
                                 refexplicit=False, refwarn=True, refdoc=refdoc)
    link += nodes.literal(text=docname)
    return link


def table(header: tuple[str, ...], rows: list[list[nodes.Node]], classes: list[str]) -> nodes.table:
    """A docutils table; a cell is a node or a string. Each cell has the class ``lstmbook-<column>``."""
    tgroup = nodes.tgroup(cols=len(header))
    tgroup += [nodes.colspec(colwidth=1) for _ in header]
    head, body = nodes.thead(), nodes.tbody()
    for section, section_rows in ((head, [header]), (body, rows)):
        for cells in section_rows:
            row = nodes.row()
            for name, cell in zip(header, cells, strict=True):
                entry = nodes.entry(classes=[f"lstmbook-{name.lower().replace(' ', '-')}"])
                entry += nodes.paragraph("", "", cell if isinstance(cell, nodes.Node) else nodes.Text(cell))
                row += entry
            section += row
    tgroup += head
    tgroup += body
    result = nodes.table(classes=classes)
    result += tgroup
    return result


class ExecutionTimes(SphinxDirective):
    """``{execution-times}``: the table, the total time, and the environments the chapters ran in."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.env
        env.lstmbook_execution_pages.add(env.docname)
        rows, timed, total, environments = [], 0, 0.0, {}
        for docname, _ in toc_documents(self.config.external_site_map):
            path = Path(env.doc2path(docname))
            if path.suffix != ".ipynb":
                continue
            env.note_dependency(str(path))
            record = execution_record(path)
            rows.append([doc_link(docname, env.docname), seconds_text(record), date_text(record),
                         status_text(record)])
            if "execution_seconds" in record:
                timed, total = timed + 1, total + record["execution_seconds"]
            environments.setdefault(environment_text(record), []).append(docname)
        if not rows:
            raise self.error("the toc lists no chapter notebooks")
        which = f"the {len(rows)} chapters" if timed == len(rows) else f"the {timed} chapters with a recorded time"
        summary = nodes.paragraph(text=f"Together {which} ran in {total:.1f} s.")
        return [table(COLUMNS, rows, ["lstmbook-execution-times"]), summary,
                self.environment_list(environments)]

    def environment_list(self, environments: dict[str, list[str]]) -> nodes.Node:
        """One sentence if every chapter ran in the same environment, else one item per environment."""
        if len(environments) == 1:
            (words,) = environments
            return nodes.paragraph(text=f"Every chapter ran with {words}.")
        items = nodes.bullet_list()
        for words, docnames in environments.items():
            paragraph = nodes.paragraph(text=f"{words}: ")
            for i, docname in enumerate(docnames):
                if i:
                    paragraph += nodes.Text(", ")
                paragraph += doc_link(docname, self.env.docname)
            items += nodes.list_item("", paragraph)
        return items


def always_reread(app, env, added, changed, removed) -> list[str]:
    """``env-get-outdated``: the pages with the table depend on every notebook and on the toc."""
    return sorted(env.lstmbook_execution_pages - set(removed))


def init_env(app) -> None:
    """``builder-inited``: the set of pages that hold the table, kept across incremental builds."""
    if not hasattr(app.env, "lstmbook_execution_pages"):
        app.env.lstmbook_execution_pages = set()


def purge_doc(app, env, docname: str) -> None:
    env.lstmbook_execution_pages.discard(docname)


def merge_info(app, env, docnames, other) -> None:
    env.lstmbook_execution_pages |= other.lstmbook_execution_pages & set(docnames)
