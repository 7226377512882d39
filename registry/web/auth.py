"""Sign-in, sign-out, own account (password, API tokens) and user administration.

Pages: ``/login``, ``/logout`` (POST), ``/account/password``, ``/account/tokens``,
``/admin/users``.  API: ``POST /api/auth/tokens`` (issue a token for the
signed-in user; the plaintext is in the response, once), ``DELETE
/api/auth/tokens/<id>``, ``GET /api/auth/me``.  Every endpoint's permission is
in :data:`registry.auth.permissions.ENDPOINT_PERMISSIONS` and is also declared
here with :func:`~registry.auth.permissions.require`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from registry import audit
from registry.auth import accounts, passwords, throttle, tokens
from registry.auth.identity import (
    current_user,
    login_user,
    logout_user,
    remote_addr,
    request_actor,
)
from registry.auth.permissions import PUBLIC, ROLES, permissions_of, require
from registry.db import get_session
from registry.models import ApiToken, District, User
from registry.web.errors import ApiError

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    home = url_for("pages.home")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


# --------------------------------------------------------------------------- sign in / out
@bp.route("/login", methods=["GET", "POST"])
@require(PUBLIC)
def login() -> str | BaseResponse | tuple[str, int, dict[str, str]]:
    """Sign-in form; throttled after repeated failures (see :mod:`registry.auth.throttle`)."""
    next_url = request.values.get("next", "")
    if request.method != "POST":
        return render_template("auth/login.html", next_url=next_url, error=None, username="")
    username = throttle.normalise_username(request.form.get("username", ""))
    password = request.form.get("password", "")
    session = get_session()
    addr = remote_addr()
    decision = throttle.check_login(session, username, addr)
    if not decision.allowed:
        minutes = max(1, round(decision.retry_after / 60))
        error = _("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=minutes)
        html = render_template("auth/login.html", next_url=next_url, error=error, username=username)
        return html, 429, {"Retry-After": str(decision.retry_after)}
    user = session.scalar(select(User).where(User.username == username)) if username else None
    if user is None:
        passwords.dummy_verify(password)
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password) and user.is_active
    throttle.record_attempt(session, username or "-", addr, ok)
    if not ok or user is None:
        session.commit()
        error = _("Wrong user name or password.")
        return render_template("auth/login.html", next_url=next_url, error=error, username=username), 401, {}
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    login_user(user)
    session.commit()
    return redirect(_safe_next(next_url))


@bp.post("/logout")
@require(PUBLIC)
def logout() -> BaseResponse:
    """End the session (POST with the CSRF token, so no page can sign you out)."""
    logout_user()
    return redirect(url_for("pages.home"))


# --------------------------------------------------------------------------- own account
@bp.route("/account/password", methods=["GET", "POST"])
@require("account.self")
def password() -> str | tuple[str, int]:
    """Change one's password; every other session of the user is signed out."""
    user = current_user()
    assert user is not None
    if request.method != "POST":
        return render_template("auth/password.html", error=None, done=False)
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    confirm = request.form.get("confirm_password", "")
    error = None
    if not passwords.verify_password(user.password_hash, current):
        error = _("The current password is wrong.")
    elif new != confirm:
        error = _("The two new passwords differ.")
    else:
        error = passwords.password_problem(new, user.username)
    if error:
        return render_template("auth/password.html", error=error, done=False), 400
    session = get_session()
    accounts.set_password(session, user, new, request_actor())
    login_user(user)  # this session stays signed in with the new version
    session.commit()
    return render_template("auth/password.html", error=None, done=True)


@bp.route("/account/tokens", methods=["GET", "POST"])
@require("account.self")
def tokens_page() -> str | tuple[str, int]:
    """List one's API tokens; create one (shown once)."""
    user = current_user()
    assert user is not None
    session = get_session()
    new_token = None
    error = None
    status = 200
    if request.method == "POST":
        try:
            days = int(request.form.get("lifetime_days") or tokens.DEFAULT_LIFETIME_DAYS)
            row, new_token = tokens.issue_token(session, user, request.form.get("name", ""), days)
            audit.record_event(session, request_actor(), "token.issue", "api_token", row.id,
                               {"name": (None, row.name), "prefix": (None, row.prefix)})
            session.commit()
        except ValueError as exc:
            error, status = str(exc), 400
    return render_template("auth/tokens.html", tokens=tokens.list_tokens(session, user), new_token=new_token,
                           error=error), status


@bp.post("/account/tokens/<int:token_id>/revoke")
@require("account.self")
def token_revoke(token_id: int) -> BaseResponse:
    """Revoke one of one's tokens."""
    _revoke_own(token_id)
    return redirect(url_for("auth.tokens_page"))


