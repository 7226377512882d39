"""The one permission table: role -> permissions, endpoint -> permission, and its enforcement.

Everything that decides "may this person do this" reads this module:

* :data:`ROLE_PERMISSIONS` — what each role may do (anonymous included, see
  ``REGISTRY_ANONYMOUS_READ``);
* :data:`ENDPOINT_PERMISSIONS` — which permission each Flask endpoint needs,
  with ``blueprint.*`` entries covering every *write* endpoint of a blueprint;
* :func:`require` — decorator for a view (pages and API alike);
* :func:`enforce_request` — installed as a global ``before_request`` hook, so
  an endpoint is protected even when its author forgot the decorator: an
  unknown *write* endpoint (POST/PUT/PATCH/DELETE) needs :data:`DEFAULT_WRITE_PERMISSION`
  (admin only); an unknown *read* endpoint needs :data:`DEFAULT_READ_PERMISSION`;
* :data:`CLI_PERMISSIONS` and :func:`check_cli` — the same permissions for audited
  CLI writes (``--as USER`` or ``REGISTRY_USER``); every CLI command is either in
  :data:`CLI_PERMISSIONS`, an operator command (:data:`CLI_OPERATOR_COMMANDS`) or
  read-only (:data:`CLI_READ_COMMANDS`) — a test walks the click tree.

Refusals: an anonymous HTML request is redirected to ``/login?next=...``; an
anonymous API request (``/api``, ``/ogc`` or any request carrying a bearer
token) gets ``401`` JSON with ``WWW-Authenticate: Bearer``; a signed-in user
without the permission gets ``403`` (HTML page or JSON).  Every refusal carries
the header ``X-Registry-Denied: <permission>``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlencode

import click
from flask import Flask, current_app, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from registry.models import User

# --------------------------------------------------------------------------- the table
ANONYMOUS = "anonymous"
ROLES: tuple[str, ...] = ("viewer", "analyst", "clerk", "admin")
"""Roles in increasing order of power (each holds the permissions of the previous one)."""

PUBLIC = "public"
"""Pseudo-permission of endpoints anyone may call (``/login``, static files)."""

PERMISSIONS: dict[str, str] = {
    "facility.read": "read facilities: map, lists, detail pages, query API, OGC API (查看设施)",
    "coverage.read": "run coverage and site-selection analyses without saving them (覆盖分析)",
    "audit.read": "read facility histories and the audit trail (查看变更记录)",
    "account.self": "change one's own password and API tokens (管理本人账户)",
    "analysis.save": "save analyses and site selections (保存分析)",
    "facility.write": "create, edit, delete and restore facilities (编辑设施)",
    "facility.import": "import facility files and roll import batches back (导入设施)",
    "rules.admin": "configure compliance rules and targets, run full compliance checks, import reference and "
                   "population layers (配置规则)",
    "user.admin": "manage user accounts and roles (管理用户)",
    "system.admin": "backups, restores and any write endpoint missing from this table (系统管理)",
}
"""Every permission, with what it allows."""

_VIEWER = frozenset({"facility.read", "coverage.read", "audit.read", "account.self"})
_ANALYST = _VIEWER | {"analysis.save"}
_CLERK = _ANALYST | {"facility.write", "facility.import"}
_ADMIN = _CLERK | {"rules.admin", "user.admin", "system.admin"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    ANONYMOUS: frozenset({"facility.read", "coverage.read"}),  # only when REGISTRY_ANONYMOUS_READ=1
    "viewer": _VIEWER,  # planners: read, maps, coverage
    "analyst": _ANALYST,  # site-selection analysts: + saving analyses
    "clerk": _CLERK,  # data clerks: + create/edit/delete/import (optionally one district)
    "admin": _ADMIN,  # + users, rules, backups
}
"""Role -> permissions: THE table.  Anonymous rights apply only when anonymous read is on."""

DEFAULT_WRITE_PERMISSION = "system.admin"
"""Needed by a write endpoint that is in neither :data:`ENDPOINT_PERMISSIONS` nor decorated."""

DEFAULT_READ_PERMISSION = "facility.read"
"""Needed by a read (GET/HEAD) endpoint that is in neither :data:`ENDPOINT_PERMISSIONS` nor decorated."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ENDPOINT_PERMISSIONS: dict[str, str] = {
    # framework and sign-in
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    # own account
    "auth.password": "account.self",
    "auth.tokens_page": "account.self",
    "auth.token_revoke": "account.self",
    "auth.api_token_issue": "account.self",
    "auth.api_token_revoke": "account.self",
    "auth.api_me": "account.self",
    # user administration
    "auth.admin_users": "user.admin",
    "auth.admin_user_update": "user.admin",
    # read-only query API: searches are POSTed but only read
    "api.search": "facility.read",
    # facility editing (registry/web/facility_edit.py)
    "facility_edit.new": "facility.write",
    "facility_edit.edit": "facility.write",
    "facility_edit.delete": "facility.write",
    "facility_edit.restore": "facility.write",
    "facility_edit.revert": "facility.write",
    "facility_edit.api_create": "facility.write",
    "facility_edit.api_update": "facility.write",
    "facility_edit.api_delete": "facility.write",
    "facility_edit.api_restore": "facility.write",
    "facility_edit.api_revert": "facility.write",
    "facility_edit.history": "audit.read",
    "facility_edit.api_history": "audit.read",
    # imports (registry/web/imports.py): the upload form and staged previews are the clerk's own
    "imports.index": "facility.import",
    "imports.preview_report": "facility.import",
    "imports.batches": "audit.read",
    "imports.batch": "audit.read",
    "imports.batch_report": "audit.read",
    # whole blueprints of other areas: every WRITE endpoint of the blueprint
    "imports.*": "facility.import",
    "coverage.*": "analysis.save",
    "compliance.*": "rules.admin",
    "rules.*": "rules.admin",
}
"""Endpoint -> permission, for every method of that endpoint.

A ``"<blueprint>.*"`` key applies to the *write* methods of every endpoint of
that blueprint not listed by name.  A view decorated with :func:`require`
declares its own permission, which takes precedence (the permission-matrix
test checks that a decorator and this table never disagree).
"""


