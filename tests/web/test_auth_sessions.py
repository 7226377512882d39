"""Session cookies: secure settings, sign-out that a copied cookie does not survive, HSTS behind HTTPS."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient

from registry import create_app

PASSWORD = "test-only password 42"  # tests/conftest.py TEST_PASSWORD


def _sign_in(client: FlaskClient, username: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def _csrf(client: FlaskClient) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)


def test_cookie_settings(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_NAME"] == "registry_session"
    assert app.config["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(hours=8)
    make_user("viewer", username="cookie.viewer")
    client = app.test_client()
    _sign_in(client, "cookie.viewer")
    cookie = client.get_cookie("registry_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    assert cookie.expires is not None and cookie.expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=8)


def test_secure_cookies_and_hsts_when_served_over_https(pg_url: str, connection, make_user,  # type: ignore[no-untyped-def]
                                                        monkeypatch) -> None:
    monkeypatch.setenv("REGISTRY_SECURE_COOKIES", "1")
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url, "DB_BIND": connection, "SECRET_KEY": "t"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    make_user("viewer", username="https.viewer")
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login", base_url="https://localhost").get_data(as_text=True)).group(1)
    no_referer = client.post("/login", base_url="https://localhost",
                             data={"username": "https.viewer", "password": PASSWORD, "csrf_token": token})
    assert no_referer.status_code == 400  # over HTTPS the CSRF check also wants a same-origin Referer
    resp = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                       data={"username": "https.viewer", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    assert "Secure" in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_cookie_copied_before_sign_out_is_worthless_after(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("clerk", username="copied.clerk")
    client = app.test_client()
    _sign_in(client, "copied.clerk")
    stolen = client.get_cookie("registry_session").value
    assert client.get("/account/password").status_code == 200
    assert client.post("/logout", headers={"X-CSRFToken": _csrf(client)}).status_code == 302
    assert client.get("/account/password").status_code == 302
    thief = app.test_client()
    thief.set_cookie("registry_session", stolen)
    resp = thief.get("/account/password")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert thief.post("/api/facilities", json={"kind": "museum"}).status_code == 401


def test_sign_out_needs_the_csrf_token(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("viewer", username="forced.viewer")
    client = app.test_client()
    _sign_in(client, "forced.viewer")
    assert client.post("/logout").status_code == 400  # no page elsewhere can sign you out
    assert client.get("/account/password").status_code == 200
