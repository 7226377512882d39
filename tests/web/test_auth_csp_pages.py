"""The Content-Security-Policy works with what the pages really load: vendored assets only, no CDN.

Every HTML page the app serves on a plain GET (enumerated from ``app.url_map``, routes without
arguments) and every map document they frame is fetched and parsed:

* scripts, stylesheets, images, fonts and frames come from the app itself (``/static/...`` or
  ``data:``), never from another host;
* each inline ``<script>`` carries this response's CSP nonce, unless the response's policy allows
  inline scripts (Folium map documents, see docs/SECURITY.md);
* ``frame-ancestors`` is always set: ``'none'`` for pages, ``'self'`` for documents framed by the app;
* ``object-src 'none'``, ``base-uri 'self'``, ``form-action 'self'``, ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask

from registry import create_app

SKIP = {"auth.logout", "coverage.compare_page"}  # compare needs ?a=&b= (two saved runs)


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (tag, url)
        self.inline: list[str | None] = []  # nonce of each inline script
        self.frames: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            if a.get("src"):
                self.refs.append((tag, a["src"] or ""))
            elif (a.get("type") or "text/javascript") in ("text/javascript", "module", "application/javascript"):
                self.inline.append(a.get("nonce"))
        elif tag == "link" and "stylesheet" in (a.get("rel") or "") or tag == "link" and a.get("rel") == "icon":
            self.refs.append((tag, a.get("href") or ""))
        elif tag in ("img", "source", "embed") and a.get("src"):
            self.refs.append((tag, a["src"] or ""))
        elif tag == "iframe" and a.get("src"):
            self.frames.append(a["src"] or "")


def _page_urls() -> list[str]:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "postgresql+psycopg://n@127.0.0.1:1/n"})
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or ()) or rule.endpoint in SKIP:
            continue
        if rule.rule.startswith(("/api", "/ogc", "/static")) or "." in rule.rule.rsplit("/", 1)[-1]:
            continue
        urls.append(rule.rule)
    return sorted(urls)


PAGES = _page_urls()


def _same_origin(url: str) -> bool:
    return url.startswith("data:") or (url.startswith("/") and not url.startswith("//")) or \
        not re.match(r"^[a-z][a-z0-9+.-]*:|^//", url, re.IGNORECASE)


def _directives(csp: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else "" for part in csp.split("; ")}


def _check_document(client, url: str, framed: bool) -> list[str]:  # type: ignore[no-untyped-def]
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    if "text/html" not in resp.content_type:
        return []
    csp = _directives(resp.headers["Content-Security-Policy"])
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'self'"
    assert csp["form-action"] == "'self'" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert csp["frame-ancestors"] == ("'self'" if framed else "'none'"), (url, csp["frame-ancestors"])
    for name in ("script-src", "style-src", "connect-src", "font-src"):
        assert not re.search(r"https?:|//", csp[name]), (url, name, csp[name])
    parser = _Assets()
    parser.feed(resp.get_data(as_text=True))
    for tag, ref in parser.refs:
        assert _same_origin(ref), f"{url}: <{tag}> loads {ref} from another host"
    inline_ok = "'unsafe-inline'" in csp["script-src"]
    nonce = re.search(r"'nonce-([^']+)'", csp["script-src"])
    for found in parser.inline:
        assert inline_ok or (nonce and found == nonce.group(1)), f"{url}: inline script without this response's nonce"
    for frame in parser.frames:
        assert _same_origin(frame), f"{url}: frames {frame}"
    return parser.frames


@pytest.mark.parametrize("url", PAGES)
def test_page_assets_fit_the_policy(app: Flask, login_as, url: str) -> None:  # type: ignore[no-untyped-def]
    client = login_as("admin")  # sees every page (and the write buttons)
    for frame in _check_document(client, url, framed=url.endswith("/frame")):
        _check_document(client, frame, framed=True)


def test_pages_were_found() -> None:
    assert {"/", "/login", "/map", "/coverage", "/site-selection", "/compliance"} <= set(PAGES)
