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
REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)

# Runs in the page once it has loaded: waits (up to 30 s) until MathJax has typeset the page,
# the widget manager has drawn every stored view and the gate explorers are connected, and
# every image has loaded or failed; then reports what the test checks.
SETTLE_AND_REPORT = r"""
(async () => {
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
  };
})()
"""


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
    report = open_page(tab, site, "chapters/part3-applications/10-captioning.html")
    assert report["drawn"] == report["views"] >= 1 and not report["errors"]
    before = tab.evaluate(CAPTION_STEPPER_STATE)
    assert before["marked"] == [before["step"]] == [0] and before["loaded"] == [True]
    click_slider(tab, CAPTION_STEPPER + " .widget-slider .noUi-target", 0.7)
    after = tab.evaluate(CAPTION_STEPPER_STATE)
    assert after["step"] > 0 and after["marked"] == [after["step"]] and after["loaded"] == [True]
    assert not tab.errors
