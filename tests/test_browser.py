"""The book in a real browser: every page of ``_build/html`` in headless Chromium.

The build (tests/conftest.py's ``built_book``, shared with test_book_build.py)
is served on localhost and each page is opened once in Chromium, driven over
the DevTools protocol (tests/chromium.py). Every page must load with no
console error, uncaught exception or failed load; every equation must be
typeset by MathJax (no raw TeX left in the text); every image must have
loaded; and every widget whose state the chapter stored must be drawn. Then
the widgets must respond with no kernel: a click on a gate-explorer slider
changes the read-out to lstmlib.reference's numbers, and a click on a
time-stepper slider shows that step's frame.

What a reader at a desktop width (1280 px, the narrowest common laptop window)
must be able to read is checked on every page too: no display equation wider
than its column (test_no_equation_overflow), the text of no two adjacent table
cells touching (test_table_cells_apart), and no figure shrunk below
:data:`MIN_FIGURE_SCALE` of the size it was drawn at (test_figures_keep_their_size).

Skipped, saying why, where Chromium is not installed (``.ci/install-browser``
installs it). Set BOOK_SCREENSHOTS to a folder to keep the gate explorer's
before/after screenshots.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from book_files import ROOT
from chromium import Chromium, find_chromium

from lstmlib.reference import lstm_cell_forward
from lstmlib.widgets.gate_explorer import OUTPUT_KEYS, ROWS, SLIDER_KEYS, GateExplorer, bar_geometry

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on this machine (apt-get install chromium, or .ci/install-browser): "
    "the book is not checked in a browser",
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# The desktop width every page is laid out at, and what it must hold there.
DESKTOP_WIDTH = 1280
MIN_CELL_GAP_PX = 6          # between the text of two adjacent table cells (about 0.4 em)
MIN_FIGURE_SCALE = 0.7       # a figure shown smaller than this share of its drawn width has unreadable text
REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)

# What a reader at DESKTOP_WIDTH cannot read (a function of SETTLE_AND_REPORT, run once all is drawn):
# * overflowingMath: display equations whose typeset width exceeds the width of the block that holds
#   them (cut off, or scrolled sideways);
# * touchingCells: table rows in which the text of two adjacent cells is less than MIN_CELL_GAP_PX
#   apart ("LSTM cpu 1 12822.47" for H=128 and 22.47 ms); a cell's text is its text nodes and its
#   typeset math, whose hidden copy for screen readers has no place on the page;
# * shrunkFigures: images displayed at less than MIN_FIGURE_SCALE of their drawn width (the width
#   attribute where the output sets one, as for high-resolution figures; else the file's own).
LAYOUT = r"""
const layout = (images) => {
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const overflowingMath = [];
  for (const box of document.querySelectorAll('mjx-container[display="true"]')) {
    const math = box.querySelector("mjx-math");
    if (!visible(box) || !math) continue;
    // the container's own box can grow with what it holds (a flex item): its holder's is the room
    const holder = box.parentElement, style = getComputedStyle(holder);
    const room = holder.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const drawn = math.getBoundingClientRect().width;
    if (drawn > room + 1) {
      overflowingMath.push(`${Math.round(drawn)} px in ${Math.round(room)} px: ` +
                           (box.querySelector("mjx-assistive-mml") || box).textContent.slice(0, 60));
    }
  }
  const textSpan = (cell) => {       // [left, right] of what the cell shows, or null if it shows nothing
    const rects = [];
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT, {
      acceptNode: (node) => {
        if (node.nodeType === Node.ELEMENT_NODE) {
          if (node.matches("mjx-container, img, svg, canvas")) {
            rects.push(...node.getClientRects());
            return NodeFilter.FILTER_REJECT;
          }
          return node.matches("script, style") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_SKIP;
        }
        return node.nodeValue.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
      },
    });
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      rects.push(...range.getClientRects());
    }
    const shown = rects.filter((r) => r.width > 0 && r.height > 0);
    return shown.length ? [Math.min(...shown.map((r) => r.left)), Math.max(...shown.map((r) => r.right))] : null;
  };
  const touchingCells = [];
  for (const table of document.querySelectorAll(".bd-article table")) {
    if (!visible(table)) continue;
    for (const row of table.rows) {
      const spans = [...row.cells].map(textSpan);
      for (let k = 0; k + 1 < spans.length; k++) {
        if (spans[k] && spans[k + 1] && spans[k + 1][0] - spans[k][1] < %(gap)d) {
          touchingCells.push(`${row.textContent.replace(/\s+/g, " ").trim().slice(0, 70)} ` +
                             `(cells ${k + 1} and ${k + 2}: ${(spans[k + 1][0] - spans[k][1]).toFixed(1)} px apart)`);
          break;
        }
      }
    }
  }
  const shrunkFigures = images.filter((img) => visible(img) && img.naturalWidth > 0).flatMap((img) => {
    const drawnAt = Number(img.getAttribute("width")) || img.naturalWidth;
    const shown = img.getBoundingClientRect().width;
    return shown < %(scale)s * drawnAt ? [`${img.src.split("/").pop()}: ${Math.round(shown)} of ${drawnAt} px`] : [];
  });
  const band = document.querySelector(".bd-header");
  return {overflowingMath, touchingCells, shrunkFigures, viewport: window.innerWidth,
          topBand: band && visible(band) ? Math.round(band.getBoundingClientRect().height) : 0};
};
""" % {"gap": MIN_CELL_GAP_PX, "scale": MIN_FIGURE_SCALE}

# Runs in the page once it has loaded: waits (up to 30 s) until MathJax has typeset the page,
# the widget manager has drawn every stored view and the gate explorers are connected, and
# every image has loaded or failed; then reports what the test checks.
SETTLE_AND_REPORT = r"""
(async () => {
  %s
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = Date.now() + 30000;
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const drawn = () => views.filter((view) => {
    const area = view.previousElementSibling;   // the manager draws each view just before its script
    return area && area.classList.contains("widget-subarea") && area.firstElementChild && area.offsetHeight > 0;
  });
  while (drawn().length < views.length && Date.now() < deadline) await sleep(50);
  while (document.querySelector(".lstm-gate-explorer:not([data-lstm-live])") && Date.now() < deadline) await sleep(50);
  const images = [...document.images];
  images.forEach((img) => { img.loading = "eager"; });      // offscreen lazy images load too
  while (images.some((img) => !img.complete) && Date.now() < deadline) await sleep(50);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;

  // text a reader sees, outside code, scripts and typeset math
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => node.parentElement.closest("script, style, pre, code, textarea, mjx-container, .highlight")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const rawTex = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (/\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$/.test(node.nodeValue)) {
      rawTex.push(node.nodeValue.trim().slice(0, 80));
    }
  }
  const math = [...document.querySelectorAll(".math")];
  return {
    mathjax: Boolean(window.MathJax && MathJax.startup),
    math: math.length,
    untypeset: math.filter((m) => !m.querySelector("mjx-container")).map((m) => m.textContent.slice(0, 60)),
    texErrors: [...document.querySelectorAll("mjx-merror")].map((e) => e.textContent.slice(0, 60)),
    rawTex: rawTex,
    images: images.length,
    brokenImages: images.filter((img) => !img.complete || img.naturalWidth === 0).map((img) => img.src.slice(-80)),
    views: views.length,
    drawn: drawn().length,
    explorers: document.querySelectorAll(".lstm-gate-explorer").length,
    liveExplorers: document.querySelectorAll(".lstm-gate-explorer[data-lstm-live]").length,
    ...layout(images),
  };
})()
""" % LAYOUT


def book_pages(html: Path) -> tuple[list[str], dict[str, str]]:
    """The HTML pages of the build (paths relative to it), and the redirect pages with their targets."""
    pages, redirects = [], {}
    for path in sorted(html.rglob("*.html")):
        relative = path.relative_to(html).as_posix()
        if relative.startswith(("_static/", "_sources/")):
            continue
        redirect = REDIRECT.search(path.read_text(errors="replace")[:2000])
        if redirect:
            redirects[relative] = redirect.group(1)
        else:
            pages.append(relative)
    return pages, redirects


def stored_widget_views(page: str) -> int:
    """How many widget views the page's notebook stored with their state (0 for a Markdown page)."""
    notebook = ROOT / (page.removesuffix(".html") + ".ipynb")
    if not notebook.is_file():
        return 0
    nb = json.loads(notebook.read_text())
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return sum(
        1
        for cell in nb["cells"]
        for output in cell.get("outputs", [])
        if output.get("data", {}).get(WIDGET_VIEW, {}).get("model_id") in state
    )


