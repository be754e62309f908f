/*
 * search-snippets.js -- readable snippets under the search results.
 *
 * Sphinx's search (searchtools.js) shows, under each result, 240 characters of the page's
 * main block as text: on this book that text began with the article's menus (".ipynb .pdf"),
 * the print-only contents and the launch hint, and every equation appeared as its TeX source
 * ("\(h_{t-1}\)"). This wraps Search.htmlToText so that the snippet is the page's own prose:
 * the menus, contents, hint and navigation are removed, display equations are left out and
 * inline ones are shown as plain symbols (h_t-1). Loaded on every page; it acts where the
 * search runs.
 */
(function () {
  "use strict";

  const NOT_PROSE = [
    ".bd-header-article", "#jb-print-docs-body", ".bd-sidebar-secondary", ".lstmbook-launch",
    ".prev-next-area", "footer", "div.math", ".cell_input", ".cell_output",
  ];

  // "\(\tilde c_{t-1}\)" -> "tilde c_t-1": delimiters, backslashes, braces and spacing commands out
  function plainMath(tex) {
    return tex
      .replace(/\\[()[\]]/g, "")
      .replace(/\\[,;:! ]/g, " ")
      .replace(/\\([a-zA-Z]+)/g, "$1")
      .replace(/[{}$]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }

  function patch() {
    // searchtools.js declares `const Search` at the top level: a global name, not a property of window
    const search = typeof Search === "undefined" ? undefined : Search; // eslint-disable-line no-undef
    if (!search || !search.htmlToText || search.htmlToText.lstmbook) return;
    const original = search.htmlToText;
    const readable = function (htmlString, anchor) {
      const page = new DOMParser().parseFromString(htmlString, "text/html");
      NOT_PROSE.forEach((query) => page.querySelectorAll(query).forEach((el) => el.remove()));
      page.querySelectorAll("span.math").forEach((el) => { el.textContent = plainMath(el.textContent); });
      return original.call(this, page.documentElement.outerHTML, anchor).replace(/\s+/g, " ");
    };
    readable.lstmbook = true;
    search.htmlToText = readable;
  }

  // this script comes before searchtools.js; by DOMContentLoaded both have run, and this listener,
  // added first, runs before the search starts
  document.addEventListener("DOMContentLoaded", patch);
})();