# --------------------------------------------------------------------------- questions
def anonymous_read_enabled(app: Flask | None = None) -> bool:
    """``REGISTRY_ANONYMOUS_READ`` (app config, else environment; default on)."""
    app = app or current_app
    value = app.config.get("REGISTRY_ANONYMOUS_READ")
    if value is None:
        value = os.environ.get("REGISTRY_ANONYMOUS_READ", "1")
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


def permissions_of(role: str | None, anonymous_read: bool = True) -> frozenset[str]:
    """Permissions held by ``role`` (``None`` or ``"anonymous"``: a visitor not signed in)."""
    if role is None or role == ANONYMOUS:
        return ROLE_PERMISSIONS[ANONYMOUS] if anonymous_read else frozenset()
    return ROLE_PERMISSIONS.get(role, frozenset())


def role_allows(role: str | None, permission: str, anonymous_read: bool = True) -> bool:
    """True when ``role`` may do what ``permission`` names (``PUBLIC``: everybody)."""
    return permission == PUBLIC or permission in permissions_of(role, anonymous_read)


def user_allows(user: User | None, permission: str, anonymous_read: bool = True) -> bool:
    """True when ``user`` (``None``: anonymous) holds ``permission``; inactive users hold nothing."""
    if user is not None and not user.is_active:
        return permission == PUBLIC
    return role_allows(None if user is None else user.role, permission, anonymous_read)


def can_edit_district(user: User | None, district_code: str | None) -> bool:
    """Whether a clerk limited to one district may write a facility of ``district_code``.

    Users without a district limit (``user.district_code`` empty) and admins
    may write anywhere; a limited clerk only inside their district.
    """
    if user is None:
        return False
    if user.role == "admin" or not user.district_code:
        return True
    return district_code == user.district_code


def declared_permission(view: Callable[..., Any] | None) -> str | None:
    """The permission a view declared with :func:`require`, if any."""
    return getattr(view, "required_permission", None)


def endpoint_permission(endpoint: str | None, method: str, view: Callable[..., Any] | None = None,
                        table: Mapping[str, str] = ENDPOINT_PERMISSIONS) -> str:
    """The permission a request to ``endpoint`` with ``method`` needs.

    Order: the view's :func:`require` declaration, the table entry for the
    endpoint, the ``blueprint.*`` entry (write methods only), then the defaults.
    """
    method = method.upper()
    if method == "OPTIONS":
        return PUBLIC
    declared = declared_permission(view)
    if declared:
        return declared
    if endpoint in table:
        return table[endpoint]
    is_write = method in WRITE_METHODS
    if endpoint and "." in endpoint and is_write:
        blueprint = endpoint.rsplit(".", 1)[0]
        wildcard = table.get(f"{blueprint}.*")
        if wildcard:
            return wildcard
    return DEFAULT_WRITE_PERMISSION if is_write else DEFAULT_READ_PERMISSION