@pytest.fixture(scope="module")
def site(built_book):
    """``built_book`` served on localhost: its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_book)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def tab(tmp_path_factory):
    """One tab of a fresh headless Chromium."""
    with Chromium.start(tmp_path_factory.mktemp("chromium-profile"), CHROMIUM) as browser:
        page = browser.page()
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": DESKTOP_WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        yield page
        page.close()


def open_page(tab, site, page: str) -> dict:
    tab.goto(site + page)
    report = tab.evaluate(SETTLE_AND_REPORT, timeout=45)
    report["errors"] = tab.errors
    return report


@pytest.fixture(scope="module")
def reports(built_book, site, tab) -> dict[str, dict]:
    """Every page opened once: what SETTLE_AND_REPORT found there, and its console errors."""
    pages, _ = book_pages(built_book)
    return {page: open_page(tab, site, page) for page in pages}


def failures(reports, check) -> dict[str, object]:
    return {page: found for page, report in reports.items() if (found := check(report))}


def test_every_page_is_checked(built_book, reports):
    pages, redirects = book_pages(built_book)
    print(f"\n{len(pages)} pages checked in Chromium; redirects: {redirects}")
    assert "intro.html" in pages and "chapters/part1-lstm/02-anatomy.html" in pages
    assert len(pages) >= 12
    for source, target in redirects.items():
        assert target in pages, f"{source} redirects to {target}, which is not a page"


def test_no_console_errors(reports):
    assert not failures(reports, lambda r: r["errors"]), "console errors"


def test_every_equation_is_typeset(reports):
    assert sum(r["math"] for r in reports.values()) > 100  # the book has equations, and they were found
    assert not failures(reports, lambda r: r["math"] and not r["mathjax"]), "math but no MathJax"
    assert not failures(reports, lambda r: r["untypeset"]), "equations MathJax did not typeset"
    assert not failures(reports, lambda r: r["texErrors"]), "TeX errors"
    assert not failures(reports, lambda r: r["rawTex"]), "raw TeX in the text"


def test_every_image_is_loaded(reports):
    assert sum(r["images"] for r in reports.values()) > 10
    assert not failures(reports, lambda r: r["brokenImages"]), "images that did not load"


def test_every_stored_widget_is_drawn(reports):
    expected = {page: stored_widget_views(page) for page in reports}
    assert sum(expected.values()) >= 3  # the gate explorer and two time steppers
    for page, report in reports.items():
        assert report["views"] == expected[page], (
            f"{page}: {report['views']} widget views, notebook has {expected[page]}"
        )
        assert report["drawn"] == report["views"], f"{page}: {report['drawn']} of {report['views']} widgets drawn"
        assert report["liveExplorers"] == report["explorers"], f"{page}: a gate explorer is not connected"


# -- what a reader at a desktop width can read --------------------------------------------------


def test_pages_are_laid_out_at_desktop_width(reports):
    assert {r["viewport"] for r in reports.values()} == {DESKTOP_WIDTH}


def test_no_empty_top_band(reports):
    # the theme's top bar held only a second search button (the article's bar has one)
    assert not failures(reports, lambda r: r["topBand"]), "the theme's top bar is shown"


def test_no_equation_overflow(reports):
    assert not failures(reports, lambda r: r["overflowingMath"]), (
        f"display equations wider than the column at {DESKTOP_WIDTH} px: break them over lines "
        "(an aligned environment) or put their annotations in the text")


def test_table_cells_apart(reports):
    assert not failures(reports, lambda r: r["touchingCells"]), (
        "table cells whose text touches: build output tables with lstmlib.viz.table")


def test_figures_keep_their_size(reports):
    assert not failures(reports, lambda r: r["shrunkFigures"]), (
        f"figures shown at less than {MIN_FIGURE_SCALE:.0%} of their width at {DESKTOP_WIDTH} px: draw them "
        "narrower (figsize width at most 10 inches at 100 dpi) or as a grid instead of a long row")


# -- the widgets respond without a kernel --------------------------------------------------------

EXPLORER_STATE = """
(() => {
  const explorer = document.querySelector(".lstm-gate-explorer");
  const values = {}, shown = {}, precise = {}, bars = {};
  for (const key of %s) {
    values[key] = Number(explorer.querySelector(".lstm-gate-" + key + " .noUi-target").noUiSlider.get());
  }
  for (const cell of explorer.querySelectorAll("td[data-key]")) {
    shown[cell.dataset.key] = cell.textContent;
    precise[cell.dataset.key] = cell.dataset.value === undefined ? null : Number(cell.dataset.value);
    const bar = cell.nextElementSibling.querySelector("div[data-low]").firstElementChild;
    bars[cell.dataset.key] = parseFloat(bar.style.width);
  }
  return {values: values, shown: shown, precise: precise, bars: bars,
          readout_x: explorer.querySelector(".lstm-gate-x_t .widget-readout").textContent,
          note: explorer.querySelector('td[data-note="c"]').textContent,
          weights: JSON.parse(explorer.querySelector(".lstm-gate-weights").textContent)};
})()
""" % json.dumps(list(SLIDER_KEYS))

# The slider labels of the first widget matching a selector, as a reader sees them: their text,
# whether their box cuts them off, whether they hold typeset math, and whether raw TeX ($, \() is left.
SLIDER_LABELS = """
(() => {
  // what the label draws: its text and its typeset math (not MathJax's hidden copy for screen readers,
  // which lies outside the box and would count as overflow)
  const drawn = (label) => [...label.childNodes].flatMap((node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const range = document.createRange();
      range.selectNodeContents(node);
      return [...range.getClientRects()];
    }
    return node.nodeType === Node.ELEMENT_NODE
      ? [node.matches("mjx-container") ? node.querySelector("mjx-math") || node : node]
        .map((el) => el.getBoundingClientRect()) : [];
  }).filter((r) => r.width > 0);
  return [...document.querySelector(%s).querySelectorAll(".widget-slider .widget-label")]
    .filter((label) => label.textContent.trim() && label.offsetParent !== null)
    .map((label) => {
      const box = label.getBoundingClientRect(), parts = drawn(label);
      return {text: label.textContent,
              clipped: parts.some((r) => r.left < box.left - 1 || r.right > box.right + 1),
              typeset: label.querySelector("mjx-container") !== null,
              rawTex: [...label.childNodes].some((n) => n.nodeType === Node.TEXT_NODE
                                                 && /[$]|\\\\[(]/.test(n.nodeValue))};
    });
})()
"""


def assert_labels_readable(tab, selector: str) -> None:
    """Every slider label whole, and its symbols typeset (HTML subscripts were stripped: "bf (forget)")."""
    labels = tab.evaluate(SLIDER_LABELS % json.dumps(selector))
    assert labels
    for label in labels:
        assert not label["clipped"] and not label["rawTex"], label
        assert label["typeset"], label


# Scrolls a slider of the first element matching `selector` into view; its track's box on screen.
SLIDER_BOX = """
(() => {
  const track = document.querySelector(%s);
  track.scrollIntoView({block: "center"});
  const box = track.getBoundingClientRect();
  return {x: box.x, y: box.y, width: box.width, height: box.height};
})()
"""


def click_slider(tab, selector: str, fraction: float) -> None:
    """Click a slider's track at ``fraction`` of its length, as a reader does; let the page redraw."""
    box = tab.evaluate(SLIDER_BOX % json.dumps(selector))
    tab.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
    tab.evaluate("new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50)))")


