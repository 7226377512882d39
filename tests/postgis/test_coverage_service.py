"""Coverage against PostGIS, cross-checked by independent computations (geopandas, PostGIS geography).

Layers and facilities made here live in the test's rolled-back transaction.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from registry.coverage import cache, runs, service
from registry.coverage.inputs import LayerInfo
from registry.coverage.layers import ImportedLayer, LayerImportError, write_layer
from registry.coverage.params import CoverageInputError, coverage_request, site_request
from registry.coverage.whatif import parse_scenario
from registry.models import KIND_MODELS, CensusUnit, Facility

SRC = "test-coverage"
RNG = np.random.default_rng(11)
# A 4 km x 3 km box in 金水区 / 二七区.
BOX = (113.62, 34.74, 113.66, 34.77)


def add_facilities(session: Session, kind: str, points: list[tuple[float, float]], **attrs: object) -> list[int]:
    model = KIND_MODELS[kind]
    objs = []
    for i, (lon, lat) in enumerate(points):
        values = {k: (v[i] if isinstance(v, list) else v) for k, v in attrs.items()}
        values.setdefault("status", "open")
        objs.append(model(source=SRC, external_id=f"{kind}-{i}-{lon:.7f}-{lat:.7f}", name=f"测试{i}",
                          geom=f"SRID=4326;POINT({lon!r} {lat!r})", is_synthetic=True, **values))
    session.add_all(objs)
    session.flush()
    return [o.id for o in objs]


def random_points(n: int, box: tuple[float, float, float, float] = BOX) -> list[tuple[float, float]]:
    return list(zip(RNG.uniform(box[0], box[2], n).tolist(), RNG.uniform(box[1], box[3], n).tolist()))


@pytest.fixture()
def small_layer(session: Session) -> str:
    """A 2,000-point population layer in BOX (stored like an import)."""
    pts = random_points(2_000)
    cells = gpd.GeoDataFrame({"population": RNG.integers(0, 200, len(pts)).astype(float), "cell": [None] * len(pts)},
                             geometry=shapely.points(pts), crs=4326)
    name = f"test_points_{RNG.integers(1e9)}"
    write_layer(session, ImportedLayer(LayerInfo(name, 2021, "test points", geometry_kind="points"), cells))
    return name


def test_shipped_grid_sums_to_the_census_per_unit(session: Session) -> None:
    res = service.get_coverage(session, coverage_request({"kind": "museum"})).result
    census = dict(session.execute(select(CensusUnit.code, CensusUnit.pop_2020)).all())
    assert res.city["population"] == sum(census.values()) == 12_600_574
    for row in res.units.itertuples():
        assert row.population == census[row.code]
    ctx = res.to_dict()
    assert ctx["layer"]["name"] == "modelled_grid_250m" and ctx["layer"]["is_modelled"] is True
    assert any("modelled" in n["en"] for n in ctx["notes"])


def test_residents_per_facility_counts_facilities_inside_each_census_unit(session: Session) -> None:
    res = service.get_coverage(session, coverage_request({"kind": "museum"})).result
    # Independent count: point-in-polygon in PostGIS.
    counts = dict(session.execute(text(
        "SELECT c.code, count(f.id) FROM census_unit c LEFT JOIN facility f ON f.kind = 'museum' "
        "AND f.deleted_at IS NULL AND ST_Intersects(c.geom, f.geom) GROUP BY c.code")).all())
    for row in res.units.itertuples():
        assert row.facilities == counts[row.code]
        if row.facilities:
            assert row.residents_per_facility == pytest.approx(row.population / row.facilities)
            expected = "meets" if row.population / row.facilities <= 100_000 else "short"
            assert row.status == expected  # MUS-1
    assert res.city["target"] == 100_000


def test_coverage_matches_geopandas_sjoin_nearest(session: Session, small_layer: str) -> None:
    fac_ids = add_facilities(session, "kindergarten", random_points(25), places=[int(x) for x in
                                                                                 RNG.integers(90, 400, 25)])
    res = service.get_coverage(session, coverage_request({"kind": "kindergarten", "layer": small_layer,
                                                          "radius": "300,500"})).result
    conn = session.connection()
    cells = gpd.read_postgis(text(
        "SELECT c.id, c.population, c.geom FROM population_cell c JOIN population_layer l ON l.id = c.layer_id "
        "WHERE l.name = :n"), conn, geom_col="geom", params={"n": small_layer})
    facs = gpd.read_postgis(text("SELECT id, geom FROM facility WHERE kind = 'kindergarten' AND deleted_at IS NULL"),
                            conn, geom_col="geom")
    assert set(fac_ids) <= set(facs["id"])
    cells_m, facs_m = cells.to_crs(4547), facs.to_crs(4547)
    for radius, figures in zip((300, 500), res.city["radii"]):
        joined = gpd.sjoin_nearest(cells_m, facs_m, max_distance=radius, distance_col="d")
        joined = joined[~joined.index.duplicated()]
        assert figures["covered_population"] == pytest.approx(joined["population"].sum())
    nearest = gpd.sjoin_nearest(cells_m, facs_m, distance_col="d")
    nearest = nearest[~nearest.index.duplicated()].sort_values("id_left")
    from registry.coverage.metrics import weighted_quantile

    assert res.city["distance"]["median_m"] == pytest.approx(
        weighted_quantile(nearest["d"].to_numpy(), nearest["population"].to_numpy(), 0.5), abs=1e-6)
    # Geodesic check in PostGIS: straight-line EPSG:4547 and spheroid metres agree to centimetres here.
    geo = session.execute(text(
        "SELECT coalesce(sum(c.population), 0) FROM population_cell c JOIN population_layer l ON l.id = c.layer_id "
        "WHERE l.name = :n AND EXISTS (SELECT 1 FROM facility f WHERE f.kind = 'kindergarten' "
        "AND f.deleted_at IS NULL AND ST_DWithin(geography(f.geom), geography(c.geom), 300))"),
        {"n": small_layer}).scalar()
    assert res.city["radii"][0]["covered_population"] == pytest.approx(float(geo), rel=1e-3)


def test_a_new_facility_changes_the_result_at_once(session: Session, small_layer: str) -> None:
    """Nearest distances are cached per facility set: a change in the registry is seen by the next query."""
    req = coverage_request({"kind": "parking_lot", "layer": small_layer, "radius": "300"})
    first = service.get_coverage(session, req).result
    hits = cache.NEAREST.hits
    again = service.get_coverage(session, req).result
    assert cache.NEAREST.hits == hits + 1  # same facilities: distances reused
    assert again.city == first.city
    top = first.hot_spots[300.0].iloc[0]
    add_facilities(session, "parking_lot", [(top.geometry.x, top.geometry.y)], spaces=50)
    after = service.get_coverage(session, req).result
    gain = after.city["radii"][0]["covered_population"] - first.city["radii"][0]["covered_population"]
    assert gain >= top["population"] > 0
    assert after.city["facilities"] == first.city["facilities"] + 1


def test_filters_status_attributes_as_of_and_soft_delete(session: Session, small_layer: str) -> None:
    ids = add_facilities(session, "kindergarten", random_points(4), status=["open", "open", "planned", "open"],
                         operator_type=["public", "for_profit", "public", "public"])
    base = {"kind": "kindergarten", "layer": small_layer}
    n_all = service.get_coverage(session, coverage_request(base)).facilities
    open_public = service.get_coverage(session, coverage_request(
        base | {"status": "open", "where": "operator_type:公办"})).facilities
    assert {ids[0], ids[3]} <= set(open_public["id"]) and not {ids[1], ids[2]} & set(open_public["id"])
    assert len(open_public) < len(n_all)
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    session.execute(Facility.__table__.update().where(Facility.id == ids[0]).values(created_at=old))
    session.execute(Facility.__table__.update().where(Facility.id.in_(ids[1:])).values(
        created_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC)))
    as_of = service.get_coverage(session, coverage_request(base | {"as_of": "2023-01-01"})).facilities
    assert ids[0] in set(as_of["id"]) and not set(ids[1:]) & set(as_of["id"])
    session.execute(Facility.__table__.update().where(Facility.id == ids[3]).values(deleted_at=func.now()))
    live = service.get_coverage(session, coverage_request(base)).facilities
    assert ids[3] not in set(live["id"])


def test_unknown_layer_names_the_parameter(session: Session) -> None:
    with pytest.raises(CoverageInputError) as err:
        service.get_coverage(session, coverage_request({"kind": "museum", "layer": "nope"}))
    assert err.value.parameter == "layer" and "modelled_grid_250m" in str(err.value)


def test_census_totals_layer(session: Session) -> None:
    res = service.get_coverage(session, coverage_request({"kind": "kindergarten", "layer": "census_2020"})).result
    assert res.city["population"] == 12_600_574
    assert res.city["radii"][0]["covered_share"] is None  # unknown without positions
    assert res.hot_spots == {}


def test_written_layer_keeps_provenance_and_gets_census_codes(session: Session, small_layer: str) -> None:
    layers = {layer["name"]: layer for layer in service.get_layers(session)}
    mine = layers[small_layer]
    assert (mine["year"], mine["source"], mine["geometry_kind"], mine["n_cells"]) == (2021, "test points", "points",
                                                                                       2000)
    assert "census_2020" in layers and layers["modelled_grid_250m"]["is_modelled"] is True
    codes = session.execute(text(
        "SELECT DISTINCT c.census_code FROM population_cell c JOIN population_layer l ON l.id = c.layer_id "
        "WHERE l.name = :n"), {"n": small_layer}).scalars().all()
    assert set(codes) <= {"410102", "410103", "410104", "410105", "410171", "410172"} and codes
    grid = service.load_grid(session, small_layer)
    assert len(grid) == 2000 and set(grid.unit) == set(codes)
    with pytest.raises(LayerImportError) as err:
        write_layer(session, ImportedLayer(LayerInfo(small_layer, 2021, "again"), gpd.GeoDataFrame(
            {"population": [1.0], "cell": [None]}, geometry=[shapely.Point(113.6, 34.7)], crs=4326)))
    assert err.value.parameter == "name"


def test_grid_read_by_binary_copy_matches_rows(session: Session) -> None:
    cache.clear_all()
    grid = service.load_grid(session, "modelled_grid_250m")
    rows = session.execute(text(
        "SELECT c.id, ST_X(c.geom), ST_Y(c.geom), c.population, c.census_code FROM population_cell c "
        "JOIN population_layer l ON l.id = c.layer_id WHERE l.name = 'modelled_grid_250m' ORDER BY c.id LIMIT 5")).all()
    from registry.coverage.inputs import lonlat_to_metric

    for i, (cid, lon, lat, pop, code) in enumerate(rows):
        assert grid.ids[i] == cid and grid.population[i] == pop and grid.unit[i] == code
        assert grid.xy[i] == pytest.approx(lonlat_to_metric(np.array([lon]), np.array([lat]))[0])
    assert service.load_grid(session, "modelled_grid_250m") is grid  # cached


def test_what_if_adds_the_residents_around_a_new_site(session: Session, small_layer: str) -> None:
    req = coverage_request({"kind": "kindergarten", "layer": small_layer, "radius": "300"})
    before = service.get_coverage(session, req).result
    top = before.hot_spots[300.0].iloc[0]
    lon, lat = top.geometry.x, top.geometry.y
    whatif = service.get_whatif(session, req, parse_scenario(f"{lon},{lat},120"))
    gain = whatif.result.delta["city"]["radii"][0]["covered_population"]
    assert gain >= top["population"] > 0
    assert whatif.result.delta["city"]["facilities"] in (0, 1)  # 1 when the site lies inside a census unit
    assert -1 in set(whatif.after.facilities["id"])
    # Nothing was written to the registry.
    assert session.scalar(select(func.count()).select_from(Facility).where(Facility.id < 0)) == 0


def test_site_selection_greedy_and_exact_on_the_small_layer(session: Session, small_layer: str) -> None:
    add_facilities(session, "study_room", random_points(3), seats=30)
    req = site_request({"kind": "study_room", "layer": small_layer, "radius": "500", "k": "3", "solver": "both",
                        "candidates": "grid:250"})
    res = service.get_site_selection(session, req).result
    assert len(res.sites) == 3
    assert res.solvers["gap_vs_exact"] <= 0.02
    assert res.city["covered_after"] == pytest.approx(res.city["covered_before"] + res.city["newly_covered"])
    assert res.city["covered_after"] <= res.city["population"]
    assert res.sites["newly_covered"].is_monotonic_decreasing
    # Points given by the planner.
    pts = site_request({"kind": "study_room", "layer": small_layer, "radius": "500", "k": "1",
                        "candidates": {"type": "points", "points": [[113.64, 34.755, "甲"], [113.9, 34.9, "远"]]}})
    one = service.get_site_selection(session, pts).result
    assert one.sites["name"].tolist() == ["甲"]


def test_site_selection_needs_positions(session: Session) -> None:
    with pytest.raises(CoverageInputError) as err:
        service.get_site_selection(session, site_request({"kind": "kindergarten", "layer": "census_2020"}))
    assert err.value.parameter == "layer"


def test_runs_save_reopen_compare_rerun(session: Session, small_layer: str) -> None:
    req = coverage_request({"kind": "kindergarten", "layer": small_layer, "status": "open"})
    a = runs.save_coverage(session, service.get_coverage(session, req), title="before")
    add_facilities(session, "kindergarten", [(113.64, 34.755)], places=180)
    b = runs.save_coverage(session, service.get_coverage(session, req), title="after")
    session.flush()
    again = runs.get_run(session, a.id)
    assert again.params == req.to_params() and again.layer_name == small_layer and again.radii_m == [300.0]
    assert again.results["layer"]["name"] == small_layer
    cmp = runs.compare_runs(a, b)
    facilities = next(r for r in cmp["city"] if r["figure"] == "facilities")
    assert facilities["delta"] == 1 and cmp["params_differ"] == []
    fresh = runs.rerun(session, a)
    assert fresh.result.city["facilities"] == b.results["city"]["facilities"]
    assert [r.id for r in runs.list_runs(session, kind="kindergarten", limit=2)] == [b.id, a.id]
    with pytest.raises(runs.RunNotFound):
        runs.get_run(session, 10**9)


def test_exports(session: Session, small_layer: str) -> None:
    from maps import find_external_requests
    from registry.coverage import export

    run = runs.save_site_selection(session, service.get_site_selection(session, site_request(
        {"kind": "kindergarten", "layer": small_layer, "k": "2", "candidates": "grid:500"})))
    session.flush()
    csv_text = export.run_csv(run)
    assert csv_text.startswith("\ufeffrun_id,") and small_layer in csv_text and ",300," in csv_text
    assert len(csv_text.strip().splitlines()) == 1 + 2
    units_csv = export.run_csv(run, "units")
    assert "share_after" in units_csv and "全市" in units_csv
    gj = export.run_geojson(run, service.load_units(session))
    layers = {f["properties"]["layer"] for f in gj["features"]}
    assert {"unit", "site", "facility"} <= layers and gj["metadata"]["params"]["k"] == 2
    assert export.run_png(run).startswith(b"\x89PNG")
    page = export.run_html(run, service.load_units(session))
    assert "<script" in page and find_external_requests(page) == []
    with pytest.raises(ValueError):
        export.run_csv(run, "nope")
