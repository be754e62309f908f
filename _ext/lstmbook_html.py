"""Sphinx extension: two fixes to the HTML of the book's pages (registered in ``_config.yml``).

* **Each inline script once.** Sphinx 7.4 keeps an inline script that an
  extension registers after the builder started (sphinx-thebe's
  ``const THEBE_JS_URL = ...``, sphinx-togglebutton's selector) twice: once
  from ``app.add_js_file`` with the file name ``None`` and once more, when it
  prepares writing, with the file name ``''`` (``HTML5Builder.prepare_writing``
  adds every registered asset again as ``filename or ''``), and the two do not
  compare equal. Every page then threw ``Uncaught SyntaxError: Identifier
  'THEBE_JS_URL' has already been declared``. We drop the repeats from each
  page's script list, comparing inline scripts by their body.
* **A valid colour mode for a first visit.** pydata-sphinx-theme starts from
  the mode stored in the reader's browser, else from the template variable
  ``default_mode`` (``html_context``), which is empty unless set, and then
  logs ``Got invalid theme mode: . Resetting to auto.`` as a console error.
  We default it to ``"auto"`` (follow the system), which is what the theme
  falls back to anyway; a ``default_mode`` set in ``_config.yml`` wins.
"""

from __future__ import annotations


def _same_script(script) -> tuple:
    # a str subclass (Sphinx's _JavaScript) with .filename, .priority and .attributes
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return filename, tuple(sorted((key, str(value)) for key, value in attributes.items()))


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep the first of scripts with the same file (or, for inline ones, the same body)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _same_script(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # the builder's own list, restored by Sphinx after each page


def default_colour_mode(app, config) -> None:
    context = dict(config.html_context or {})
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    config.html_context = context


def setup(app):
    app.connect("config-inited", default_colour_mode)
    # late, after the extensions that add page-specific scripts (myst-nb's widget scripts)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