def required_for_request() -> str | None:
    """The permission the current request needs (``None`` when no endpoint matched)."""
    if request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    return endpoint_permission(request.endpoint, request.method, view)


# --------------------------------------------------------------------------- enforcement
def wants_json() -> bool:
    """True for API-style requests: ``/api``, ``/ogc`` or carrying a bearer token."""
    from registry.auth.identity import bearer_token

    return request.path.startswith(("/api", "/ogc")) or bearer_token() is not None


def deny(permission: str, *, invalid_token: bool = False) -> Response:
    """The refusal response for the current request (401/redirect or 403)."""
    from registry.auth.identity import current_user

    user = current_user()
    anonymous = user is None
    if wants_json():
        status = 401 if anonymous else 403
        message = ("invalid or expired API token" if invalid_token else "authentication required") \
            if anonymous else f"permission {permission!r} required"
        resp = jsonify({"error": message, "status": status, "permission": permission})
        resp.status_code = status
        if anonymous:
            challenge = 'Bearer realm="registry"'
            if invalid_token:
                challenge += ', error="invalid_token"'
            resp.headers["WWW-Authenticate"] = challenge
    elif anonymous:
        target = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else request.path
        resp = redirect("/login?" + urlencode({"next": target}), code=302)
    else:
        from flask_babel import gettext as _

        html = render_template("error.html", code=403,
                               description=_("You do not have permission to do this (%(permission)s).",
                                             permission=permission))
        resp = Response(html, status=403, mimetype="text/html")
    resp.headers["X-Registry-Denied"] = permission
    return resp


def check_request(permission: str) -> Response | None:
    """``None`` if the current user holds ``permission``, else the refusal response."""
    from registry.auth.identity import current_user, token_was_invalid

    if token_was_invalid():
        return deny(permission, invalid_token=True)
    if user_allows(current_user(), permission, anonymous_read_enabled()):
        return None
    return deny(permission)


def enforce_request() -> Response | None:
    """Global ``before_request`` hook: the table applied to every request, then CSRF for writes."""
    permission = required_for_request()
    if permission is None:
        return None
    refused = check_request(permission)
    if refused is not None:
        return refused
    if request.method in WRITE_METHODS:
        from registry.auth.csrf import protect_request

        protect_request()
    return None


F = TypeVar("F", bound=Callable[..., Any])


def require(permission: str) -> Callable[[F], F]:
    """Decorator: the view needs ``permission`` (HTML and API alike).

    Examples
    --------
    >>> from flask import Blueprint
    >>> bp = Blueprint("imports", __name__)
    >>> @bp.post("/imports")
    ... @require("facility.import")
    ... def upload():
    ...     return "ok"
    >>> upload.required_permission
    'facility.import'
    """
    if permission != PUBLIC and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; expected one of: {', '.join(PERMISSIONS)}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            refused = check_request(permission)
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return cast(F, wrapped)

    return decorate


