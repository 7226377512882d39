"""The query layer against PostGIS, checked by an independent computation (pyproj, shapely).

Facilities are added inside the test's rolled-back transaction at known
positions (made with pyproj's forward geodesic), including points a
millimetre inside and outside the radius.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from pyproj import Geod, Transformer
from shapely.geometry import Point, box, shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from registry import query as ql
from registry.config import DATA_DIR
from registry.coords import wgs84_to_bd09, wgs84_to_gcj02
from registry.models import KIND_MODELS

GEOD = Geod(ellps="WGS84")
SRC = "test-query"
CENTRE = (113.6654, 34.7579)  # near 二七广场 / 金水区 boundary


def add(session: Session, kind: str, points: list[tuple[float, float]], **attrs: object) -> list[int]:
    """Add facilities of ``kind`` at ``points`` (source ``test-query``); attrs may be lists (one per point)."""
    model = KIND_MODELS[kind]
    objs = []
    for i, (lon, lat) in enumerate(points):
        values = {k: (v[i] if isinstance(v, list) else v) for k, v in attrs.items()}
        objs.append(model(source=SRC, external_id=f"{kind}-{len(points)}-{i}-{lon:.7f}", name=f"测试{i}",
                          geom=f"SRID=4326;POINT({lon!r} {lat!r})", status="open", is_synthetic=True, **values))
    session.add_all(objs)
    session.flush()
    return [o.id for o in objs]


def run(session: Session, **params: str | list[str]) -> ql.QueryResult:
    data = {k.replace("_", "-") if k == "filter_lang" else k: (v if isinstance(v, list) else [v])
            for k, v in params.items()}
    return ql.run(session, ql.parse_params(data))


def ring_points(radius: float, n: int = 300, seed: int = 7) -> list[tuple[float, float]]:
    """Random points out to twice ``radius``, plus pairs 1 mm and 1 cm either side of the radius."""
    rng = np.random.default_rng(seed)
    az = rng.uniform(0, 360, n)
    dist = rng.uniform(0, 2 * radius, n)
    lons, lats, _ = GEOD.fwd(np.full(n, CENTRE[0]), np.full(n, CENTRE[1]), az, dist)
    pts = list(zip(lons.tolist(), lats.tolist()))
    for k, azimuth in enumerate((0, 45, 90, 135, 180, 225, 270, 315)):
        for delta in (-0.01, -0.001, 0.001, 0.01):
            lon, lat, _ = GEOD.fwd(CENTRE[0], CENTRE[1], azimuth + k, radius + delta)
            pts.append((lon, lat))
    return pts


def pyproj_distances(points: list[tuple[float, float]], centre: tuple[float, float] = CENTRE) -> np.ndarray:
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    _, _, dist = GEOD.inv(np.full(len(points), centre[0]), np.full(len(points), centre[1]), lons, lats)
    return dist


# --------------------------------------------------------------------------- radius
@pytest.mark.parametrize("radius", [300.0, 1000.0])
def test_radius_matches_pyproj_geodesic_including_boundary(session: Session, radius: float) -> None:
    pts = ring_points(radius)
    ids = add(session, "kindergarten", pts)
    dist = dict(zip(ids, pyproj_distances(pts)))
    expected = {i for i, d in dist.items() if d <= radius}
    result = run(session, near=f"{CENTRE[0]},{CENTRE[1]}", radius=str(radius), where="source=test-query",
                 limit="10000")
    got = [r["id"] for r in result.rows]
    assert set(got) == expected
    assert result.number_matched == len(expected)
    # boundary pairs: 8 points 1 mm / 1 cm inside are in, 8 outside are out
    assert sum(1 for i in expected if radius - 0.02 < dist[i] <= radius) == 16
    for row in result.rows:
        assert row["distance_m"] == pytest.approx(dist[row["id"]], abs=1e-3)
    assert [r["distance_m"] for r in result.rows] == sorted(r["distance_m"] for r in result.rows)


def test_radius_over_every_facility_matches_pyproj(session: Session) -> None:
    add(session, "parking_lot", ring_points(800.0, n=200, seed=3))
    rows = session.execute(text("SELECT id, ST_X(geom), ST_Y(geom) FROM facility")).all()
    if "deleted_at" in {c["name"] for c in session.execute(text(
            "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'facility'")).mappings()}:
        live = {i for (i,) in session.execute(text("SELECT id FROM facility WHERE deleted_at IS NULL"))}
        rows = [r for r in rows if r[0] in live]
    dist = pyproj_distances([(x, y) for _, x, y in rows])
    expected = {r[0] for r, d in zip(rows, dist) if d <= 800.0}
    result = run(session, near=f"{CENTRE[0]},{CENTRE[1]}", radius="800", limit="10000")
    assert {r["id"] for r in result.rows} == expected
    assert result.number_matched == len(expected)


def test_projected_radius_matches_epsg4547_metres(session: Session) -> None:
    to_4547 = Transformer.from_crs(4326, 4547, always_xy=True)
    cx, cy = to_4547.transform(*CENTRE)
    radius = 500.0
    pts = ring_points(radius, n=150, seed=11)
    # points 1 cm either side of the radius measured in the projection
    for azimuth in np.linspace(0, 2 * math.pi, 8, endpoint=False):
        for delta in (-0.01, 0.01):
            x = cx + (radius + delta) * math.sin(azimuth)
            y = cy + (radius + delta) * math.cos(azimuth)
            pts.append(to_4547.transform(x, y, direction="INVERSE"))
    ids = add(session, "museum", pts)
    xs, ys = to_4547.transform([p[0] for p in pts], [p[1] for p in pts])
    planar = dict(zip(ids, np.hypot(np.array(xs) - cx, np.array(ys) - cy)))
    expected = {i for i, d in planar.items() if d <= radius}
    result = run(session, near=f"{CENTRE[0]},{CENTRE[1]}", radius=str(radius), distance="projected",
                 where="source=test-query", limit="10000")
    assert {r["id"] for r in result.rows} == expected
    for row in result.rows:
        assert row["distance_m"] == pytest.approx(planar[row["id"]], abs=2e-3)


# --------------------------------------------------------------------------- nearest
def test_nearest_is_exact_on_the_spheroid_where_the_sphere_disagrees(session: Session) -> None:
    # 1,000 m north and 1,002 m east: the sphere (used by the index's <->) ranks east first
    north = GEOD.fwd(CENTRE[0], CENTRE[1], 0, 1000.0)[:2]
    east = GEOD.fwd(CENTRE[0], CENTRE[1], 90, 1002.0)[:2]
    a, b = add(session, "study_room", [north, east])
    sphere_first = session.execute(text(
        "SELECT id FROM facility WHERE id IN (:a, :b) ORDER BY geography(geom) <-> "
        "geography(ST_SetSRID(ST_MakePoint(:x, :y), 4326)) LIMIT 1"), {"a": a, "b": b, "x": CENTRE[0],
                                                                       "y": CENTRE[1]}).scalar()
    assert sphere_first == b  # so the test below can fail
    result = run(session, nearest=f"{CENTRE[0]},{CENTRE[1]}", k="1", where="source=test-query")
    assert [r["id"] for r in result.rows] == [a]
    assert result.rows[0]["distance_m"] == pytest.approx(1000.0, abs=1e-3)
    both = run(session, nearest=f"{CENTRE[0]},{CENTRE[1]}", k="2", where="source=test-query")
    assert [r["id"] for r in both.rows] == [a, b]


def test_nearest_k_matches_pyproj_and_respects_max_distance(session: Session) -> None:
    pts = ring_points(2000.0, n=250, seed=5)
    ids = add(session, "kindergarten", pts, operator_type=["public" if i % 3 else "for_profit"
                                                           for i in range(len(pts))])
    dist = dict(zip(ids, pyproj_distances(pts)))
    public = [i for k, i in enumerate(ids) if k % 3]
    want = sorted(public, key=lambda i: (dist[i], i))[:10]
    result = run(session, nearest=f"{CENTRE[0]},{CENTRE[1]}", k="10", kind="kindergarten",
                 where=["source=test-query", "operator_type=公办"])
    assert [r["id"] for r in result.rows] == want
    assert result.number_matched == 10
    capped = run(session, nearest=f"{CENTRE[0]},{CENTRE[1]}", k="50", max_distance="300",
                 where="source=test-query")
    assert {r["id"] for r in capped.rows} == {i for i, d in sorted(dist.items(), key=lambda t: t[1])[:50]
                                              if d <= 300}


def test_gcj02_and_bd09_points_are_converted_before_querying(session: Session) -> None:
    pts = ring_points(300.0, n=80, seed=13)
    add(session, "elevator", pts)
    base = run(session, near=f"{CENTRE[0]},{CENTRE[1]}", radius="300", where="source=test-query", limit="1000")
    gx, gy = wgs84_to_gcj02(*CENTRE)
    bx, by = wgs84_to_bd09(*CENTRE)
    for crs, (x, y) in (("gcj02", (gx, gy)), ("bd09", (bx, by)), ("amap", (gx, gy))):
        other = run(session, near=f"{x!r},{y!r}", radius="300", crs=crs, where="source=test-query", limit="1000")
        assert {r["id"]: r["distance_m"] for r in other.rows} == pytest.approx(
            {r["id"]: r["distance_m"] for r in base.rows}, abs=1e-3)
        assert other.query.point.wgs84 == pytest.approx(CENTRE, abs=1e-8)
    # taken as WGS-84, the GCJ-02 point is several hundred metres off: the answer differs
    wrong = run(session, near=f"{gx!r},{gy!r}", radius="300", where="source=test-query", limit="1000")
    assert {r["id"] for r in wrong.rows} != {r["id"] for r in base.rows}


# --------------------------------------------------------------------------- areas
def _district_shape(name: str):  # type: ignore[no-untyped-def]
    data = json.loads((DATA_DIR / "zhengzhou_districts_wgs84.geojson").read_text(encoding="utf-8"))
    for feat in data["features"]:
        if name in json.dumps(feat["properties"], ensure_ascii=False):
            return shape(feat["geometry"])
    raise AssertionError(name)


def test_within_district_polygon_and_bbox_match_shapely(session: Session) -> None:
    jinshui = _district_shape("金水区")
    rng = np.random.default_rng(21)
    minx, miny, maxx, maxy = jinshui.bounds
    pts = list(zip(rng.uniform(minx - 0.05, maxx + 0.05, 300).tolist(),
                   rng.uniform(miny - 0.05, maxy + 0.05, 300).tolist()))
    ids = add(session, "parking_lot", pts, spaces=[int(v) for v in rng.integers(0, 400, len(pts))])
    inside = {i for i, p in zip(ids, pts) if jinshui.covers(Point(p))}
    assert 0 < len(inside) < len(ids)
    for name in ("金水区", "410105"):
        got = run(session, within=name, kind="parking_lot", where="source=test-query", limit="10000")
        assert {r["id"] for r in got.rows} == inside

    poly = {"type": "Polygon", "coordinates": [[[113.62, 34.74], [113.70, 34.74], [113.70, 34.80],
                                                [113.66, 34.83], [113.62, 34.80], [113.62, 34.74]]]}
    poly_shape = shape(poly)
    q = ql.parse_params({"where": ["source=test-query"], "limit": ["10000"]}, polygon=poly)
    got_poly = {r["id"] for r in ql.run(session, q).rows}
    assert got_poly == {i for i, p in zip(ids, pts) if poly_shape.covers(Point(p))}

    bbox = (113.64, 34.75, 113.72, 34.79)
    got_box = run(session, bbox=",".join(map(str, bbox)), where="source=test-query", limit="10000")
    assert {r["id"] for r in got_box.rows} == {i for i, p in zip(ids, pts) if box(*bbox).covers(Point(p))}

    # combined: in 金水区, at least 300 spaces, within 3 km
    rows = run(session, within="金水区", near=f"{CENTRE[0]},{CENTRE[1]}", radius="3000",
               where=["source=test-query", "spaces>=300"], limit="10000").rows
    dist = dict(zip(ids, pyproj_distances(pts)))
    lots = {o.id: o.spaces for o in session.query(KIND_MODELS["parking_lot"]).filter_by(source=SRC)}
    assert {r["id"] for r in rows} == {i for i in inside if dist[i] <= 3000 and lots[i] >= 300}


# --------------------------------------------------------------------------- attribute filters
def test_attribute_conditions_and_unknown_values(session: Session) -> None:
    rooms = add(session, "study_room", [CENTRE] * 4, seats=[10, 14, 15, None])
    kgs = add(session, "kindergarten", [CENTRE] * 3, operator_type=["public", "for_profit", None])
    lifts = add(session, "elevator", [CENTRE] * 3,
                last_inspection_date=[dt.date(2024, 12, 31), dt.date(2025, 3, 1), None])

    def ids(**params: str | list[str]) -> set[int]:
        return {r["id"] for r in run(session, where=["source=test-query", *params.pop("where", [])],
                                     limit="1000", **params).rows}

    assert ids(where=["seats<15"]) == set(rooms[:2])  # unknown seats is not "< 15"
    assert ids(where=["seats=null"]) == {rooms[3]}  # unknown, and only study rooms
    assert ids(where=["operator_type=公办"]) == {kgs[0]}
    assert ids(where=["operator_type!=public"]) == {kgs[1]}
    assert ids(where=["inspection_due<2026-01-01"]) == {lifts[0]}  # EL-2: last inspection + 1 year
    assert ids(where=["inspection_due=null"], kind="elevator") == {lifts[2]}
    assert ids(filter="seats < 15 OR operator_type = 'public'") == set(rooms[:2]) | {kgs[0]}
    assert ids(filter="seats BETWEEN 14 AND 15") == set(rooms[1:3])
    assert ids(filter="CASEI(name) LIKE '测试%' AND kind IN ('elevator')") == set(lifts)
    assert ids(where=["name~测试"], kind="study_room") == set(rooms)
    assert ids(sort="-seats", kind="study_room") == set(rooms)
    ordered = run(session, kind="study_room", where="source=test-query", sort="-seats").rows
    assert [r["id"] for r in ordered] == [rooms[2], rooms[1], rooms[0], rooms[3]]  # unknown last


def test_paging_covers_every_row_once(session: Session) -> None:
    add(session, "museum", ring_points(400.0, n=57, seed=2))
    seen: list[int] = []
    offset = 0
    while True:
        page = run(session, near=f"{CENTRE[0]},{CENTRE[1]}", radius="800", where="source=test-query",
                   limit="10", offset=str(offset))
        seen += [r["id"] for r in page.rows]
        if page.next_offset is None:
            break
        offset = page.next_offset
    assert len(seen) == len(set(seen)) == page.number_matched


def test_output_crs_4547_gives_projected_coordinates(session: Session) -> None:
    (fid,) = add(session, "museum", [CENTRE])
    q = ql.Query(ids=(fid,), out_srid=4547)
    row = ql.run(session, q).rows[0]
    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform(*CENTRE)
    assert row["x"] == pytest.approx(x, abs=1e-3) and row["y"] == pytest.approx(y, abs=1e-3)
