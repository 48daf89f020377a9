"""`make report-check`: open chain reports (report.html) in headless Chromium and fail on what a reader would see go
wrong: a console error or an uncaught exception, a figure drawn at zero size (or not decoded), anything fetched
from outside the page (it must open offline), a job name broken across lines, a page wider than A4 when printed.
Each page's screenshot (PNG) and its A4 print (PDF) are kept under out/report-check/ for CI to keep as artifacts.

    python -m tools.report_check [--out out/report-check] [--no-samples] [REPORT.html ...]

Without arguments it renders tools/report_samples (1, 4 and 20 rounds; bounding boxes, image and text
classification; baselines on, "once" and off; a chain too small to auto-label) through the real code path, and
checks out/report.html too when `make demo` left one.

How: Chromium's DevTools protocol over --remote-debugging-pipe (file descriptors 3 and 4, NUL-separated JSON), so
no port is opened at all and only the standard library is needed. Console errors come from Runtime.consoleAPICalled,
Runtime.exceptionThrown and Log.entryAdded (which also reports resources that failed to load); Network events list
every request. Parsing `--enable-logging --v=1` output was the alternative: it mixes the browser's own noise with
the page's messages and its format is not stable, so it is not used.
"""

import argparse
import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SCREEN = {"width": 1280, "height": 900}
A4_PRINTABLE_PX = 703  # 210 mm less 2 x 12 mm margins, at 96 px per inch
A4_INCHES = (8.27, 11.69)
MAX_SHOT_HEIGHT = 16_000
TIMEOUT = 60.0

PAGE_FACTS = """(() => {
  const images = [...document.images].map(img => {
    const r = img.getBoundingClientRect();
    return {id: img.id || img.className || img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
            naturalHeight: img.naturalHeight, width: r.width, height: r.height};
  });
  const broken = [...document.querySelectorAll('.name')].filter(e => e.getClientRects().length > 1)
    .map(e => e.textContent.trim());
  const root = document.documentElement;
  return {images, broken, scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
          answer: (document.querySelector('#answer') || {}).innerText || ''};
})()"""


@dataclass
class Result:
    name: str
    problems: list[str] = field(default_factory=list)
    figures: int = 0
    screenshot: str = ""
    pdf: str = ""
    pdf_pages: int = 0


def find_chromium() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