def write_endpoints(app: Flask) -> list[tuple[str, str, str]]:
    """Every (endpoint, method, rule) of ``app`` that accepts a write method."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


def table_conflicts(app: Flask) -> list[str]:
    """Endpoints whose :func:`require` declaration disagrees with :data:`ENDPOINT_PERMISSIONS`."""
    problems = []
    for endpoint, view in app.view_functions.items():
        declared = declared_permission(view)
        listed = ENDPOINT_PERMISSIONS.get(endpoint)
        if declared and listed and declared != listed:
            problems.append(f"{endpoint}: @require({declared!r}) but ENDPOINT_PERMISSIONS says {listed!r}")
    return problems


# --------------------------------------------------------------------------- CLI
CLI_PERMISSIONS: dict[str, str] = {
    # facilities
    "import": "facility.import",  # a --dry-run writes nothing and needs no --as
    "rollback": "facility.import",
    # compliance verdicts and the reference data the rules and analyses read
    "compliance check": "rules.admin",
    "reference import": "rules.admin",
    "reference delete": "rules.admin",
    "coverage import-layer": "rules.admin",
    # saved analyses (only with --save; without it these commands only read)
    "coverage run": "analysis.save",
    "coverage rerun": "analysis.save",
    "site-select": "analysis.save",
    # accounts (registry/commands/users.py): the first admin is created without --as
    "user add": "user.admin",
    "user set-role": "user.admin",
    "user disable": "user.admin",
    "user enable": "user.admin",
    "user password": "user.admin",  # one's own password: account.self
    "user token": "user.admin",  # a token for oneself: account.self
    # backups (registry/commands/backup.py): a restore into an empty database needs no --as
    "backup": "system.admin",
    "restore": "system.admin",
}
"""CLI command (as typed after ``registry``) -> the permission its writes need (``--as USER``)."""

CLI_OPERATOR_COMMANDS: frozenset[str] = frozenset({
    "db init", "db upgrade", "db downgrade", "db start", "db stop", "load-sample", "serve"})
"""Bootstrapping and operating commands: they run before any account exists (``db init``,
``load-sample``) or manage the server process; whoever runs them is the operator holding the
database credentials.  Not audited as a user, not checked against the table."""

CLI_READ_COMMANDS: frozenset[str] = frozenset({
    "db status", "batches", "export", "template", "compliance export", "compliance rules", "reference list",
    "coverage layers", "coverage runs", "coverage show", "coverage compare", "coverage export",
    "query near", "query nearest", "query within", "query polygon", "user list"})
"""Commands that only read the registry (or write files outside it): open to the operator."""


def cli_permission(command: str) -> str:
    """The permission the CLI write ``command`` needs (``KeyError`` for a command not in :data:`CLI_PERMISSIONS`)."""
    return CLI_PERMISSIONS[command]


class CliPermissionError(click.ClickException):
    """A CLI write refused by the permission table (exit code 2, no traceback)."""

    exit_code = 2


def cli_username(as_user: str | None) -> str | None:
    """The user a CLI write runs as: ``--as USER``, else ``$REGISTRY_USER``."""
    name = as_user or os.environ.get("REGISTRY_USER") or None
    return name.strip().lower() if name else None


def check_cli(session: Session, permission: str, as_user: str | None) -> User:
    """The :class:`User` a CLI write runs as, after checking ``permission`` in the table.

    Raises
    ------
    CliPermissionError
        When no user is given, the user does not exist or is disabled, or the
        role lacks ``permission``.
    """
    from sqlalchemy import select

    from registry.models import User

    if permission != PUBLIC and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    name = cli_username(as_user)
    if not name:
        raise CliPermissionError(
            f"this command changes the registry and is audited: say who you are with --as USER or "
            f"REGISTRY_USER=USER (needs permission {permission!r}) / 需要指定操作用户")
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        raise CliPermissionError(f"no user {name!r}; create one with: registry user add {name} --role ROLE")
    if not user.is_active:
        raise CliPermissionError(f"user {name!r} is disabled")
    if not user_allows(user, permission):
        raise CliPermissionError(f"user {name!r} (role {user.role}) lacks permission {permission!r} / 权限不足")
    return user



# --------------------------------------------------------------------------- documentation
def roles_table_markdown() -> str:
    """The role x permission table of docs/SECURITY.md, generated from :data:`ROLE_PERMISSIONS`.

    ``¹`` marks anonymous rights (only with ``REGISTRY_ANONYMOUS_READ``), ``²`` the district
    limit a clerk may carry.  ``tests/unit/test_auth_docs.py`` checks the page holds exactly this.
    """
    columns = (ANONYMOUS, *ROLES)
    lines = ["| permission | anonymous¹ | viewer | analyst | clerk | admin | what it allows |",
             "|---|---|---|---|---|---|---|"]
    for perm, text in PERMISSIONS.items():
        marks = []
        for role in columns:
            mark = "✓" if perm in ROLE_PERMISSIONS[role] else ""
            if mark and role == "clerk" and perm in ("facility.write", "facility.import"):
                mark += "²"
            marks.append(mark)
        what = text.split(" (")[0]
        lines.append(f"| `{perm}` | " + " | ".join(marks) + f" | {what} |")
    return "\n".join(lines)


def cli_table_markdown() -> str:
    """The CLI write -> permission table of docs/SECURITY.md, generated from :data:`CLI_PERMISSIONS`."""
    lines = ["| command | permission (`--as USER`) |", "|---|---|"]
    for command, perm in CLI_PERMISSIONS.items():
        lines.append(f"| `registry {command}` | `{perm}` |")
    return "\n".join(lines)
