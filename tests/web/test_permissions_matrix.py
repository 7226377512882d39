"""The whole permission matrix: every write endpoint of the app x every role.

The endpoints are discovered from ``app.url_map`` (methods POST/PUT/PATCH/DELETE),
so an endpoint added by any blueprint is walked automatically: if it is in
neither ``ENDPOINT_PERMISSIONS`` nor decorated, the table's default applies
(admin only) and this test expects exactly that.  "Allowed" means the request
passed the gate (no 401/403, no redirect to /login, no ``X-Registry-Denied``)
and its CSRF token was accepted; the view itself may then answer 400/404 to
the empty body.
"""

from __future__ import annotations

import re
import uuid

import pytest
from flask import Flask
from werkzeug.routing import (
    AnyConverter,
    FloatConverter,
    IntegerConverter,
    Rule,
    UUIDConverter,
)

from registry import create_app
from registry.auth.permissions import (
    ANONYMOUS,
    DEFAULT_WRITE_PERMISSION,
    ENDPOINT_PERMISSIONS,
    PERMISSIONS,
    PUBLIC,
    ROLE_PERMISSIONS,
    endpoint_permission,
    role_allows,
    table_conflicts,
    write_endpoints,
)

ROLES = (ANONYMOUS, "viewer", "analyst", "clerk", "admin", "clerk@410103")
"""``clerk@410103``: a clerk limited to another district than the test data's (金水区 410105); the table
treats it as a clerk, the district refusals on real facilities are in test_permissions_district.py."""


def _login(login_as, role: str):  # type: ignore[no-untyped-def]
    if "@" in role:
        base, district = role.split("@")
        return login_as(base, district_code=district)
    return login_as(role)


def _table_role(role: str) -> str:
    return role.split("@")[0]


