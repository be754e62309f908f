"""Headless Chromium, driven over the DevTools protocol, for the browser test.

No WebDriver and no browser download: the system's Chromium (Debian's
``chromium`` package; ``.ci/install-browser`` installs it) is started with
``--remote-debugging-port=0``, and we talk to one of its tabs through a
WebSocket (``websocket-client``). Only what the test needs is here: load a
page, evaluate JavaScript, click, take a screenshot, and collect every console
error, uncaught exception and failed load of the page.

    with Chromium.start(profile_dir) as browser:
        page = browser.page()
        page.goto("http://127.0.0.1:8000/intro.html")
        page.evaluate("document.title")
        page.errors            # console errors since the last goto
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import websocket

# Debian and Ubuntu call it chromium or chromium-browser; Google's build, google-chrome.
BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM if set, else the first of :data:`BINARIES` on PATH."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((path for name in BINARIES if (path := shutil.which(name))), None)


class BrowserError(RuntimeError):
    """The browser did not start, did not answer, or a script threw."""


class Chromium:
    """A headless Chromium process with a fresh profile; use :meth:`start` as a context manager."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path):
        self.process, self.port, self.log = process, port, log

    @classmethod
    def start(cls, profile: Path, binary: str | None = None, timeout: float = 60.0) -> Chromium:
        binary = binary or find_chromium()
        if binary is None:
            raise BrowserError(f"no Chromium found (looked for $CHROMIUM and {', '.join(BINARIES)})")
        profile.mkdir(parents=True, exist_ok=True)
        port_file = profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a profile used before keeps the last port
        log = profile / "chromium.log"
        args = [
            binary, "--headless", "--remote-debugging-port=0", "--remote-allow-origins=*",
            f"--user-data-dir={profile}",
            # root (as on CI) cannot use Chromium's sandbox; containers often have a tiny /dev/shm
            "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--mute-audio", "--window-size=1280,900", "about:blank",
        ]
        with open(log, "wb") as sink:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)
        # Chromium writes the port it picked to DevToolsActivePort in the profile.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BrowserError(f"Chromium exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            lines = port_file.read_text().split() if port_file.exists() else []
            if lines and lines[0].isdigit():
                return cls(process, int(lines[0]), log)
            time.sleep(0.05)
        process.kill()
        raise BrowserError(f"Chromium did not open its DevTools port in {timeout} s:\n{log.read_text()[-3000:]}")

    def page(self) -> Page:
        """The first tab (Chromium opens one on about:blank)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        tab = next(t for t in targets if t["type"] == "page")
        return Page(tab["webSocketDebuggerUrl"])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Page:
    """One tab: commands go out as ``{"id", "method", "params"}``; events are kept in order."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True, enable_multithread=False)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    # -- the protocol ----------------------------------------------------------------------------

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        ident = next(self.ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, f"{method} to answer")
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})

    def wait_for_event(self, method: str, timeout: float = 30.0) -> dict:
        """The first event ``method`` not seen yet (events already kept count)."""
        for event in self.events:
            if event["method"] == method and not event.get("_taken"):
                event["_taken"] = True
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, f"the event {method}")
            if message.get("method") == method:
                message["_taken"] = True
                return message

    def _receive(self, deadline: float, what: str) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError(f"timed out waiting for {what}")
        self.ws.settimeout(remaining)
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise BrowserError(f"timed out waiting for {what}") from None
        if "method" in message:
            self.events.append(message)
        return message

    # -- what the test uses ----------------------------------------------------------------------

    def goto(self, url: str, timeout: float = 60.0) -> None:
        """Load ``url`` and wait for its load event; forget the events of the previous page."""
        self.events.clear()
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"could not load {url}: {result['errorText']}")
        self.wait_for_event("Page.loadEventFired", timeout)

    def evaluate(self, expression: str, timeout: float = 60.0):
        """The value of a JavaScript expression (promises are awaited); a thrown error raises."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True, "timeout": int(timeout * 1000)},
                           timeout=timeout + 5)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"the page's script threw: {text}")
        return result["result"].get("value")

    def click(self, x: float, y: float) -> None:
        """A left click at viewport coordinates (press and release), as a reader's mouse does it."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                   "buttons": 0 if kind == "mouseMoved" else 1,
                                                   "clickCount": 1})

    def screenshot(self, path: Path) -> None:
        """A PNG of what the tab shows (the viewport)."""
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"]))

    @property
    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads since the last :meth:`goto`."""
        found, urls = [], {}
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                urls[params["requestId"]] = params["request"]["url"]
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console.error: " + " ".join(
                    str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append("uncaught: " + (details.get("exception", {}).get("description")
                                             or details.get("text", "")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                found.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                found.append(f"load failed: {params.get('errorText')} {urls.get(params['requestId'], '')}")
        return found

    def close(self) -> None:
        self.ws.close()
