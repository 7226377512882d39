"""CSRF protection for every form and every cookie-authenticated write (Flask-WTF).

Forms carry ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">``;
JavaScript sends the token of ``<meta name="csrf-token">`` in the
``X-CSRFToken`` header.  The check runs inside the global permission hook
(:func:`registry.auth.permissions.enforce_request`), *after* the permission
check, so an anonymous write is answered 401/redirect rather than "bad token".
Requests authenticated by an ``Authorization: Bearer`` token are exempt: a
browser never attaches that header by itself, so they cannot be forged
cross-site (and the cookie is ignored on them).
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

csrf = CSRFProtect()

__all__ = ["CSRFError", "csrf", "generate_csrf", "init_app", "protect_request"]


def init_app(app: Flask) -> None:
    """Install CSRF support; ``csrf_token()`` becomes available to every template."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked by enforce_request, after the permission
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    csrf.init_app(app)


def protect_request() -> None:
    """Validate the CSRF token of the current write request (raises :class:`CSRFError`, 400)."""
    from registry.auth.identity import bearer_token

    if bearer_token() is not None:
        return
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    csrf.protect()