def reference_step(weights, values) -> dict[str, float]:
    """The 1-unit cell's step by lstm_cell_forward itself, built as GateExplorer.cell_params does."""
    explorer = GateExplorer(weights={gate: tuple(pair) for gate, pair in weights.items()})
    x_t, h_prev, c_prev = (np.array([[float(values[k])]]) for k in ("x_t", "h_prev", "c_prev"))  # (B=1, 1)
    h, c, cache = lstm_cell_forward(explorer.cell_params(values), x_t, h_prev, c_prev)
    step = {"f": cache["f"], "i": cache["i"], "g": cache["g"], "o": cache["o"], "c": c, "h": h}
    return {key: float(step[key][0, 0]) for key in OUTPUT_KEYS}


def assert_shows_the_reference(state):
    expected = reference_step(state["weights"], state["values"])
    for key in OUTPUT_KEYS:
        assert state["precise"][key] == pytest.approx(expected[key], rel=1e-12, abs=1e-14), key
        assert re.fullmatch(r"[+-]\d\.\d{3}", state["shown"][key]), state["shown"][key]
        assert abs(float(state["shown"][key]) - expected[key]) <= 5e-4 + 1e-12, key  # 3 decimals shown
        _, _, length = bar_geometry(expected[key], ROWS[key][2])
        assert state["bars"][key] == pytest.approx(length, abs=0.051), key
    kept, written = expected["f"] * state["values"]["c_prev"], expected["i"] * expected["g"]
    assert state["note"] == f"= {kept:+.3f} kept + {written:+.3f} written"


