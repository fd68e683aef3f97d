"""Drive a real headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe:
commands on fd 3, replies on fd 4, NUL-separated JSON), so no extra package is needed.

`open_page` loads a file and returns what a reader's browser saw: console messages with their
level, uncaught exceptions, log entries, every network request, and a JSON value evaluated in the
page. It also takes screenshots of an element.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-pipe",
)


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageLog:
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    exceptions: list[str] = field(default_factory=list)
    log_entries: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything a clean page must not produce."""
        found = [f"console.{kind}: {text}" for kind, text in self.console if kind in ("error", "warning", "assert")]
        found += [f"exception: {text}" for text in self.exceptions]
        found += [f"log {level}: {text}" for level, text in self.log_entries if level in ("error", "warning")]
        return found

    def external_requests(self, page_url: str) -> list[str]:
        return [u for u in self.requests if u != page_url and not u.startswith(("data:", "blob:", "about:"))]


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends sit above fd 9, so moving them onto fds 3 and 4 cannot clobber them."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return ends[0], ends[1]


class Chromium:
    def __init__(self, binary: str):
        self._profile = tempfile.mkdtemp(prefix="mmrest-chromium-")
        cmd_read, self._cmd_write = _high_pipe()
        self._reply_read, reply_write = _high_pipe()
        # The shell puts our pipe ends on the fds Chromium expects, then becomes Chromium.
        script = f'exec "$0" "$@" 3<&{cmd_read} 4>&{reply_write} {cmd_read}<&- {reply_write}>&-'
        self._proc = subprocess.Popen(
            ["bash", "-c", script, binary, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            pass_fds=(cmd_read, reply_write), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(cmd_read)
        os.close(reply_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (OSError, TimeoutError, RuntimeError):
            self._proc.kill()
        self._proc.wait(timeout=20)
        os.close(self._cmd_write)
        os.close(self._reply_read)
        shutil.rmtree(self._profile, ignore_errors=True)

    def call(self, method: str, params: dict | None = None, *, session: str | None = None, timeout: float = 30) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._cmd_write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_event(self, method: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method:
                    return self._events.pop(i)
            self._events.append(self._receive(deadline))

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._events.append(self._receive(deadline))
        except TimeoutError:
            pass

    def take_events(self) -> list[dict]:
        events, self._events = self._events, []
        return events

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reply_read], [], [], left)[0]:
                raise TimeoutError("no message from Chromium in time")
            chunk = os.read(self._reply_read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)


@dataclass
class LoadedPage:
    url: str
    log: PageLog
    browser: Chromium
    session: str

    def evaluate(self, expression: str):
        result = self.browser.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def collect(self, seconds: float) -> None:
        """Wait `seconds` for late messages, then add this page's events to its log."""
        self.browser.drain(seconds)
        _collect([e for e in self.browser.take_events() if e.get("sessionId") == self.session], self.log)

    def screenshot(self, selector: str, path: Path) -> None:
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}; })()"
        )
        shot = self.browser.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": {**box, "scale": 1}},
            session=self.session,
        )
        path.write_bytes(base64.b64decode(shot["data"]))


def open_page(browser: Chromium, path: Path, *, ready: str, timeout: float = 60, width: int = 1280) -> LoadedPage:
    """Load `path`, wait until the JS expression `ready` is true (or time out), collect the log."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        browser.call(f"{domain}.enable", session=session)
    browser.call("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
    url = path.resolve().as_uri()
    browser.call("Page.navigate", {"url": url}, session=session)
    browser.wait_event("Page.loadEventFired", timeout)
    page = LoadedPage(url=url, log=PageLog(), browser=browser, session=session)
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"Boolean({ready})") and time.monotonic() < deadline:
        time.sleep(0.2)
    page.collect(1.0)
    return page


def _collect(events: list[dict], log: PageLog) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            log.console.append((params.get("type", ""), text))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            log.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            log.log_entries.append((entry.get("level", ""), f"{entry.get('text', '')} {entry.get('url', '')}"))
        elif method == "Network.requestWillBeSent":
            log.requests.append(params.get("request", {}).get("url", ""))