class Browser:
    """One headless Chromium, driven over the DevTools pipe."""

    def __init__(self, binary: str, log: Path) -> None:
        self.profile = tempfile.mkdtemp(prefix="gtchain-report-check-")
        to_chrome_read, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_write = os.pipe()

        def pipes() -> None:
            """In the child, before exec: the protocol's fds are 3 (Chromium reads) and 4 (it writes). Both ends are
            first moved above 9, so neither dup2 can overwrite the other; os.pipe's fds are close-on-exec, dup2's
            copies are not, so Chromium inherits exactly these two (and stdio)."""
            reads, writes = (
                fcntl.fcntl(to_chrome_read, fcntl.F_DUPFD, 10),
                fcntl.fcntl(from_chrome_write, fcntl.F_DUPFD, 10),
            )
            os.dup2(reads, 3)
            os.dup2(writes, 4)

        arguments = [
            binary, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
            "--hide-scrollbars", f"--user-data-dir={self.profile}", "about:blank",
        ]  # fmt: skip
        self._log = log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (a fixed argument list, no shell)
            arguments, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, close_fds=False,
            preexec_fn=pipes,  # only fcntl and dup2 run there
        )  # fmt: skip
        os.close(to_chrome_read)
        os.close(from_chrome_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            self.call("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_chrome, self._from_chrome):
            os.close(fd)
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the DevTools pipe (exit {self.process.poll()})")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))
            self.events.append(answer)

    def wait_for(self, method: str, session: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method and e.get("sessionId") == session for e in self.events):
            return
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive in the next `seconds` (late console messages)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read(deadline))
        except TimeoutError:
            return


def _console_problems(events: list[dict[str, Any]], session: str) -> list[str]:
    problems = []
    for event in (e for e in events if e.get("sessionId") == session):
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems.append(f"console {params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            problems.append(
                f"uncaught exception: {details.get('exception', {}).get('description') or details.get('text')}"
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            problems.append(
                f"console error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip()
            )
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(("data:", "file:", "about:")):
                problems.append(f"fetched from outside the page (it must open offline): {url}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"a resource failed to load: {params.get('errorText')}")
    return problems


def _figure_problems(facts: dict[str, Any], where: str) -> list[str]:
    problems = []
    for image in facts["images"]:
        if not image["complete"] or image["naturalWidth"] == 0 or image["naturalHeight"] == 0:
            problems.append(f"{where}: figure {image['id']!r} was not decoded")
        elif image["width"] < 1 or image["height"] < 1:
            problems.append(
                f"{where}: figure {image['id']!r} is drawn at zero size ({image['width']}x{image['height']})"
            )
    return problems


def check_page(browser: Browser, html: Path, out: Path) -> Result:
    result = Result(html.stem if html.stem != "report" else f"{html.parent.name}-report")
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable", session=session)
    browser.call("Emulation.setDeviceMetricsOverride", {**SCREEN, "deviceScaleFactor": 1, "mobile": False},
                 session=session)  # fmt: skip
    browser.call("Page.navigate", {"url": html.resolve().as_uri()}, session=session)
    browser.wait_for("Page.loadEventFired", session)
    browser.drain(0.5)

    facts = browser.call("Runtime.evaluate", {"expression": PAGE_FACTS, "returnByValue": True}, session=session)
    screen = facts["result"]["value"]
    result.figures = len(screen["images"])
    result.problems += _figure_problems(screen, "on screen")
    result.problems += [f"job name broken across lines: {name}" for name in screen["broken"]]
    if not screen["answer"].strip():
        result.problems.append("the page does not open with its answer (#answer is empty)")

    metrics = browser.call("Page.getLayoutMetrics", session=session)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], MAX_SHOT_HEIGHT), "scale": 1}
    shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip},
                        session=session)  # fmt: skip
    result.screenshot = str(out / f"{result.name}.png")
    Path(result.screenshot).write_bytes(base64.b64decode(shot["data"]))

    # A4: the printable width, print styles; nothing may stick out sideways, and every figure still shows.
    browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
    a4 = {"width": A4_PRINTABLE_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
    browser.call("Emulation.setDeviceMetricsOverride", a4, session=session)
    printed = browser.call("Runtime.evaluate", {"expression": PAGE_FACTS, "returnByValue": True},
                           session=session)["result"]["value"]  # fmt: skip
    result.problems += _figure_problems(printed, "printed on A4")
    result.problems += [f"job name broken across lines on A4: {name}" for name in printed["broken"]]
    if printed["scrollWidth"] > printed["clientWidth"] + 1:
        result.problems.append(
            f"wider than A4 when printed: {printed['scrollWidth']} px on {printed['clientWidth']} px"
        )
    paper = {"paperWidth": A4_INCHES[0], "paperHeight": A4_INCHES[1], "printBackground": True,
             "preferCSSPageSize": True}  # fmt: skip
    pdf = browser.call("Page.printToPDF", paper, session=session)
    data = base64.b64decode(pdf["data"])
    result.pdf = str(out / f"{result.name}.pdf")
    Path(result.pdf).write_bytes(data)
    result.pdf_pages = data.count(b"/Type /Page") - data.count(b"/Type /Pages")

    result.problems = _console_problems(browser.events, session) + result.problems
    browser.call("Target.closeTarget", {"targetId": target})
    return result


def check_reports(pages: list[Path], out: Path, binary: str | None = None) -> list[Result]:
    binary = binary or find_chromium()
    if binary is None:
        raise SystemExit("no Chromium found (Debian: apt-get install chromium; `make report-check` installs it)")
    out.mkdir(parents=True, exist_ok=True)
    browser = Browser(binary, out / "chromium.log")
    try:
        return [check_page(browser, page, out) for page in pages]
    finally:
        browser.close()


def _sample_pages(directory: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT))
    from tools.report_samples import render, samples, write

    return [write(render(sample), directory) for sample in samples()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="report.html files to check (default: the samples)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "report-check")
    parser.add_argument("--no-samples", action="store_true", help="check only the pages given")
    args = parser.parse_args(argv)
    pages = list(args.pages)
    if not args.no_samples and not pages:
        pages = _sample_pages(args.out / "pages")
        demo = ROOT / "out" / "report.html"
        if demo.exists():
            pages.append(demo)
    results = check_reports(pages, args.out)
    (args.out / "results.json").write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
    failed = 0
    for r in results:
        state = "ok" if not r.problems else "FAILED"
        print(f"{state:6} {r.name}: {r.figures} figures, {r.pdf_pages} A4 pages; {r.screenshot}")
        for problem in r.problems:
            print(f"       {problem}")
        failed += bool(r.problems)
    print(f"{len(results) - failed} of {len(results)} reports render cleanly in Chromium; screenshots in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