def _discovery_app() -> Flask:
    # Building the app opens no connection: it only lists the routes.
    return create_app({"TESTING": True, "SECRET_KEY": "matrix",
                       "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})


WRITE_ENDPOINTS = write_endpoints(_discovery_app())


def _sample_value(rule: Rule, name: str) -> str:
    converter = rule._converters.get(name)
    if isinstance(converter, IntegerConverter):  # subclasses too (the app's bounded row-id converter)
        return "987654"
    if isinstance(converter, FloatConverter):
        return "1.5"
    if isinstance(converter, UUIDConverter):
        return str(uuid.uuid4())
    if isinstance(converter, AnyConverter):
        match = re.search(r"\(\?:([^|)]+)", converter.regex)
        return match.group(1).replace("\\", "") if match else "x"
    return "x"


def _url(app: Flask, endpoint: str, method: str, path: str) -> str:
    rule = next(r for r in app.url_map.iter_rules(endpoint) if r.rule == path and method in (r.methods or ()))
    values = {name: _sample_value(rule, name) for name in rule.arguments}
    _, url = rule.build(values, append_unknown=False)  # type: ignore[misc]
    return url


def test_matrix_covers_my_endpoints_and_more() -> None:
    endpoints = {e for e, _, _ in WRITE_ENDPOINTS}
    for expected in ("facility_edit.api_create", "facility_edit.api_update", "facility_edit.api_delete",
                     "facility_edit.api_restore", "auth.login", "auth.admin_users", "auth.api_token_issue"):
        assert expected in endpoints


def test_table_has_no_conflicts_and_only_known_permissions() -> None:
    assert table_conflicts(_discovery_app()) == []
    for endpoint, permission in ENDPOINT_PERMISSIONS.items():
        assert permission == PUBLIC or permission in PERMISSIONS, endpoint
    for role, perms in ROLE_PERMISSIONS.items():
        assert perms <= set(PERMISSIONS), role


def test_unlisted_write_endpoint_is_admin_only(app: Flask, login_as) -> None:  # type: ignore[no-untyped-def]
    @app.post("/api/zz-forgotten-endpoint")
    def forgotten() -> str:
        return "reached"

    assert endpoint_permission("forgotten", "POST") == DEFAULT_WRITE_PERMISSION
    assert app.test_client().post("/api/zz-forgotten-endpoint").status_code == 401
    for role in ("viewer", "analyst", "clerk"):
        assert login_as(role).post("/api/zz-forgotten-endpoint").status_code == 403
    resp = login_as("admin").post("/api/zz-forgotten-endpoint")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "reached"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method", "path"), WRITE_ENDPOINTS,
                         ids=[f"{m} {p}" for _, m, p in WRITE_ENDPOINTS])
def test_write_endpoint_for_role(app: Flask, login_as, endpoint: str, method: str, path: str,  # type: ignore[no-untyped-def]
                                 role: str) -> None:
    view = app.view_functions[endpoint]
    permission = endpoint_permission(endpoint, method, view)
    allowed = role_allows(_table_role(role), permission, anonymous_read=True)
    client = _login(login_as, role)
    url = _url(app, endpoint, method, path)
    is_api = url.startswith(("/api", "/ogc"))
    kwargs = {"json": {}} if is_api else {"data": {}}
    resp = client.open(url, method=method, **kwargs)
    body = resp.get_data(as_text=True)
    denied = resp.headers.get("X-Registry-Denied")
    if allowed:
        assert denied is None, f"{role} refused {method} {url}: {resp.status_code} {body[:200]}"
        if endpoint != "auth.login":  # a wrong (here: empty) password is the view's own 401
            assert resp.status_code not in (401, 403), body[:200]
        assert not (resp.status_code == 302 and "/login" in resp.headers.get("Location", "")), "sent to /login"
        assert "CSRF" not in body, f"CSRF refused for {role}: {body[:200]}"
    else:
        assert denied == permission
        if role == ANONYMOUS:
            if is_api:
                assert resp.status_code == 401
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                assert resp.get_json()["permission"] == permission
            else:
                assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
        else:
            assert resp.status_code == 403
            if is_api:
                assert resp.get_json()["permission"] == permission


@pytest.mark.parametrize(("endpoint", "method", "path"), WRITE_ENDPOINTS,
                         ids=[f"{m} {p}" for _, m, p in WRITE_ENDPOINTS])
def test_write_without_csrf_token_is_refused(app: Flask, login_as, endpoint: str, method: str,  # type: ignore[no-untyped-def]
                                             path: str) -> None:
    """Even the admin's cookie-authenticated writes need the CSRF token."""
    client = login_as("admin")
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    url = _url(app, endpoint, method, path)
    resp = client.open(url, method=method, data={})
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES[1:])
def test_bearer_token_writes_follow_the_same_table(app: Flask, bearer_for, role: str) -> None:  # type: ignore[no-untyped-def]
    """Token requests skip CSRF but not the table."""
    client = app.test_client()
    resp = client.post("/api/facilities", json={"kind": "museum"}, headers=bearer_for(role))
    if role_allows(role, "facility.write"):
        assert resp.status_code == 400 and resp.get_json()["parameter"] == "name"
    else:
        assert resp.status_code == 403 and resp.headers["X-Registry-Denied"] == "facility.write"


API_WRITE_ENDPOINTS = [w for w in WRITE_ENDPOINTS if w[2].startswith(("/api", "/ogc"))]


@pytest.mark.parametrize("role", ("viewer", "analyst", "clerk", "admin"))
@pytest.mark.parametrize(("endpoint", "method", "path"), API_WRITE_ENDPOINTS,
                         ids=[f"{m} {p}" for _, m, p in API_WRITE_ENDPOINTS])
def test_api_write_endpoint_with_bearer_token(app: Flask, bearer_for, endpoint: str, method: str, path: str,  # type: ignore[no-untyped-def]
                                              role: str) -> None:
    """Every API write with a bearer token and no CSRF token: allowed or 403 exactly as the table says."""
    permission = endpoint_permission(endpoint, method, app.view_functions[endpoint])
    url = _url(app, endpoint, method, path)
    resp = app.test_client().open(url, method=method, json={}, headers=bearer_for(role))
    body = resp.get_data(as_text=True)
    assert "CSRF" not in body, body[:200]
    if role_allows(role, permission):
        assert resp.status_code not in (401, 403) and resp.headers.get("X-Registry-Denied") is None, body[:200]
    else:
        assert resp.status_code == 403 and resp.headers["X-Registry-Denied"] == permission
