"""CSRF defends cookie-authenticated requests only: API calls without the cookie are not refused for it.

* anonymous JSON API reads that are POSTed (polygon search, what-if, site selection) work
  without a token when anonymous read is on, and are 401 when it is off;
* bearer-token requests never need the token (reads and writes alike), but follow the table;
* a signed-in browser session needs the token for every write, API or page, read-only or not;
* HTML form posts need it even anonymously (``/login``: no login CSRF).
"""

from __future__ import annotations

from flask import Flask

from registry import create_app

POLYGON = {"type": "Polygon", "coordinates": [[[113.60, 34.72], [113.72, 34.72], [113.72, 34.80],
                                               [113.60, 34.80], [113.60, 34.72]]]}
WHATIF = {"kind": "kindergarten", "add": [{"lon": 113.65, "lat": 34.75, "capacity": 300}]}
SITES = {"kind": "kindergarten", "k": 1, "candidates": {"type": "grid", "spacing": 3000}}


def _no_csrf_refusal(resp) -> None:  # type: ignore[no-untyped-def]
    body = resp.get_data(as_text=True)
    assert "CSRF" not in body, body[:300]
    assert resp.headers.get("X-Registry-Denied") is None, body[:300]


def test_anonymous_polygon_search_needs_no_csrf_token(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/facilities/search", "/api/v1/facilities/search"):
        resp = client.post(path, json=POLYGON)
        _no_csrf_refusal(resp)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        body = resp.get_json()
        assert body["type"] == "FeatureCollection" and body["features"]


def test_anonymous_search_with_a_stale_session_cookie_needs_no_token(app: Flask) -> None:
    client = app.test_client()
    with client.session_transaction() as sess:  # a cookie naming no valid user: anonymous
        sess["uid"] = 987654321
        sess["sv"] = 0
    resp = client.post("/api/facilities/search", json=POLYGON)
    assert resp.status_code == 200


def test_anonymous_coverage_posts_need_no_csrf_token(client) -> None:  # type: ignore[no-untyped-def]
    whatif = client.post("/api/coverage/what-if", json=WHATIF)
    _no_csrf_refusal(whatif)
    assert whatif.status_code == 200 and "delta" in whatif.get_json()
    sites = client.post("/api/site-selection", json=SITES)
    _no_csrf_refusal(sites)
    assert sites.status_code == 200 and len(sites.get_json()["sites"]["features"]) == 1
    bad = client.post("/api/coverage/what-if", json={"kind": "kindergarten"})
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "add"  # the view answered, not CSRF


def test_anonymous_api_writes_still_need_the_permission(client) -> None:  # type: ignore[no-untyped-def]
    for path, body in (("/api/facilities", {"kind": "museum", "name": "x", "lon": 113.6, "lat": 34.7}),
                       ("/api/coverage/runs", {"analysis": "coverage", "kind": "kindergarten"}),
                       ("/api/auth/tokens", {"name": "x"})):
        resp = client.post(path, json=body)
        assert resp.status_code == 401, (path, resp.status_code)
        assert resp.headers["X-Registry-Denied"] and resp.headers["WWW-Authenticate"].startswith("Bearer")
    save = client.post("/api/site-selection", json={**SITES, "save": True})
    assert save.status_code == 401 and save.headers["X-Registry-Denied"] == "analysis.save"


def test_anonymous_read_off_refuses_read_only_posts(pg_url: str, connection) -> None:  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url, "DB_BIND": connection, "SECRET_KEY": "t",
                      "REGISTRY_ANONYMOUS_READ": "0"})
    client = app.test_client()
    for path, body in (("/api/facilities/search", POLYGON), ("/api/coverage/what-if", WHATIF),
                       ("/api/site-selection", SITES)):
        resp = client.post(path, json=body)
        assert resp.status_code == 401, (path, resp.status_code)
        assert resp.get_json()["permission"] in ("facility.read", "coverage.read")


def test_bearer_requests_need_no_csrf_token(app: Flask, bearer_for) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    viewer = bearer_for("viewer")
    resp = client.post("/api/facilities/search", json=POLYGON, headers=viewer)
    assert resp.status_code == 200 and resp.get_json()["features"]
    assert client.post("/api/coverage/what-if", json=WHATIF, headers=viewer).status_code == 200
    denied = client.post("/api/facilities", json={"kind": "museum", "name": "x", "lon": 113.6, "lat": 34.7},
                         headers=viewer)
    assert denied.status_code == 403 and denied.headers["X-Registry-Denied"] == "facility.write"
    clerk = bearer_for("clerk")
    made = client.post("/api/facilities", json={"kind": "museum", "name": "令牌新建博物馆", "lon": 113.66,
                                                "lat": 34.76}, headers=clerk)
    assert made.status_code == 201, made.get_data(as_text=True)[:300]
    fid = made.get_json()["id"]
    assert client.patch(f"/api/facilities/{fid}", json={"name": "令牌改名"}, headers=clerk).status_code == 200
    assert client.delete(f"/api/facilities/{fid}", headers=clerk).status_code == 200


def test_bearer_token_is_not_rescued_by_a_session_cookie(app: Flask, login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as("admin")
    resp = client.post("/api/facilities/search", json=POLYGON, headers={"Authorization": "Bearer rgt_nonsense"})
    assert resp.status_code == 401 and 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_cookie_authenticated_posts_need_the_token(login_as) -> None:  # type: ignore[no-untyped-def]
    for role in ("viewer", "clerk"):
        client = login_as(role)
        token = client.environ_base.pop("HTTP_X_CSRFTOKEN")
        refused = client.post("/api/facilities/search", json=POLYGON)  # read-only, but the cookie authenticates it
        assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
        assert client.post("/api/coverage/what-if", json=WHATIF).status_code == 400
        ok = client.post("/api/facilities/search", json=POLYGON, headers={"X-CSRFToken": token})
        assert ok.status_code == 200
    clerk = login_as("clerk")
    token = clerk.environ_base.pop("HTTP_X_CSRFTOKEN")
    body = {"kind": "museum", "name": "无令牌", "lon": 113.66, "lat": 34.76}
    refused = clerk.post("/api/facilities", json=body)
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert clerk.post("/api/facilities", json=body, headers={"X-CSRFToken": token}).status_code == 201
    assert clerk.post("/api/facilities", json=body, headers={"X-CSRFToken": "forged"}).status_code == 400


def test_html_forms_need_the_token_even_anonymously(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/login", data={"username": "nobody", "password": "whatever"})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    page = client.post("/site-selection", data={"kind": "kindergarten", "k": "1"})
    assert page.status_code == 400 and "CSRF" in page.get_data(as_text=True)
