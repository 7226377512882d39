"""Signing in and out, throttling, password change, tokens, admin pages, headers and cookies."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.auth import throttle
from registry.models import ApiToken, AuditEvent, User

pytestmark = pytest.mark.postgis

PASSWORD = "test-only password 42"  # = conftest.TEST_PASSWORD


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _login(client: FlaskClient, username: str, password: str, next_url: str = "") -> object:
    token = _token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "next": next_url,
                                       "csrf_token": token})


def test_sign_in_sign_out(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("clerk", username="li.clerk")
    resp = _login(client, "Li.Clerk", PASSWORD, next_url="/facilities/new")
    assert resp.status_code == 302 and resp.headers["Location"] == "/facilities/new"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/account/password")
    assert page.status_code == 200 and "li.clerk" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    home = client.get("/").get_data(as_text=True)
    token = _token(home)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account/password").status_code == 302  # back to /login


def test_wrong_password_unknown_user_and_open_redirect(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("viewer", username="wang")
    wrong = _login(client, "wang", "not the password")
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.get_data(as_text=True) \
        or "用户名或密码错误" in wrong.get_data(as_text=True)
    unknown = _login(client, "nobody", "whatever password")
    assert unknown.status_code == 401 and unknown.get_data(as_text=True).count("alert") >= 1
    evil = _login(client, "wang", PASSWORD, next_url="//evil.example/steal")
    assert evil.status_code == 302 and evil.headers["Location"] == "/"
    evil = _login(client, "wang", PASSWORD, next_url="https://evil.example/")
    assert evil.headers["Location"] == "/"


def test_login_form_needs_its_csrf_token(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("viewer", username="zhou")
    client.get("/login")
    resp = client.post("/login", data={"username": "zhou", "password": PASSWORD})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)


def test_disabled_user_cannot_sign_in(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", username="gone", is_active=False)
    assert _login(client, "gone", PASSWORD).status_code == 401


def test_throttled_after_repeated_failures_even_with_the_right_password(client: FlaskClient, make_user,  # type: ignore[no-untyped-def]
                                                                        session: Session) -> None:
    make_user("viewer", username="target")
    for _ in range(throttle.MAX_USER_FAILURES):
        assert _login(client, "target", "guess guess guess").status_code == 401
    locked = _login(client, "target", PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    other = FlaskClient(client.application, use_cookies=True)  # another browser: the lock is in the database
    assert _login(other, "target", PASSWORD).status_code == 429


def test_password_change_signs_out_other_sessions(app: Flask, login_as, session: Session) -> None:  # type: ignore[no-untyped-def]
    first = login_as("analyst")
    user = first.user
    second = app.test_client()
    with second.session_transaction() as sess:
        sess["uid"], sess["sv"] = user.id, user.session_version
    assert second.get("/account/password").status_code == 200
    bad = first.post("/account/password", data={"current_password": "wrong", "new_password": "abcdefghijk1",
                                                "confirm_password": "abcdefghijk1"})
    assert bad.status_code == 400
    short = first.post("/account/password", data={"current_password": PASSWORD, "new_password": "short",
                                                  "confirm_password": "short"})
    assert short.status_code == 400
    ok = first.post("/account/password", data={"current_password": PASSWORD, "new_password": "a brand new one 7",
                                               "confirm_password": "a brand new one 7"})
    assert ok.status_code == 200
    assert first.get("/account/password").status_code == 200  # this session continues
    assert second.get("/account/password").status_code == 302  # the other one is signed out
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password",
                                                     AuditEvent.entity_id == user.id)).one()
    assert set(event.changes) == {"password_changed_at"}


def test_api_tokens_issue_use_revoke(app: Flask, login_as, session: Session) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    issued = clerk.post("/api/auth/tokens", json={"name": "sync script", "lifetime_days": 7})
    assert issued.status_code == 201
    body = issued.get_json()
    bearer = {"Authorization": f"Bearer {body['token']}"}
    api = app.test_client()  # no cookie at all
    me = api.get("/api/auth/me", headers=bearer).get_json()
    assert me["role"] == "clerk" and "facility.write" in me["permissions"]
    used = session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == body["id"]))
    assert used is not None  # kept although the request itself only read
    assert clerk.post("/api/auth/tokens", json={"name": ""}).get_json()["parameter"] == "name"
    assert clerk.post("/api/auth/tokens", json={"name": "x", "lifetime_days": "7"}).get_json()["parameter"] \
        == "lifetime_days"
    assert clerk.delete(f"/api/auth/tokens/{body['id']}").status_code == 200
    refused = api.get("/api/auth/me", headers=bearer)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # a bad token is refused even where anonymous reading is allowed (it is not silently ignored)
    assert api.get("/api/facilities?limit=1", headers=bearer).status_code == 401
    other = login_as("viewer")
    assert other.delete(f"/api/auth/tokens/{body['id']}").status_code == 404  # not theirs


def test_token_page_shows_the_token_once(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as("viewer")
    page = client.post("/account/tokens", data={"name": "notebook", "lifetime_days": "30"})
    html = page.get_data(as_text=True)
    token = re.search(r'id="new-token">(rgt_[^<]+)<', html)
    assert page.status_code == 200 and token
    again = client.get("/account/tokens").get_data(as_text=True)
    assert token.group(1) not in again and token.group(1)[:10] in again


def test_admin_creates_users_and_changes_roles_audited(login_as, session: Session) -> None:  # type: ignore[no-untyped-def]
    admin = login_as("admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    created = admin.post("/admin/users", data={"username": "New.Clerk", "role": "clerk", "district_code": "410105",
                                               "password": "initial password 1"})
    assert created.status_code == 200, created.get_data(as_text=True)[:300]
    user = session.scalars(select(User).where(User.username == "new.clerk")).one()
    assert user.role == "clerk" and user.district_code == "410105"
    weak = admin.post("/admin/users", data={"username": "x2", "role": "viewer", "password": "123"})
    assert weak.status_code == 400
    bad_role = admin.post("/admin/users", data={"username": "x3", "role": "god", "password": "initial password 1"})
    assert bad_role.status_code == 400
    changed = admin.post(f"/admin/users/{user.id}", data={"role": "analyst", "district_code": "", "is_active": "1"})
    assert changed.status_code == 302
    session.refresh(user)
    assert user.role == "analyst" and user.district_code is None and user.session_version == 1
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                      AuditEvent.entity_id == user.id)
                             .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["user.create", "user.update"]
    assert events[1].changes == {"role": ["clerk", "analyst"], "district_code": ["410105", None]}
    assert events[1].actor == admin.user.username
    last_admin = admin.post(f"/admin/users/{admin.user.id}", data={"role": "viewer"})
    assert last_admin.status_code == 400  # never lock everybody out


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for url in ("/", "/login", "/api/facilities?limit=1", "/no-such-page"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in \
            csp.split("script-src", 1)[1].split(";", 1)[0]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "same-origin"


def test_anonymous_read_can_be_turned_off(app: Flask, login_as) -> None:  # type: ignore[no-untyped-def]
    app.config["REGISTRY_ANONYMOUS_READ"] = "0"
    anon = app.test_client()
    assert anon.get("/").status_code == 302 and anon.get("/").headers["Location"].startswith("/login")
    api = anon.get("/api/facilities?limit=1")
    assert api.status_code == 401 and api.headers["WWW-Authenticate"].startswith("Bearer")
    assert anon.get("/login").status_code == 200
    static = anon.get("/static/css/app.css")
    assert static.status_code == 200
    static.close()
    viewer = login_as("viewer")
    assert viewer.get("/").status_code == 200
    assert viewer.get("/api/facilities?limit=1").status_code == 200


def test_anonymous_reads_by_default_but_not_history_or_admin(client: FlaskClient) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/api/facilities?limit=1").status_code == 200
    assert client.get("/admin/users").status_code == 302
    assert client.get("/api/facilities/1/history").status_code == 401


def test_viewer_gets_403_page_not_login_redirect(login_as) -> None:  # type: ignore[no-untyped-def]
    viewer = login_as("viewer")
    page = viewer.get("/admin/users")
    assert page.status_code == 403 and "text/html" in page.content_type
    assert page.headers["X-Registry-Denied"] == "user.admin"


def test_head_requests_are_reads(client: FlaskClient) -> None:
    assert client.head("/login").status_code == 200
    assert client.head("/api/facilities?limit=1").status_code == 200