def screenshot_explorer(tab, path: Path) -> None:
    """The page, scrolled so that the gate explorer sits in the middle of the window."""
    tab.evaluate('document.querySelector(".lstm-gate-explorer").scrollIntoView({block: "center"})')
    tab.screenshot(path)


def test_gate_explorer_responds_in_the_page(site, tab, tmp_path):
    report = open_page(tab, site, "chapters/part1-lstm/02-anatomy.html")
    assert report["liveExplorers"] == report["explorers"] == 1 and not report["errors"]
    before = tab.evaluate(EXPLORER_STATE)
    assert before["weights"] == {gate: list(pair) for gate, pair in GateExplorer().weights.items()}
    assert_shows_the_reference(before)  # the page's numbers at the start
    assert_labels_readable(tab, ".lstm-gate-explorer")
    assert before["shown"] == {k: f"{v:+.3f}" for k, v in GateExplorer(initial=before["values"]).result.items()}
    screenshot_explorer(tab, tmp_path / "gate-explorer-before.png")

    click_slider(tab, ".lstm-gate-explorer .lstm-gate-x_t .noUi-target", 0.85)  # x_t to about +2.1
    moved = tab.evaluate(EXPLORER_STATE)
    assert moved["values"]["x_t"] > before["values"]["x_t"] + 1
    assert moved["readout_x"] == f"{moved['values']['x_t']:.2f}"
    assert moved["shown"] != before["shown"]
    assert_shows_the_reference(moved)

    click_slider(tab, ".lstm-gate-explorer .lstm-gate-b_f .noUi-target", 0.02)  # b_f to about -9.6
    closed = tab.evaluate(EXPLORER_STATE)
    assert closed["values"]["b_f"] < -9
    assert_shows_the_reference(closed)
    assert float(closed["shown"]["f"]) < 0.01 < float(moved["shown"]["f"])  # the forget gate shut
    screenshot_explorer(tab, tmp_path / "gate-explorer-after.png")
    assert not tab.errors

    if os.environ.get("BOOK_SCREENSHOTS"):
        keep = Path(os.environ["BOOK_SCREENSHOTS"])
        keep.mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, keep / shot.name)


