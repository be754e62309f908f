"""The book's own Sphinx extension (registered in ``_config.yml`` under ``local_extensions``).

* a launch hint under the title of every chapter notebook (:mod:`.launch_hint`);
* the ``{execution-times}`` directive, the table on the "Execution times" page
  (:mod:`.execution_times`), from what ``make notebooks`` recorded (:mod:`.records`);
* ``lstmbook.css`` on every page: outputs readable in the dark theme, and the styles of the
  two pieces above.
"""

from __future__ import annotations

from pathlib import Path

from .execution_times import ExecutionTimes, always_reread, init_env, merge_info, purge_doc
from .launch_hint import add_launch_hint

STATIC = Path(__file__).resolve().parent / "static"


def add_static_path(app, config) -> None:
    """``config-inited``: serve ``static/`` (lstmbook.css) from ``_static/``."""
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app):
    # JupyterLab's root under `make lab` (the Makefile's --notebook-dir); chapters live there.
    app.add_config_value("lstmbook_lab_folder", "chapters", "env")
    app.add_config_value("lstmbook_execution_times_page", "execution-times", "env")
    app.connect("config-inited", add_static_path)
    app.add_css_file("lstmbook.css")
    app.connect("doctree-read", add_launch_hint)
    app.add_directive("execution-times", ExecutionTimes)
    app.connect("builder-inited", init_env)
    app.connect("env-get-outdated", always_reread)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    return {"version": "1", "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