def _revoke_own(token_id: int) -> ApiToken:
    user = current_user()
    assert user is not None
    session = get_session()
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and user.role != "admin"):
        raise ApiError(f"no API token {token_id} of yours", "token_id", 404) if request.path.startswith("/api") \
            else _not_found()
    if tokens.revoke_token(session, token):
        audit.record_event(session, request_actor(), "token.revoke", "api_token", token.id,
                           {"revoked_at": (None, token.revoked_at)})
    session.commit()
    return token


def _not_found() -> Exception:
    from werkzeug.exceptions import NotFound

    return NotFound()


# --------------------------------------------------------------------------- API
@bp.post("/api/auth/tokens")
@require("account.self")
def api_token_issue() -> tuple[Response, int]:
    """Issue a token for the caller: ``{"name": "...", "lifetime_days": 90}`` -> ``{"token": ...}``."""
    user = current_user()
    assert user is not None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("the body must be a JSON object", "body")
    name = body.get("name")
    if not isinstance(name, str):
        raise ApiError("name (text) is required", "name")
    days = body.get("lifetime_days", tokens.DEFAULT_LIFETIME_DAYS)
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise ApiError("lifetime_days must be an integer or null", "lifetime_days")
    session = get_session()
    try:
        row, plaintext = tokens.issue_token(session, user, name, days)
    except ValueError as exc:
        raise ApiError(str(exc), "lifetime_days" if "lifetime" in str(exc) else "name") from None
    audit.record_event(session, request_actor(), "token.issue", "api_token", row.id,
                       {"name": (None, row.name), "prefix": (None, row.prefix)})
    session.commit()
    return jsonify({"id": row.id, "name": row.name, "token": plaintext, "prefix": row.prefix,
                    "expires_at": row.expires_at.isoformat() if row.expires_at else None}), 201


@bp.delete("/api/auth/tokens/<int:token_id>")
@require("account.self")
def api_token_revoke(token_id: int) -> Response:
    """Revoke a token of the caller (an admin may revoke anyone's)."""
    token = _revoke_own(token_id)
    return jsonify({"id": token.id, "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None})


@bp.get("/api/auth/me")
@require("account.self")
def api_me() -> Response:
    """Who the caller is and what the caller may do."""
    user = current_user()
    assert user is not None
    return jsonify({"username": user.username, "role": user.role, "district_code": user.district_code,
                    "permissions": sorted(permissions_of(user.role))})


# --------------------------------------------------------------------------- administration
def _districts() -> list[tuple[str, str]]:
    return [(a, n) for a, n in get_session().execute(
        select(District.adcode, District.name).where(District.level == "county").order_by(District.adcode))]


@bp.route("/admin/users", methods=["GET", "POST"])
@require("user.admin")
def admin_users() -> str | tuple[str, int]:
    """List accounts; create one (POST: username, role, district, password)."""
    session = get_session()
    error = None
    status = 200
    if request.method == "POST":
        try:
            accounts.create_user(session, request.form.get("username", ""), request.form.get("role", ""),
                        request.form.get("password", ""), request.form.get("district_code") or None,
                        request_actor(), display_name=request.form.get("display_name") or None)
            session.commit()
            flash(_("User created."))
        except ValueError as exc:
            session.rollback()
            error, status = str(exc), 400
    users = list(session.scalars(select(User).order_by(User.username)))
    return render_template("admin/users.html", users=users, roles=ROLES, districts=_districts(),
                           error=error), status


@bp.post("/admin/users/<int:user_id>")
@require("user.admin")
def admin_user_update(user_id: int) -> BaseResponse | tuple[str, int]:
    """Change a user's role, district limit, active flag or password."""
    session = get_session()
    user = session.get(User, user_id)
    if user is None:
        raise _not_found()
    try:
        accounts.update_user(
            session, user, request_actor(),
            role=request.form.get("role") or accounts.KEEP,
            district_code=request.form.get("district_code", accounts.KEEP),
            is_active=(request.form.get("is_active") == "1") if "is_active" in request.form else accounts.KEEP,
            new_password=request.form.get("new_password") or accounts.KEEP)
        session.commit()
        flash(_("User updated."))
    except ValueError as exc:
        session.rollback()
        users = list(session.scalars(select(User).order_by(User.username)))
        return render_template("admin/users.html", users=users, roles=ROLES, districts=_districts(),
                               error=str(exc)), 400
    return redirect(url_for("auth.admin_users"))