STEPPER = ".widget-subarea:has(.lstm-ts)"  # the first time stepper on the page
STEPPER_STATE = (
    """
(() => {
  const stepper = document.querySelector("%s");
  const visible = [...stepper.querySelectorAll(".lstm-ts")].filter((frame) => frame.offsetParent !== null);
  return {step: Number(stepper.querySelector(".widget-slider .noUi-target").noUiSlider.get()),
          readout: stepper.querySelector(".widget-slider .widget-readout").textContent,
          frames: visible.map((frame) => frame.firstElementChild.textContent)};
})()
"""
    % STEPPER
)


def test_time_stepper_responds_in_the_page(site, tab):
    report = open_page(tab, site, "chapters/part1-lstm/03-how-it-works.html")
    assert report["drawn"] == report["views"] >= 1 and not report["errors"]
    assert_labels_readable(tab, STEPPER)
    before = tab.evaluate(STEPPER_STATE)
    assert len(before["frames"]) == 1 and before["frames"][0].startswith(f"t = {before['step']}")
    click_slider(tab, STEPPER + " .widget-slider .noUi-target", 0.6)
    after = tab.evaluate(STEPPER_STATE)
    assert after["step"] != before["step"] and after["readout"] == str(after["step"])
    assert len(after["frames"]) == 1 and after["frames"][0].startswith(f"t = {after['step']}")
    assert not tab.errors


