"""Security headers and cookie settings.

Every response gets a Content-Security-Policy, ``X-Content-Type-Options:
nosniff``, ``frame-ancestors 'none'`` + ``X-Frame-Options: DENY``,
``Referrer-Policy: same-origin`` and a restrictive ``Permissions-Policy``.

Scripts
    ``script-src 'self' 'nonce-…'``: vendored files under ``/static`` load,
    inline ``<script>`` runs only with this response's nonce.  Templates write
    ``<script nonce="{{ csp_nonce() }}">``; the inline scripts of a rendered
    Folium map (trusted builder output from :mod:`maps`) get it with the
    ``nonce_scripts`` filter: ``{{ parts.header|nonce_scripts }}``.
    A view that cannot do that may call :func:`allow_inline_scripts` (or use
    :func:`map_page`): that response then allows ``'unsafe-inline'`` scripts
    and no nonce — see docs/SECURITY.md for the trade-off.
Styles
    ``style-src 'self' 'unsafe-inline'``: Leaflet and Folium position every
    marker and popup with ``style`` attributes.
Images
    ``img-src 'self' data: blob:`` plus ``REGISTRY_CSP_IMG_SRC`` (space-separated
    tile hosts, for the optional online basemaps).
Framing
    ``frame-ancestors 'none'``; a map document meant to be shown in an
    ``<iframe>`` of the registry's own pages calls :func:`allow_framing_by_self`.

Cookies: ``SESSION_COOKIE_HTTPONLY``, ``SESSION_COOKIE_SAMESITE=Lax``;
``SESSION_COOKIE_SECURE`` from ``REGISTRY_SECURE_COOKIES=1`` (set it when served
over HTTPS; it also turns on HSTS).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, request
from markupsafe import Markup
from werkzeug.wrappers import Response

_SCRIPT_TAG = re.compile(r"(?m)^(\s*)<script(?![^>]*\bnonce=)")


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def csp_nonce() -> str:
    """The nonce of the current response (created on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def nonce_scripts(html: str) -> Markup:
    """Give every ``<script`` tag that starts a line of trusted HTML this response's nonce.

    Only for HTML the application itself rendered (a Folium map's header or
    body); never for user input, which must stay escaped.  Tags inside
    JavaScript strings (popup HTML) do not start a line and are left alone.
    """
    nonce = csp_nonce()
    return Markup(_SCRIPT_TAG.sub(lambda m: f'{m.group(1)}<script nonce="{nonce}"', str(html)))


def allow_inline_scripts() -> None:
    """Let this response run inline scripts without nonce (``'unsafe-inline'``; map pages only)."""
    g.csp_inline_scripts = True


def allow_framing_by_self() -> None:
    """Let this response be shown in an ``<iframe>`` of the registry's own pages."""
    g.csp_frame_self = True


F = TypeVar("F", bound=Callable[..., Any])


def map_page(view: F) -> F:
    """Decorator for a view whose Folium output cannot be given the nonce (see :func:`allow_inline_scripts`)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        allow_inline_scripts()
        return view(*args, **kwargs)

    return cast(F, wrapped)


def content_security_policy(nonce: str | None, inline_scripts: bool = False, frame_self: bool = False,
                            extra_img_src: str = "") -> str:
    """The CSP header value.

    >>> "frame-ancestors 'none'" in content_security_policy("abc")
    True
    >>> "'unsafe-inline'" in content_security_policy(None, inline_scripts=True).split("; ")[1]
    True
    """
    script = "'self' 'unsafe-inline'" if inline_scripts else f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    img = " ".join(part for part in ("'self' data: blob:", extra_img_src.strip()) if part)
    return "; ".join([
        "default-src 'self'",
        f"script-src {script}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {img}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'" if frame_self else "frame-ancestors 'none'",
    ])


def set_security_headers(response: Response) -> Response:
    """``after_request``: add the security headers to ``response``."""
    inline = bool(g.get("csp_inline_scripts"))
    frame_self = bool(g.get("csp_frame_self"))
    nonce = None if inline else g.get("csp_nonce")
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(
        nonce, inline, frame_self, current_app.config.get("REGISTRY_CSP_IMG_SRC", ""))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "SAMEORIGIN" if frame_self else "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), payment=(), usb=()"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if g.get("auth_user") is not None and request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"  # signed-in pages stay out of shared caches and history
    return response


def init_app(app: Flask) -> None:
    """Cookie settings, the nonce helpers for templates and the header hook."""
    cfg = app.config
    # Flask ships these keys with its own defaults: replace only values nobody configured.
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    if cfg.get("SESSION_COOKIE_SAMESITE") is None:
        cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    if not cfg.get("SESSION_COOKIE_SECURE"):
        cfg["SESSION_COOKIE_SECURE"] = _truthy(os.environ.get("REGISTRY_SECURE_COOKIES", "0"))
    if cfg.get("SESSION_COOKIE_NAME") == "session":
        cfg["SESSION_COOKIE_NAME"] = "registry_session"
    if cfg.get("PERMANENT_SESSION_LIFETIME") == dt.timedelta(days=31):
        cfg["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=8)
    app.config.setdefault("REGISTRY_CSP_IMG_SRC", os.environ.get("REGISTRY_CSP_IMG_SRC", ""))
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonce_scripts"] = nonce_scripts
    app.after_request(set_security_headers)
