"""Map routes: the /map page, map documents for iframes, the cache, basemaps, exports, popups."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from maps import find_external_requests
from registry import create_app
from registry.coords import wgs84_to_gcj02
from registry.models import Facility, Museum
from registry.web.mapviews import map_cache

XSS = "<img src=x onerror=alert(1)>"


def add_museum(session: Session, name: str, lon: float = 113.6654, lat: float = 34.7579) -> int:
    obj = Museum(source="test-maps", external_id=f"m-{name}-{lon}", name=name, geom=f"SRID=4326;POINT({lon} {lat})",
                 status="open", is_synthetic=True)
    session.add(obj)
    session.flush()
    return obj.id


def shows(html: str, text: str) -> bool:
    """``text`` is in the page, as it is or JSON-escaped inside a script."""
    return text in html or json.dumps(text)[1:-1] in html


def marker_latlngs(html: str) -> list[tuple[float, float]]:
    """[lat, lon] pairs of the MarkerRows arrays of a folium page built by maps.facilities_map."""
    out = []
    for block in re.findall(r"var rows = (\[\[.*?\]\]);", html, re.DOTALL):
        out += [(r[0], r[1]) for r in json.loads(block)]
    return out


def test_map_page_embeds_the_frame_and_offers_the_download(client: FlaskClient) -> None:
    html = client.get("/map").get_data(as_text=True)
    assert 'id="map-frame" src="/map/frame?basemap=none"' in html
    assert 'href="/map/export.html?basemap=none"' in html
    html = client.get("/map?kinds=museum&kinds=elevator&basemap=osm").get_data(as_text=True)
    assert 'src="/map/frame?basemap=osm&amp;kinds=museum,elevator"' in html


def test_frame_is_offline_with_every_kind_and_the_districts(client: FlaskClient, session: Session) -> None:
    resp = client.get("/map/frame")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert find_external_requests(html) == []
    assert "/static/vendor/leaflet/leaflet.js" in html and "tile.openstreetmap" not in html
    assert shows(html, "行政区划")  # the district layer is the base layer
    counts = dict(session.execute(select(Facility.kind, func.count()).group_by(Facility.kind)).all())
    for label, kind in (("博物馆", "museum"), ("城市书房", "study_room"), ("停车场", "parking_lot"),
                        ("电梯", "elevator"), ("幼儿园", "kindergarten")):
        assert shows(html, f"{label}（{counts[kind]}）")  # one layer per kind, with its count
    assert len(marker_latlngs(html)) == sum(counts.values())
    # the frame may be shown in the registry's own iframes, and runs Folium's inline scripts
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in resp.headers["Content-Security-Policy"]


def test_frame_of_some_kinds(client: FlaskClient, session: Session) -> None:
    html = client.get("/map/frame?kinds=museum,study_room").get_data(as_text=True)
    n = session.scalar(select(func.count()).select_from(Facility).where(Facility.kind.in_(["museum", "study_room"])))
    assert len(marker_latlngs(html)) == n and not shows(html, "电梯（")


def test_frame_is_cached_until_the_data_change(app: Flask, client: FlaskClient, session: Session) -> None:
    cache = map_cache(app)
    first = client.get("/map/frame?kinds=museum")
    assert cache.builds == 1
    again = client.get("/map/frame?kinds=museum")
    assert cache.builds == 1 and cache.hits >= 1 and again.data == first.data
    assert client.get("/map/frame?kinds=museum", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    add_museum(session, "缓存测试博物馆")
    changed = client.get("/map/frame?kinds=museum")
    assert cache.builds == 2 and "缓存测试博物馆" in changed.get_data(as_text=True)


def test_frame_is_gzipped_for_browsers(client: FlaskClient) -> None:
    plain = client.get("/map/frame?kinds=museum")
    packed = client.get("/map/frame?kinds=museum", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 3


def test_amap_basemap_shifts_the_display_into_gcj02(client: FlaskClient, session: Session) -> None:
    lon, lat = 113.6654, 34.7579
    add_museum(session, "高德偏移测试", lon, lat)
    glon, glat = wgs84_to_gcj02(lon, lat)
    amap = marker_latlngs(client.get("/map/frame?kinds=museum&basemap=amap").get_data(as_text=True))
    plain = marker_latlngs(client.get("/map/frame?kinds=museum").get_data(as_text=True))
    assert (round(lat, 6), round(lon, 6)) in plain and (round(lat, 6), round(lon, 6)) not in amap
    assert (round(float(glat), 6), round(float(glon), 6)) in amap
    # the stored point did not move
    stored = session.execute(select(func.ST_X(Facility.geom), func.ST_Y(Facility.geom))
                             .where(Facility.name == "高德偏移测试")).one()
    assert stored == pytest.approx((lon, lat))


def test_tianditu_needs_a_key(pg_url: str, connection: Connection, client: FlaskClient) -> None:
    resp = client.get("/map/frame?basemap=tianditu")
    assert resp.status_code == 400 and "TIANDITU_KEY" in resp.get_data(as_text=True)
    assert 'value="tianditu"' not in client.get("/map").get_data(as_text=True)
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url, "DB_BIND": connection, "SECRET_KEY": "t",
                      "TIANDITU_KEY": "abc&def"})
    keyed = app.test_client()
    html = keyed.get("/map/frame?basemap=tianditu&kinds=museum").get_data(as_text=True)
    assert "tianditu.gov.cn" in html and "tk=abc%26def" in html
    assert 'value="tianditu"' in keyed.get("/map").get_data(as_text=True)


@pytest.mark.parametrize("query", ["basemap=google", "kinds=library", "basemap="])
def test_bad_map_arguments(client: FlaskClient, query: str) -> None:
    resp = client.get(f"/map/frame?{query}")
    if query == "basemap=":
        assert resp.status_code == 200  # empty means the default
    else:
        assert resp.status_code == 400 and "Traceback" not in resp.get_data(as_text=True)


def test_export_is_one_offline_file(client: FlaskClient) -> None:
    resp = client.get("/map/export.html?kinds=museum")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert "zhengzhou-facilities-museum-none.html" in resp.headers["Content-Disposition"]
    assert find_external_requests(html) == []
    assert '<script src="/static' not in html and 'href="/static' not in html  # everything inlined
    assert "L.Map" in html or "L.map" in html
    assert "http://localhost/facilities/" in html  # popup links point back to the registry


def test_facility_mini_map_and_radius_frame(client: FlaskClient, session: Session) -> None:
    fid = add_museum(session, "小地图测试博物馆")
    html = client.get(f"/map/facility/{fid}/frame").get_data(as_text=True)
    assert "小地图测试博物馆" in html and "L.circle" in html and find_external_requests(html) == []
    assert client.get("/map/facility/999999999/frame").status_code == 404
    radius = client.get("/map/radius/frame?lon=113.6654&lat=34.7579&radius=300").get_data(as_text=True)
    assert "L.circle" in radius and "registry:pick" in radius and '"radius": 300.0' in radius
    empty = client.get("/map/radius/frame").get_data(as_text=True)
    assert "registry:pick" in empty and "L.circle" not in empty
    amap = client.get("/map/radius/frame?basemap=amap").get_data(as_text=True)
    assert '"gcj02"' in amap  # a click on a GCJ-02 map reports GCJ-02 coordinates


def test_facility_and_radius_maps_export_as_one_offline_file(client: FlaskClient, session: Session) -> None:
    fid = add_museum(session, XSS)
    page = client.get(f"/facilities/{fid}").get_data(as_text=True)
    assert f'href="/map/facility/{fid}/export.html' in page
    resp = client.get(f"/map/facility/{fid}/export.html")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and f"facility-{fid}-map.html" in resp.headers["Content-Disposition"]
    assert find_external_requests(html) == [] and '<script src="/static' not in html
    assert "L.circle" in html and XSS not in html and f"http://localhost/facilities/{fid}" in html
    assert client.get("/map/facility/999999999/export.html").status_code == 404

    radius_page = client.get("/radius?lon=113.6654&lat=34.7579&radius=300").get_data(as_text=True)
    assert 'id="export-map" href="/map/radius/export.html?' in radius_page
    resp = client.get("/map/radius/export.html?lon=113.6654&lat=34.7579&radius=300")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "radius-map.html" in resp.headers["Content-Disposition"]
    assert find_external_requests(html) == [] and '<script src="/static' not in html
    assert "L.circle" in html and '"radius": 300.0' in html
    assert "registry:pick" not in html  # a click in the file must not try to navigate
    assert client.get("/map/radius/export.html?lon=113.6654").status_code == 400


def test_xss_name_never_reaches_the_map_unescaped(client: FlaskClient, session: Session) -> None:
    fid = add_museum(session, XSS)
    for url in ("/map/frame?kinds=museum", f"/map/facility/{fid}/frame", "/map/export.html?kinds=museum",
                "/map/radius/frame?lon=113.6654&lat=34.7579&radius=50", f"/map/facility/{fid}/export.html",
                "/map/radius/export.html?lon=113.6654&lat=34.7579&radius=50"):
        html = client.get(url).get_data(as_text=True)
        assert XSS not in html, url


def test_very_large_maps_use_grid_clusters_with_json_popups(pg_url: str, connection: Connection,
                                                            session: Session) -> None:
    fid = add_museum(session, XSS)
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url, "DB_BIND": connection, "SECRET_KEY": "t",
                      "MAP_GRID_THRESHOLD": 10})
    client = app.test_client()
    html = client.get("/map/frame").get_data(as_text=True)
    assert "L.registryGridCluster" in html and "MarkerRows" not in html and XSS not in html
    assert '"popupUrl":"/map/popup/"' in html
    info = client.get(f"/map/popup/{fid}").get_json()
    assert info["name"] == XSS and info["compliance"] == "unknown" and info["href"] == f"/facilities/{fid}"
    assert client.get("/map/popup/999999999").status_code == 404
    export = client.get("/map/export.html").get_data(as_text=True)
    assert '"rows":' in export and XSS not in export and find_external_requests(export) == []
