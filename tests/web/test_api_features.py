"""The GeoJSON of ``/api/facilities`` (features written by PostgreSQL) against the general shaping.

The API serialises each page from ``registry.query.run_features``; these tests
rebuild the same responses from ``run`` + ``feature`` and compare them, and run
the API outside a transaction (the production path: a real engine, autocommit
reads) against the committed sample.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from registry import query as ql
from tests.postgis.test_query import CENTRE, add, ring_points

NEAR = f"{CENTRE[0]},{CENTRE[1]}"
URLS = [
    f"/api/facilities?near={NEAR}&radius=2000",
    f"/api/facilities?near={NEAR}&radius=2000&kind=parking_lot&limit=500",
    f"/api/facilities?near={NEAR}&radius=3000&kind=kindergarten,study_room&status=open&limit=20&offset=10",
    f"/api/facilities?nearest={NEAR}&k=10",
    "/api/facilities?nearest=113.671103,34.752187&crs=gcj02&k=5&kind=kindergarten&max_distance=5000",
    "/api/facilities?bbox=113.6,34.7,113.7,34.8&limit=1000",
    "/api/facilities?district=金水区&kind=elevator&limit=50",
    "/api/facilities?kind=study_room&where=seats<50&sort=-seats",
    "/api/facilities?within=金水区&kind=parking_lot",
    "/api/v1/facilities?kind=museum&limit=3&offset=2",
]


def expected(session: Session, url: str) -> dict:
    parts = urlsplit(url)
    q = ql.parse_params({k: v for k, v in parse_qs(parts.query).items()})
    result = ql.run(session, q)
    return {"numberMatched": result.number_matched, "numberReturned": result.number_returned,
            "query": q.describe(), "features": [ql.feature(r) for r in result.rows]}


def check(client: FlaskClient, session: Session, url: str) -> dict:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/geo+json"
    body = resp.get_json()
    want = json.loads(json.dumps(expected(session, url), ensure_ascii=False, default=str))
    assert list(body) == ["type", "numberMatched", "numberReturned", "query", "next", "links", "features"]
    assert body["type"] == "FeatureCollection"
    assert {k: body[k] for k in want} == want
    return body


@pytest.mark.parametrize("url", URLS)
def test_geojson_equals_the_general_shaping(client: FlaskClient, session: Session, url: str) -> None:
    body = check(client, session, url)
    assert body["features"], "the comparison needs features"


def test_next_links_and_added_rows(client: FlaskClient, session: Session) -> None:
    add(session, "parking_lot", ring_points(300.0, n=40, seed=41),
        entrances=["SRID=4326;MULTIPOINT((113.66 34.75),(113.661 34.751))"] * 80)
    url = f"/api/facilities?near={NEAR}&radius=300&kind=parking_lot&where=source=test-query&limit=9"
    while url:
        body = check(client, session, url)
        assert all(f["properties"]["entrances"] == "113.660000,34.750000;113.661000,34.751000"
                   for f in body["features"])
        url = body["next"] and "/api/facilities?" + urlsplit(body["next"]).query


@pytest.fixture()
def engine_client(pg_url: str, sample_loaded: None) -> Iterator[FlaskClient]:
    """An app on a real engine (no test transaction): the API's reads run outside a transaction."""
    from registry import create_app
    from registry.db import engine_for
    from registry.web import api

    app: Flask = create_app({"TESTING": True, "DATABASE_URL": pg_url, "SECRET_KEY": "test"})
    yield app.test_client()
    engine_for(pg_url).dispose()
    api.dispose_read_pools()


@pytest.mark.parametrize("url", URLS[:6])
def test_reads_outside_a_transaction_answer_the_same(engine_client: FlaskClient, client: FlaskClient,
                                                     url: str) -> None:
    first = engine_client.get(url)
    again = engine_client.get(url)  # the pooled connection comes back with its transaction settings reset
    bound = client.get(url)
    assert first.status_code == again.status_code == bound.status_code == 200
    assert first.get_json() == again.get_json() == bound.get_json()
    assert engine_client.get("/api/facilities?near=1,2").status_code == 400


def test_feature_pages_are_read_on_the_read_pool(engine_client: FlaskClient, engine: Engine) -> None:
    from registry.web import api

    url = f"/api/facilities?near={NEAR}&radius=2000"
    assert engine_client.get(url).status_code == 200
    with engine.connect() as conn:
        names = conn.execute(text("SELECT application_name FROM pg_stat_activity WHERE datname = current_database()")
                             ).scalars().all()
    assert api.READ_POOL_NAME in names


def test_the_read_pool_replaces_connections_the_server_closed(engine_client: FlaskClient, engine: Engine) -> None:
    from registry.web import api

    url = f"/api/facilities?nearest={NEAR}&k=10"
    first = engine_client.get(url)
    assert first.status_code == 200
    with engine.connect() as conn:  # what a database restart does to the pooled connections
        killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE application_name = :name"), {"name": api.READ_POOL_NAME}).scalar()
    assert killed
    again = engine_client.get(url)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json() == first.get_json()
