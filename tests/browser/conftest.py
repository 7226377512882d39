"""Browser tests: the app in a real HTTP server thread and a headless Chromium with no network.

* ``live_server`` serves ``create_app({"DATABASE_URL": pg_url})`` (its own
  connection pool, so it sees only committed data: the sample, plus what
  ``xss_facility`` commits and removes again).
* ``browser`` is the system Chromium (``/usr/bin/chromium``) driven by
  Playwright; ``playwright install`` is never needed.
* ``visit`` opens a page in a fresh context where every request that does
  not go to 127.0.0.1 is aborted, and records console errors, page errors,
  failed requests, HTTP errors and dialogs; ``log.assert_clean()`` fails the
  test on any of them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("REGISTRY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
XSS = "<img src=x onerror=alert(1)>"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(pg_url: str, sample_loaded: None) -> Iterator[str]:
    """Base URL of the app served by a werkzeug server thread on a free loopback port."""
    from sqlalchemy import create_engine

    from registry import create_app
    from registry.web import api

    # An engine of its own: tests that dispose the process-wide engine_for(pg_url) while this server
    # still runs (the CLI tests) would otherwise orphan a connection the server had checked out.
    engine = create_engine(pg_url, pool_pre_ping=True)
    app = create_app({"DATABASE_URL": pg_url, "DB_BIND": engine, "SECRET_KEY": "browser-tests",
                      "REGISTRY_ANONYMOUS_READ": "1"})
    server = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        engine.dispose()  # the server's pooled connections (else a ResourceWarning at exit)
        api.dispose_read_pools()


@pytest.fixture(scope="module")
def xss_facility(engine: Engine, sample_loaded: None) -> Iterator[int]:
    """A committed museum named ``<img src=x onerror=alert(1)>`` next to 二七广场, removed afterwards."""
    from registry.models import Facility, Museum
    from registry.spatial import update_facility_districts

    with Session(engine) as session:
        obj = Museum(source="browser-tests", external_id="xss-1", name=XSS, address=XSS, status="open",
                     geom="SRID=4326;POINT(113.6654 34.7579)", is_synthetic=True, category="thematic")
        session.add(obj)
        session.flush()
        session.execute(update_facility_districts([obj.id]))
        session.commit()
        fid = obj.id
    try:
        yield fid
    finally:
        with Session(engine) as session:
            session.execute(delete(Facility.__table__).where(Facility.id == fid))
            session.commit()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless system Chromium (fails, not skips, when it cannot start)."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set REGISTRY_CHROMIUM)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageLog:
    """Everything that went wrong while a page was open."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allowed_http_errors: set[str] = field(default_factory=set)

    def problems(self) -> dict[str, list[str]]:
        found = {
            "console errors": self.console_errors,
            "page errors": self.page_errors,
            "failed requests": self.failed_requests,
            "HTTP errors": [e for e in self.http_errors if not any(a in e for a in self.allowed_http_errors)],
            "blocked non-local requests": self.blocked,
            "dialogs (script ran!)": self.dialogs,
        }
        return {k: v for k, v in found.items() if v}

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, problems


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "file"):
        return True
    return parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1"


@pytest.fixture()
def visit(browser, live_server: str) -> Iterator[Callable[..., tuple[object, PageLog]]]:  # type: ignore[no-untyped-def]
    """``visit(path, width=1366, height=768, lang=None)`` -> (page, log) with the network cut off."""
    contexts = []

    def open_page(path: str, width: int = 1366, height: int = 768, wait: str = "load"):  # type: ignore[no-untyped-def]
        log = PageLog()
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)

        def route(r):  # type: ignore[no-untyped-def]
            if _is_local(r.request.url):
                r.continue_()
            else:
                log.blocked.append(r.request.url)
                r.abort("blockedbyclient")

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: log.failed_requests.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r: log.http_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

        def on_dialog(d):  # type: ignore[no-untyped-def]
            log.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        if path:
            page.goto(live_server + path, wait_until=wait)
        return page, log

    yield open_page
    for context in contexts:
        context.close()
