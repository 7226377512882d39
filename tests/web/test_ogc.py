"""OGC API – Features served by a real HTTP server, read by GDAL's own client (ogrinfo, ogr2ogr).

The server runs in a thread (``werkzeug.serving.make_server``) with an app on
``pg_url``: another connection than the test's rolled-back one, so this module
commits its own facilities (source ``test-ogc``, on top of the shipped sample)
and deletes them when it is done.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pyproj import Transformer
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from registry.models import Facility, Kindergarten

SRC = "test-ogc"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG4547 = "http://www.opengis.net/def/crs/EPSG/0/4547"
OGR_ENV = {"GDAL_HTTP_UNSAFESSL": "NO", "CPL_DEBUG": "OFF", "GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin"}


@pytest.fixture(scope="module")
def ogc_data(engine: Engine, sample_loaded: None) -> Iterator[list[int]]:
    """Committed kindergartens at known places, removed after the module."""
    with Session(engine) as session:
        objs = [Kindergarten(source=SRC, external_id=f"ogc-{i}", name=f"OGC测试幼儿园{i}", status="open",
                             operator_type="public" if i % 3 else "for_profit", places=60 + i,
                             geom=f"SRID=4326;POINT({113.60 + i * 0.004!r} {34.74 + (i % 7) * 0.003!r})",
                             is_synthetic=True)
                for i in range(45)]
        session.add_all(objs)
        session.commit()
        ids = [o.id for o in objs]
    try:
        yield ids
    finally:
        with Session(engine) as session:
            session.execute(delete(Facility).where(Facility.source == SRC))
            session.commit()


@pytest.fixture(scope="module")
def server(pg_url: str, ogc_data: list[int]) -> Iterator[tuple[str, list[str]]]:
    """Base URL of a live server and the list of request paths it saw."""
    from registry import create_app

    app = create_app({"DATABASE_URL": pg_url, "SECRET_KEY": "test"})
    seen: list[str] = []

    def recording(environ, start_response):  # type: ignore[no-untyped-def]
        seen.append(environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", ""))
        return app(environ, start_response)

    httpd = make_server("127.0.0.1", 0, recording, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", seen
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
        from registry.db import engine_for

        engine_for(pg_url).dispose()


def _count(engine: Engine, *where: object) -> int:
    with Session(engine) as session:
        stmt = select(func.count()).select_from(Kindergarten).where(*where)
        if hasattr(Facility, "deleted_at"):
            stmt = stmt.where(Facility.deleted_at.is_(None))
        return int(session.scalar(stmt) or 0)


def _ogr(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which(args[0])
    assert tool, f"{args[0]} (GDAL) is not installed"
    return subprocess.run([tool, *args[1:]], capture_output=True, text=True, timeout=300, env=OGR_ENV)


def test_ogrinfo_lists_every_collection(server: tuple[str, list[str]]) -> None:
    base, _ = server
    out = _ogr("ogrinfo", "-ro", "-q", f"OAPIF:{base}/ogc")
    assert out.returncode == 0, out.stderr
    for name in ("museum", "study_room", "parking_lot", "elevator", "kindergarten", "districts"):
        assert name in out.stdout


def test_ogr2ogr_downloads_a_filtered_collection(server: tuple[str, list[str]], engine: Engine,
                                                 tmp_path: Path) -> None:
    base, seen = server
    expected = _count(engine, Kindergarten.operator_type == "public")
    assert expected >= 30
    gpkg = tmp_path / "public_kindergartens.gpkg"
    seen.clear()
    out = _ogr("ogr2ogr", "-f", "GPKG", str(gpkg), f"OAPIF:{base}/ogc", "kindergarten",
               "-where", "operator_type = 'public'", "-nln", "kg")
    assert out.returncode == 0, out.stderr
    with sqlite3.connect(gpkg) as db:
        (n,) = db.execute("SELECT count(*) FROM kg").fetchone()
        (n_public,) = db.execute("SELECT count(*) FROM kg WHERE operator_type = 'public'").fetchone()
    assert n == n_public == expected
    # the filter went to the server, it was not evaluated by GDAL after downloading everything
    # (GDAL 3.6 sends it as a property filter named in the OpenAPI document; newer GDAL and QGIS send CQL2)
    items = [s for s in seen if s.startswith("/ogc/collections/kindergarten/items")]
    filtered = [s for s in items if "operator_type" in s]
    assert len(filtered) >= len(items) - 1 and len(filtered) * 10 >= expected, items


def test_ogr2ogr_with_spatial_filter_and_paging(server: tuple[str, list[str]], engine: Engine,
                                                tmp_path: Path, ogc_data: list[int]) -> None:
    base, seen = server
    gpkg = tmp_path / "box.gpkg"
    seen.clear()
    out = _ogr("ogr2ogr", "-f", "GPKG", str(gpkg), f"OAPIF:{base}/ogc", "kindergarten",
               "-spat", "113.60", "34.74", "113.70", "34.76", "-where", "name LIKE 'OGC%'", "-nln", "kg")
    assert out.returncode == 0, out.stderr
    with Session(engine) as session:
        want = {i for i, x, y in session.execute(
            select(Facility.id, func.ST_X(Facility.geom), func.ST_Y(Facility.geom)).where(Facility.source == SRC))
            if 113.60 <= x <= 113.70 and 34.74 <= y <= 34.76}
    with sqlite3.connect(gpkg) as db:
        (n,) = db.execute("SELECT count(*) FROM kg").fetchone()
    assert n == len(want) > 10
    assert any("bbox=" in s for s in seen)
    assert sum("/items" in s for s in seen) >= 2  # GDAL followed next links (pages of 10)


# --------------------------------------------------------------------------- the documents, over HTTP
def test_landing_conformance_and_collections(server: tuple[str, list[str]]) -> None:
    base, _ = server
    landing = requests.get(f"{base}/ogc", timeout=30).json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = requests.get(f"{base}/ogc/conformance", timeout=30).json()["conformsTo"]
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
                "ogcapi-features-3/1.0/conf/features-filter", "cql2/1.0/conf/cql2-text"):
        assert any(c.endswith(cls) for c in conf), cls
    colls = requests.get(f"{base}/ogc/collections", timeout=30).json()["collections"]
    kg = next(c for c in colls if c["id"] == "kindergarten")
    assert EPSG4547 in kg["crs"] and kg["extent"]["spatial"]["bbox"][0][0] < 114
    api = requests.get(f"{base}/ogc/api", timeout=30)
    assert api.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert "/collections/kindergarten/items" in api.json()["paths"]
    queryables = requests.get(f"{base}/ogc/collections/kindergarten/queryables", timeout=30).json()
    assert queryables["properties"]["operator_type"]["enum"] == ["public", "inclusive_private", "for_profit"]


def test_items_paging_crs_and_filters(server: tuple[str, list[str]], engine: Engine) -> None:
    base, _ = server
    url = f"{base}/ogc/collections/kindergarten/items?limit=20&filter=name LIKE 'OGC%25'"
    seen: list[int] = []
    matched = None
    while url:
        body = requests.get(url, timeout=30).json()
        matched = body["numberMatched"]
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert matched == len(seen) == len(set(seen)) == 45

    one = requests.get(f"{base}/ogc/collections/kindergarten/items",
                       params={"filter": "external_id = 'ogc-5'"}, timeout=30).json()["features"][0]
    lon, lat = one["geometry"]["coordinates"]
    latlon = requests.get(f"{base}/ogc/collections/kindergarten/items/{one['id']}", params={"crs": EPSG4326},
                          timeout=30)
    assert latlon.headers["Content-Crs"] == f"<{EPSG4326}>"
    assert latlon.json()["geometry"]["coordinates"] == [lat, lon]
    gk = requests.get(f"{base}/ogc/collections/kindergarten/items/{one['id']}", params={"crs": EPSG4547},
                      timeout=30).json()["geometry"]["coordinates"]
    north, east = Transformer.from_crs(4326, 4547).transform(lat, lon)
    assert gk == pytest.approx([north, east], abs=2e-3)

    # bbox in EPSG:4326 axis order (lat, lon) equals the CRS84 box
    crs84 = requests.get(f"{base}/ogc/collections/kindergarten/items",
                         params={"bbox": "113.6,34.74,113.7,34.76", "limit": 1000}, timeout=30).json()
    flipped = requests.get(f"{base}/ogc/collections/kindergarten/items",
                           params={"bbox": "34.74,113.6,34.76,113.7", "bbox-crs": EPSG4326, "limit": 1000},
                           timeout=30).json()
    assert crs84["numberMatched"] == flipped["numberMatched"] > 0
    prop = requests.get(f"{base}/ogc/collections/kindergarten/items",
                        params={"operator_type": "for_profit", "name": "OGC测试幼儿园3"}, timeout=30).json()
    assert prop["numberMatched"] == 1
    spatial = requests.get(f"{base}/ogc/collections/kindergarten/items", params={
        "filter": "S_INTERSECTS(geometry, BBOX(113.6, 34.74, 113.7, 34.76)) AND places > 70"}, timeout=30).json()
    assert spatial["numberMatched"] == _count(engine, Kindergarten.places > 70,
                                              func.ST_Intersects(Facility.geom, func.ST_MakeEnvelope(
                                                  113.6, 34.74, 113.7, 34.76, 4326)))


@pytest.mark.parametrize("query,parameter,status", [
    ("collections/kindergarten/items?limit=0", "limit", 400),
    ("collections/kindergarten/items?bbox=1,2", "bbox", 400),
    ("collections/kindergarten/items?crs=EPSG:3857", "crs", 400),
    ("collections/kindergarten/items?filter=places%20%3E", "filter", 400),
    ("collections/kindergarten/items?colour=red", "colour", 400),
    ("collections/kindergarten/items?places=many", "places", 400),
    ("collections/libraries/items", "collectionId", 404),
    ("collections/kindergarten/items/999999999", "featureId", 404),
])
def test_bad_requests_are_json_errors(server: tuple[str, list[str]], query: str, parameter: str,
                                      status: int) -> None:
    base, _ = server
    resp = requests.get(f"{base}/ogc/{query}", timeout=30)
    assert resp.status_code == status and resp.json()["parameter"] == parameter


def test_html_for_browsers(server: tuple[str, list[str]]) -> None:
    base, _ = server
    for path in ("", "/collections", "/collections/kindergarten", "/collections/kindergarten/items",
                 "/conformance", "/collections/kindergarten/queryables"):
        resp = requests.get(f"{base}/ogc{path}", headers={"Accept": "text/html"}, timeout=30)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html"), path
    page = requests.get(f"{base}/ogc/collections/kindergarten/items?f=html&filter=name LIKE 'OGC%25'",
                        timeout=30).text
    assert 'id="number-matched">45<' in page and "OGC测试幼儿园" in page
    assert json.loads(requests.get(f"{base}/ogc/collections?f=json", timeout=30).text)["collections"]
