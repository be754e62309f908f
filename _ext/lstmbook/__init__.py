"""The book's own Sphinx extension (registered in ``_config.yml`` under ``local_extensions``).

* a launch hint under the title of every chapter notebook (:mod:`.launch_hint`);
* the ``{execution-times}`` directive, the table on the "Execution times" page
  (:mod:`.execution_times`), from what ``make notebooks`` recorded (:mod:`.records`);
* ``lstm-book-source.zip`` at the root of the HTML site, the book's source, and the
  ``{source-archive}`` role that links it (:mod:`.source_archive`);
* bibliography labels that read like the author-year citations (:mod:`.bib_labels`);
* ``lstmbook/search-snippets.js`` on every page: search results quote the prose, not menus and TeX;
* ``lstmbook.css`` on every page: outputs readable in the dark theme, and the styles of the
  two pieces above.
"""

from __future__ import annotations

from pathlib import Path

from .bib_labels import register as register_bibliography_labels
from .execution_times import ExecutionTimes, always_reread, init_env, merge_info, purge_doc
from .launch_hint import add_launch_hint
from .source_archive import build_archive, source_archive_role

STATIC = Path(__file__).resolve().parent / "static"


def add_static_path(app, config) -> None:
    """``config-inited``: serve ``static/`` (lstmbook.css) from ``_static/``."""
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app):
    register_bibliography_labels()  # before sphinxcontrib-bibtex formats the bibliography
    # JupyterLab's root under `make lab` (the Makefile's --notebook-dir); chapters live there.
    app.add_config_value("lstmbook_lab_folder", "chapters", "env")
    app.add_config_value("lstmbook_execution_times_page", "execution-times", "env")
    app.connect("config-inited", add_static_path)
    app.add_css_file("lstmbook.css")
    app.add_js_file("lstmbook/search-snippets.js")
    app.connect("doctree-read", add_launch_hint)
    app.add_directive("execution-times", ExecutionTimes)
    app.add_role("source-archive", source_archive_role)
    app.connect("build-finished", build_archive)
    app.connect("builder-inited", init_env)
    app.connect("env-get-outdated", always_reread)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    return {"version": "1", "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
