"""Who is making the current request: a session cookie (pages) or a bearer token (API).

:func:`load_identity` runs before every request.  A request carrying
``Authorization: Bearer ...`` is authenticated by that token ONLY (the cookie
is ignored, so a bad token is never rescued by a session); otherwise the
signed session cookie names the user.  Changing a password or role bumps
``User.session_version``, which signs every other session out.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask import g, request, session

from registry.models import User

if TYPE_CHECKING:
    from registry.audit import Actor

SESSION_USER = "uid"
SESSION_VERSION = "sv"


def bearer_token() -> str | None:
    """The bearer token of the current request, if it carries one."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or ""


def load_identity() -> None:
    """``before_request``: resolve the user once per request into ``g``."""
    g.auth_user = None
    g.auth_via = None
    g.auth_token_invalid = False
    if request.endpoint == "static":
        return
    token = bearer_token()
    if token is not None:
        from registry.auth.tokens import TOUCHED, authenticate_token
        from registry.db import get_session

        db = get_session()
        user = authenticate_token(db, token) if token else None
        if db.info.pop(TOUCHED, False):
            db.commit()  # keep last_used_at (at most one write per token every 5 minutes)
        if user is None:
            g.auth_token_invalid = True
        else:
            g.auth_user, g.auth_via = user, "api"
        return
    uid = session.get(SESSION_USER)
    if uid is None:
        return
    from registry.db import get_session

    user = get_session().get(User, uid)
    if user is None or not user.is_active or session.get(SESSION_VERSION) != user.session_version:
        session.pop(SESSION_USER, None)
        session.pop(SESSION_VERSION, None)
        return
    g.auth_user, g.auth_via = user, "web"


def current_user() -> User | None:
    """The signed-in user of this request, or ``None`` (anonymous)."""
    if "auth_user" not in g:
        load_identity()
    return g.auth_user


def token_was_invalid() -> bool:
    """True when the request carried a bearer token that is unknown, revoked or expired."""
    return bool(g.get("auth_token_invalid", False))


def auth_via() -> str | None:
    """``"web"`` (session), ``"api"`` (token) or ``None``."""
    return g.get("auth_via")


def login_user(user: User) -> None:
    """Start a fresh session for ``user`` (the old session's content is dropped: no fixation)."""
    session.clear()
    session[SESSION_USER] = user.id
    session[SESSION_VERSION] = user.session_version
    session.permanent = True
    user.last_login_at = dt.datetime.now(dt.UTC)
    g.auth_user, g.auth_via = user, "web"


def logout_user() -> None:
    """End the session — and every other session of the account.

    The session lives in a signed cookie that cannot be revoked on its own: a copy
    taken before signing out would stay valid until it expires.  Bumping
    ``session_version`` makes every earlier cookie of this user worthless.
    """
    user = g.get("auth_user")
    if user is not None and g.get("auth_via") == "web":
        from registry.db import get_session

        user.session_version += 1
        get_session().commit()
    session.clear()
    g.auth_user, g.auth_via = None, None


def remote_addr() -> str | None:
    """Client address (``request.remote_addr``; put ProxyFix in front when behind a proxy)."""
    return (request.remote_addr or None) and request.remote_addr[:64]


def request_actor() -> Actor:
    """The audit :class:`~registry.audit.Actor` of the current request."""
    from registry.audit import Actor

    user = current_user()
    if user is None:
        return Actor(name="anonymous", via="web", remote_addr=remote_addr())
    return Actor.of(user, auth_via() or "web", remote_addr())
