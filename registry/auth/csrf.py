"""CSRF protection for every form and every cookie-authenticated write (Flask-WTF).

Forms carry ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">``;
JavaScript sends the token of ``<meta name="csrf-token">`` in the
``X-CSRFToken`` header.  The check runs inside the global permission hook
(:func:`registry.auth.permissions.enforce_request`), *after* the permission
check, so an anonymous write is answered 401/redirect rather than "bad token".

Which writes need the token (:func:`needs_token`):

* every request authenticated by the session cookie (``auth_via() == "web"``),
  pages and JSON API alike — that is what a cross-site forgery rides on;
* every HTML form post, even anonymous ones (``/login``: no login CSRF);
* NOT a JSON API request (``/api``, ``/ogc``) that the cookie does not
  authenticate: one carrying ``Authorization: Bearer`` (a browser never attaches
  that header by itself, and the cookie is ignored on it) or an anonymous one.
  An anonymous API request holds only the anonymous rights (read-only searches
  such as ``POST /api/facilities/search`` when anonymous read is on), which a
  forged request could not extend: the attacker could send it directly.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

csrf = CSRFProtect()

__all__ = ["CSRFError", "csrf", "generate_csrf", "init_app", "is_api_path", "needs_token", "protect_request"]

API_PREFIXES = ("/api", "/ogc")


def init_app(app: Flask) -> None:
    """Install CSRF support; ``csrf_token()`` becomes available to every template."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked by enforce_request, after the permission
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    csrf.init_app(app)


def needs_token() -> bool:
    """Whether the current write request must carry a valid CSRF token (see the module notes)."""
    from registry.auth.identity import auth_via, bearer_token

    if bearer_token() is not None:
        return False
    if auth_via() == "web":
        return True
    return not is_api_path(request.path)


def is_api_path(path: str) -> bool:
    """``/api``, ``/ogc`` or anything below them.

    >>> is_api_path("/api/facilities/search"), is_api_path("/ogc"), is_api_path("/apis")
    (True, True, False)
    """
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


def protect_request() -> None:
    """Validate the CSRF token of the current write request (raises :class:`CSRFError`, 400)."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if needs_token():
        csrf.protect()
