"""The first page and API of the foundation."""

from __future__ import annotations

from flask.testing import FlaskClient

from registry.kinds import FacilityKind


def test_home_shows_counts_per_kind_and_district(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    for name in ("中原区", "二七区", "管城回族区", "金水区", "上街区", "惠济区", "中牟县", "巩义市", "荥阳市",
                 "新密市", "新郑市", "登封市"):
        assert name in html
    for label in ("博物馆", "城市书房", "停车场", "电梯", "幼儿园"):
        assert label in html


def test_home_in_english(client: FlaskClient) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Museum" in html and "Facilities by kind and district" in html


def test_api_facilities_of_one_kind_is_geojson(client: FlaskClient) -> None:
    body = client.get("/api/facilities?kind=kindergarten&limit=5").get_json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == 5 and body["numberMatched"] >= 5
    for feat in body["features"]:
        assert feat["properties"]["kind"] == FacilityKind.KINDERGARTEN.value
        lon, lat = feat["geometry"]["coordinates"]
        assert 112.6 < lon < 114.3 and 34.2 < lat < 35.0
        assert "operator_type" in feat["properties"]


def test_api_rejects_unknown_kind_with_json_400(client: FlaskClient) -> None:
    resp = client.get("/api/facilities?kind=library")
    assert resp.status_code == 400
    assert resp.get_json()["parameter"] == "kind"


def test_api_rejects_bad_limit(client: FlaskClient) -> None:
    for bad in ("0", "abc", "1000000"):
        resp = client.get(f"/api/facilities?limit={bad}")
        assert resp.status_code == 400 and resp.get_json()["parameter"] == "limit"


def test_unknown_page_is_html_404(client: FlaskClient) -> None:
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and "text/html" in resp.content_type
