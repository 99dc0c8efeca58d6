"""Browser-test fixtures: a live Jixiao server and headless Debian Chromium driven by Playwright.

Rules (DESIGN.md): the browser is Debian's ``chromium`` launched through ``executable_path``,
never a downloaded one (no ``playwright install``); nothing may load from outside 127.0.0.1;
a skipped test is a defect, so a missing chromium fails the browser tests unless the run opts
out with ``JIXIAO_BROWSER_TESTS=0``, which deselects them.

The live server has its own app and its own SQLite file, migrated and loaded with the demo
district once per run; it is independent of the rolled-back ``session`` fixture of
tests/conftest.py, whose per-test transaction a second thread could not see. State written
by one browser test stays for the next, so tests should not depend on each other's leftovers.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from app.services.demo import DEMO_PASSWORD

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
BROWSER_DIR = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "test-artifacts"
OPT_OUT_VAR = "JIXIAO_BROWSER_TESTS"
LOCAL_HOSTS = frozenset({"127.0.0.1"})
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING_CHROMIUM = (
    "Debian's chromium was not found (/usr/bin/chromium or `chromium` on PATH): "
    "install Debian's chromium (apt-get install chromium). Browser tests never use a downloaded "
    f"browser. To leave them out of this run on purpose, set {OPT_OUT_VAR}=0."
)

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def chromium_executable() -> str | None:
    """Debian's chromium, or None when it is not installed."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _in_this_folder(item: pytest.Item) -> bool:
    return BROWSER_DIR in Path(str(item.path)).resolve().parents


# --- collection: the marker, and the explicit opt-out ---------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if _in_this_folder(item)]
    if not ours:
        return
    for item in ours:
        item.add_marker(pytest.mark.browser)
    if os.environ.get(OPT_OUT_VAR, "").strip() != "0":
        return  # a missing chromium then fails every browser test (see ``chromium_path``)
    config.hook.pytest_deselected(items=ours)
    items[:] = [item for item in items if not _in_this_folder(item)]
    reason = "" if chromium_executable() else " (chromium is not installed)"
    line = f"{OPT_OUT_VAR}=0: deselected {len(ours)} browser test(s){reason}"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line, yellow=True)
    else:
        print(line)


# --- reports on the item, so fixtures can react to a failed test ------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


def _artifact_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "test"


# --- the server ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = chromium_executable()
    if path is None:
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    return path


@contextmanager
def demo_server(
    tmp: Path, prepare: Callable[[Any], T] | None = None, name: str = "jixiao-live-server"
) -> Iterator[tuple[str, T | None]]:
    """A threaded Jixiao server on a fresh SQLite file with the demo district, and what ``prepare`` returned.

    ``prepare(session)`` runs after the demo is loaded and before serving (its work is committed): a
    module that needs history the shared ``live_server`` must not see (a simulated quarter, a driven
    month) builds its own server with it.
    """
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import db
    from app.services.demo import seed_demo

    application = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp}/browser.db",
            "WTF_CSRF_ENABLED": True,
            "SCHEDULER_ENABLED": False,
        }
    )
    with application.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo(db.session)
        prepared = prepare(db.session) if prepare is not None else None
        db.session.commit()
        db.session.remove()

    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", prepared
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with application.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>``) of a threaded Jixiao server with the demo district."""
    with demo_server(tmp_path_factory.mktemp("browser")) as (url, _):
        yield url


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@dataclass
class PageProblems:
    """What a page did that the district forbids: requests off the intranet, script errors."""

    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Let a test expect a console error matching ``pattern`` (a regular expression)."""
        self.allowed.append(re.compile(pattern))

    def unexpected_console_errors(self) -> list[str]:
        return [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https", "ws", "wss"}:
        return True  # data:, blob:, about: never leave the machine
    return parts.hostname in LOCAL_HOSTS


@pytest.fixture
def page_problems() -> PageProblems:
    """Foreign requests and console errors seen by ``page``; ``allow_console_error`` for expected ones."""
    return PageProblems()


@pytest.fixture
def page(browser: Any, live_server: str, page_problems: PageProblems, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (own cookies) in zh-CN at 1280x800, pointed at the live server.

    Fails the test at teardown if the page requested anything outside 127.0.0.1 or logged a
    console error / uncaught exception; saves ``test-artifacts/<test>.png`` when the test failed.
    """
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}, base_url=live_server)
    context.set_default_timeout(10_000)

    def _on_request(req: Any) -> None:
        if not _is_local(req.url):
            page_problems.foreign_requests.append(f"{req.method} {req.url}")

    # Record foreign requests, and abort them so a test never waits on an unreachable internet.
    context.on("request", _on_request)
    context.route(lambda url: not _is_local(url), lambda route: route.abort())

    pg = context.new_page()

    def _on_console(msg: Any) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            page_problems.console_errors.append(f"console: {msg.text} ({loc.get('url', '')})")

    pg.on("console", _on_console)
    pg.on("pageerror", lambda exc: page_problems.console_errors.append(f"pageerror: {exc}"))
    try:
        yield pg
    finally:
        problems: list[str] = []
        if page_problems.foreign_requests:
            problems.append(
                "requests outside 127.0.0.1 (the district runs on an intranet):\n  "
                + "\n  ".join(page_problems.foreign_requests)
            )
        if unexpected := page_problems.unexpected_console_errors():
            problems.append("browser console errors:\n  " + "\n  ".join(unexpected))
        if _failed(request.node) or problems:
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                shot = ARTIFACTS / f"{_artifact_name(request.node.name)}.png"
                pg.screenshot(path=str(shot), full_page=True)
            except Exception as exc:  # a crashed page must not hide the real failure
                problems.append(f"(could not save a screenshot: {exc})")
        context.close()
        if problems and not _failed(request.node):
            pytest.fail("\n".join(problems), pytrace=False)
        elif problems:
            print("\n".join(problems))


# --- logging in ----------------------------------------------------------------------------


def browser_login(page: Any, live_server: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form at /login and wait for the page the form leads to."""
    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#login-submit")


@pytest.fixture(name="browser_login")
def _browser_login_fixture() -> Callable[..., None]:
    """``browser_login(page, live_server, username, password=DEMO_PASSWORD)``."""
    return browser_login