TEMPERATURE = ".widget-subarea:has(.lstm-tx)"  # the temperature explorer of the language-model chapter
TEMPERATURE_STATE = (
    """
(() => {
  const explorer = document.querySelector("%s");
  const visible = [...explorer.querySelectorAll(".lstm-tx")].filter((frame) => frame.offsetParent !== null);
  return {readout: explorer.querySelector(".widget-slider .widget-readout").textContent,
          frames: visible.map((frame) => frame.firstElementChild.textContent),
          samples: visible.map((frame) => frame.querySelector("pre[data-sample]").textContent)};
})()
"""
    % TEMPERATURE
)


def test_temperature_explorer_responds_in_the_page(site, tab):
    report = open_page(tab, site, "chapters/part3-applications/01-language-model.html")
    assert report["drawn"] == report["views"] >= 1 and not report["errors"]
    before = tab.evaluate(TEMPERATURE_STATE)
    assert before["readout"] == "1" and len(before["frames"]) == 1
    assert before["frames"][0].startswith("τ = 1:")
    click_slider(tab, TEMPERATURE + " .widget-slider .noUi-target", 0.98)  # the hottest temperature
    after = tab.evaluate(TEMPERATURE_STATE)
    assert after["readout"] == "3" and len(after["frames"]) == 1
    assert after["frames"][0].startswith("τ = 3:") and after["samples"] != before["samples"]
    assert not tab.errors


# The search page's results for a query, once Sphinx's search has filled in their snippets.
SEARCH_SNIPPETS = r"""
(async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = Date.now() + 30000;
  const found = () => [...document.querySelectorAll("#search-results li")];
  while ((!found().length || found().some((li) => !li.querySelector("p.context")))
         && Date.now() < deadline) await sleep(100);
  await sleep(300);
  return found().map((li) => (li.querySelector("p.context") || {}).textContent || "");
})()
"""


