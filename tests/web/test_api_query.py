"""The JSON API over the query layer: GeoJSON, CSV, paging, the polygon search, 400s naming the parameter."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.postgis.test_query import CENTRE, add, pyproj_distances, ring_points

NEAR = f"{CENTRE[0]},{CENTRE[1]}"


def _get(client: FlaskClient, url: str) -> dict:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_radius_geojson_with_distances_and_next_links(client: FlaskClient, session: Session) -> None:
    pts = ring_points(300.0, n=60, seed=4)
    ids = add(session, "kindergarten", pts)
    dist = dict(zip(ids, pyproj_distances(pts)))
    expected = {i for i, d in dist.items() if d <= 300.0}
    url = f"/api/facilities?near={NEAR}&radius=300&kind=kindergarten&where=source=test-query&limit=7"
    body = _get(client, url)
    assert body["type"] == "FeatureCollection" and body["numberMatched"] == len(expected)
    seen, distances = [], []
    while True:
        for feat in body["features"]:
            seen.append(feat["id"])
            distances.append(feat["properties"]["distance_m"])
            assert feat["properties"]["distance_m"] == pytest.approx(dist[feat["id"]], abs=1e-3)
        if not body["next"]:
            break
        assert any(link["rel"] == "next" for link in body["links"])
        parts = urlsplit(body["next"])
        body = _get(client, f"{parts.path}?{parts.query}")
    assert set(seen) == expected and len(seen) == len(expected)
    assert distances == sorted(distances)


def test_nearest_and_gcj02_echo(client: FlaskClient, session: Session) -> None:
    add(session, "study_room", ring_points(500.0, n=30, seed=8))
    body = _get(client, f"/api/facilities?nearest=113.671103,34.752187&crs=gcj02&k=3&where=source=test-query")
    assert body["numberReturned"] == 3
    assert body["query"]["point"]["crs"] == "gcj02"
    assert body["query"]["point"]["wgs84"] == pytest.approx([113.665, 34.7533], abs=1e-6)
    d = [f["properties"]["distance_m"] for f in body["features"]]
    assert d == sorted(d)


def test_csv_on_request(client: FlaskClient, session: Session) -> None:
    add(session, "study_room", [CENTRE, CENTRE], seats=[12, 30])
    for url, headers in ((f"/api/facilities?near={NEAR}&radius=50&kind=study_room&where=source=test-query&f=csv", {}),
                         (f"/api/facilities?near={NEAR}&radius=50&kind=study_room&where=source=test-query",
                          {"Accept": "text/csv"})):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        text = resp.get_data(as_text=True)
        assert text.startswith("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
        assert sorted(r["seats"] for r in rows) == ["12", "30"]
        assert {"lon", "lat", "distance_m", "seats", "wifi"} <= set(rows[0])


def test_polygon_search(app: Flask, client: FlaskClient, session: Session) -> None:
    # read-only search; the permission table lists api.search as a read
    app.config["WTF_CSRF_ENABLED"] = False
    inside = add(session, "parking_lot", [(113.66, 34.76), (113.67, 34.765)])
    add(session, "parking_lot", [(113.70, 34.76)])
    poly = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
        [[113.65, 34.75], [113.68, 34.75], [113.68, 34.77], [113.65, 34.77], [113.65, 34.75]]]}}
    resp = client.post("/api/facilities/search?kind=parking_lot&where=source=test-query", json=poly)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert {f["id"] for f in resp.get_json()["features"]} == set(inside)
    for body, data in ((None, b""), (None, b"{not json"), ({"type": "Point", "coordinates": [1, 2]}, None),
                       ({"type": "Polygon", "coordinates": [[[113, 34], [114, 34], [114, 35]]]}, None)):
        resp = client.post("/api/facilities/search", json=body) if data is None else \
            client.post("/api/facilities/search", data=data, content_type="application/json")
        assert resp.status_code == 400 and resp.get_json()["parameter"] == "body"


def test_one_facility_and_districts(client: FlaskClient, session: Session) -> None:
    (fid,) = add(session, "museum", [CENTRE])
    feat = _get(client, f"/api/facilities/{fid}")
    assert feat["id"] == fid and feat["properties"]["kind"] == "museum"
    assert feat["geometry"]["coordinates"] == pytest.approx(list(CENTRE), abs=1e-7)
    for missing in (fid + 10_000_000, 99999999999):
        resp = client.get(f"/api/facilities/{missing}")
        assert resp.status_code == 404 and resp.is_json
    districts = _get(client, "/api/districts")
    assert districts["numberReturned"] == 12
    assert {"金水区", "登封市"} <= {f["properties"]["name"] for f in districts["features"]}
    assert districts["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert _get(client, "/api/districts?geometry=false")["features"][0]["geometry"] is None


@pytest.mark.parametrize("query,parameter", [
    ("near=113.66,34.76&radius=0", "radius"),
    ("near=113.66,34.76&radius=50001", "radius"),
    ("near=113.66,34.76&radius=1e3x", "radius"),
    ("near=abc&radius=300", "near"),
    ("nearest=113.66,34.76&k=0", "k"),
    ("nearest=113.66,34.76&k=100000", "k"),
    ("kind=library", "kind"),
    ("where=colour=red", "where"),
    ("filter=seats%20%3C", "filter"),
    ("bbox=1,2,3", "bbox"),
    ("within=atlantis", "within"),
    ("district=atlantis", "district"),
    ("sort=distance", "sort"),
    ("f=xml", "f"),
    ("cursor=zzz", "cursor"),
    ("bogus=1", "bogus"),
])
def test_malformed_input_is_a_400_naming_the_parameter(client: FlaskClient, query: str, parameter: str) -> None:
    resp = client.get(f"/api/facilities?{query}")
    assert resp.status_code == 400, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["parameter"] == parameter and body["status"] == 400 and body["error"]


def test_versioned_alias_and_openapi_and_docs(client: FlaskClient) -> None:
    assert client.get("/api/v1/facilities?limit=1").status_code == 200
    doc = _get(client, "/api/openapi.json")
    assert doc["openapi"].startswith("3.") and "/facilities" in doc["paths"] and "/facilities/search" in doc["paths"]
    html = client.get("/api/docs").get_data(as_text=True)
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in html and "/api/openapi.json" in html
    assert "cdn" not in html.lower() and "https://" not in html
    asset = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()
