"""Accounts, roles, sessions, API tokens, CSRF and security headers.

:func:`init_app` wires everything on the Flask app (called from
:func:`registry.web.init_app`):

1. security headers and cookie settings (:mod:`registry.auth.security`);
2. CSRF (:mod:`registry.auth.csrf`), checked for every write;
3. ``before_request``: who is asking (:mod:`registry.auth.identity`), then the
   permission table for every endpoint (:func:`registry.auth.permissions.enforce_request`).

For a view: ``from registry.auth import require`` and ``@require("facility.import")``.
"""

from __future__ import annotations

from flask import Flask

from registry.auth.identity import current_user, request_actor
from registry.auth.permissions import (
    ENDPOINT_PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    check_cli,
    require,
)

__all__ = ["ENDPOINT_PERMISSIONS", "ROLES", "ROLE_PERMISSIONS", "check_cli", "current_user", "init_app",
           "request_actor", "require"]


def init_app(app: Flask) -> None:
    """Install authentication, authorisation, CSRF and security headers on ``app``."""
    from registry.auth import csrf, identity, permissions, security

    security.init_app(app)
    csrf.init_app(app)
    app.before_request(identity.load_identity)
    app.before_request(permissions.enforce_request)

    @app.context_processor
    def _auth_context() -> dict[str, object]:
        user = identity.current_user()
        anonymous_read = permissions.anonymous_read_enabled(app)
        return {
            "current_user": user,
            "can": lambda perm: permissions.user_allows(user, perm, anonymous_read),
        }