def test_search_snippets_quote_the_prose(site, tab):
    # searchtools.js quoted the menus (".ipynb .pdf"), the print-only contents and TeX ("\(h_{t-1}\)");
    # _ext/lstmbook/static/lstmbook/search-snippets.js keeps the prose
    tab.goto(site + "search.html?q=forget+gate")
    snippets = tab.evaluate(SEARCH_SNIPPETS, timeout=45)
    assert len(snippets) >= 5, snippets
    assert all(snippet.strip() for snippet in snippets), "results without a snippet"
    for snippet in snippets:
        assert not re.search(r"\\[()\[\]]|\\[a-zA-Z]+|\$", snippet), f"TeX in a snippet: {snippet}"
        assert ".ipynb .pdf" not in snippet and "Run this chapter yourself" not in snippet, snippet
    assert not tab.errors


VIEWER = ".widget-subarea:has(.lstm-av)"  # the first attention viewer of the translation chapter
VIEWER_STATE = (
    """
(() => {
  const viewer = document.querySelector("%s");
  const visible = [...viewer.querySelectorAll(".lstm-av")].filter((frame) => frame.offsetParent !== null);
  return {index: viewer.querySelector("select").selectedIndex,
          outputs: visible.map((frame) => frame.querySelector("b").textContent),
          cells: visible.map((frame) => frame.querySelectorAll("td[data-t]").length)};
})()
"""
    % VIEWER
)
CHOOSE_SECOND = """
(() => {
  const select = document.querySelector("%s select");
  select.selectedIndex = 1;
  select.dispatchEvent(new Event("change", {bubbles: true}));
})()
""" % VIEWER


def test_attention_viewer_responds_in_the_page(site, tab):
    from lstmlib import pretrained

    report = open_page(tab, site, "chapters/part3-applications/04-translation-and-attention.html")
    assert report["drawn"] == report["views"] >= 1 and not report["errors"]
    before = tab.evaluate(VIEWER_STATE)
    assert before["index"] == 0 and len(before["outputs"]) == 1 and before["cells"][0] > 0
    assert before["outputs"] == ["Tuesday, December 7, 2021"]
    tab.evaluate(CHOOSE_SECOND)
    tab.evaluate("new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50)))")
    after = tab.evaluate(VIEWER_STATE)
    expected = pretrained.load("translate-de-en-dates").translate(["Samstag, 29. Februar 2020"])
    assert after["index"] == 1 and after["outputs"] == expected
    assert not tab.errors


CAPTION_STEPPER = ".widget-subarea:has(.lstm-cs [data-word])"  # the caption stepper of the captioning chapter
CAPTION_STEPPER_STATE = (
    """
(() => {
  const stepper = document.querySelector("%s");
  const marked = [...stepper.querySelectorAll("b[data-word]")].filter((word) => word.offsetParent !== null);
  const images = [...stepper.querySelectorAll("img")].filter((image) => image.offsetParent !== null);
  return {step: Number(stepper.querySelector(".widget-slider .noUi-target").noUiSlider.get()),
          marked: marked.map((word) => Number(word.dataset.word)),
          loaded: images.map((image) => image.complete && image.naturalWidth > 0)};
})()
"""
    % CAPTION_STEPPER
)


def test_caption_stepper_responds_in_the_page(site, tab):
    report = open_page(tab, site, "chapters/part3-applications/09-captioning.html")
    assert report["drawn"] == report["views"] >= 1 and not report["errors"]
    before = tab.evaluate(CAPTION_STEPPER_STATE)
    assert before["marked"] == [before["step"]] == [0] and before["loaded"] == [True]
    click_slider(tab, CAPTION_STEPPER + " .widget-slider .noUi-target", 0.7)
    after = tab.evaluate(CAPTION_STEPPER_STATE)
    assert after["step"] > 0 and after["marked"] == [after["step"]] and after["loaded"] == [True]
    assert not tab.errors
