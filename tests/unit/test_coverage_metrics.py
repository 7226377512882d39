"""Coverage metrics on tiny layouts that can be checked by hand (EPSG:4547 metres).

Layout used throughout::

    cells      A (0, 0) 100 residents      B (400, 0) 200      C (1000, 0) 300
    units      A, B in U1                                    C in U2
    facilities F1 (0, 100) 30 places in U1                   F2 (1000, 250) 60 places in U2

    nearest    A -> F1 100 m     B -> F1 √(400² + 100²) = 412.31 m     C -> F2 250 m
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from registry.coverage.inputs import (
    FacilitySet,
    LayerInfo,
    PopulationGrid,
    UnitTable,
    metric_xy,
)
from registry.coverage.metrics import (
    compute_coverage,
    covered_population,
    distance_distribution,
    distance_histogram,
    hot_spots,
    nearest_facility,
    residents_per_facility,
    two_step_fca,
    weighted_quantile,
)
from registry.coverage.standards import STANDARDS, standard_for
from registry.kinds import KIND_SPECS

B_DIST = math.hypot(400, 100)


@pytest.fixture()
def grid() -> PopulationGrid:
    return PopulationGrid(np.array([[0.0, 0], [400, 0], [1000, 0]]), [100, 200, 300], ["U1", "U1", "U2"],
                          [11, 12, 13], LayerInfo("tiny", 2020, "hand-made", cell_size_m=100.0, is_modelled=True))


@pytest.fixture()
def facilities() -> FacilitySet:
    return FacilitySet([1, 2], np.array([[0.0, 100], [1000, 250]]), [30, 60], ["U1", "U2"], ["F1", "F2"])


@pytest.fixture()
def units() -> UnitTable:
    return UnitTable(pd.DataFrame({"code": ["U1", "U2"], "name": ["一区", "二区"], "census_population": [300, 300]}))


def test_nearest_distances(grid: PopulationGrid, facilities: FacilitySet) -> None:
    near = nearest_facility(grid.xy, facilities.xy)
    assert near.distance_m == pytest.approx([100.0, B_DIST, 250.0])
    assert near.index.tolist() == [0, 0, 1]


def test_nearest_without_facilities_is_infinite(grid: PopulationGrid) -> None:
    near = nearest_facility(grid.xy, np.empty((0, 2)))
    assert np.isinf(near.distance_m).all() and (near.index == -1).all()


def test_covered_population_is_inclusive(grid: PopulationGrid, facilities: FacilitySet) -> None:
    d = nearest_facility(grid.xy, facilities.xy).distance_m
    assert covered_population(grid.population, d, 300) == (400.0, pytest.approx(2 / 3))
    assert covered_population(grid.population, d, 250) == (400.0, pytest.approx(2 / 3))  # C at exactly 250 m
    assert covered_population(grid.population, d, 249.99)[0] == 100.0
    assert covered_population(grid.population, d, 500) == (600.0, 1.0)
    assert covered_population(np.zeros(3), d, 500) == (0.0, None)


def test_weighted_quantiles() -> None:
    d = np.array([100.0, 412.31, 250.0])
    w = np.array([100.0, 200, 300])
    # sorted: 100 (100), 250 (300), 412 (200); cumulative 100, 400, 600
    assert weighted_quantile(d, w, 0.5) == 250.0  # 300 residents reached at 250 m
    assert weighted_quantile(d, w, 0.9) == 412.31
    assert weighted_quantile(d, w, 1 / 6) == 100.0  # exactly 100 of 600 -> 100 m
    assert weighted_quantile(d, np.zeros(3), 0.5) is None


def test_distance_distribution(grid: PopulationGrid, facilities: FacilitySet) -> None:
    d = nearest_facility(grid.xy, facilities.xy).distance_m
    dd = distance_distribution(d, grid.population)
    assert dd["median_m"] == 250.0
    assert dd["p90_m"] == pytest.approx(B_DIST)
    assert dd["mean_m"] == pytest.approx((100 * 100 + 200 * B_DIST + 300 * 250) / 600)
    assert dd["cell_median_m"] == 250.0  # cells unweighted: 100, 250, 412
    none = distance_distribution(np.full(3, np.inf), grid.population)
    assert none["median_m"] is None and none["mean_m"] is None


def test_distance_histogram_sums_to_population(grid: PopulationGrid, facilities: FacilitySet) -> None:
    d = nearest_facility(grid.xy, facilities.xy).distance_m
    hist = distance_histogram(d, grid.population, edges=(0, 200, 300, 500, math.inf))
    assert [b["population"] for b in hist] == [100.0, 300.0, 200.0, 0.0]
    assert hist[-1]["to_m"] is None
    assert sum(b["population"] for b in distance_histogram(np.full(3, np.inf), grid.population)) == 600


def test_residents_per_facility_and_mus1_target() -> None:
    r = residents_per_facility(250_000, 2, 100_000)
    assert r["residents_per_facility"] == 125_000 and r["per_100k"] == pytest.approx(0.8)
    assert (r["status"], r["needed"]) == ("short", 1)
    assert residents_per_facility(300_000, 3, 100_000)["status"] == "meets"  # exactly 100,000 per museum
    assert residents_per_facility(300_001, 3, 100_000)["status"] == "short"
    none = residents_per_facility(50_000, 0, 100_000)
    assert none["residents_per_facility"] is None and (none["status"], none["needed"]) == ("short", 1)
    unknown = residents_per_facility(None, 2, 100_000)
    assert unknown["status"] == "unknown" and unknown["per_100k"] is None
    assert residents_per_facility(600, 2)["status"] is None  # no target for the kind


def test_two_step_floating_catchment(grid: PopulationGrid, facilities: FacilitySet) -> None:
    a = two_step_fca(grid.xy, grid.population, facilities.xy, facilities.capacity, 300)
    # F1 reaches A only: 30 / 100 = 0.3; F2 reaches C only: 60 / 300 = 0.2; B reaches none.
    assert a.facility_ratio == pytest.approx([0.3, 0.2])
    assert a.per_resident == pytest.approx([0.3, 0.0, 0.2])
    # Supply is conserved: every place whose catchment has residents is counted once.
    assert (a.per_resident * grid.population).sum() == pytest.approx(90)
    wide = two_step_fca(grid.xy, grid.population, facilities.xy, facilities.capacity, 1000)
    # F1 reaches A, B (300 residents): 30 / 300 = 0.1; F2 reaches B (650 m), C (250 m): 60 / 500 = 0.12;
    # A is 1,031 m from F2 and C 1,005 m from F1.
    assert wide.facility_ratio == pytest.approx([0.1, 0.12])
    assert wide.per_resident == pytest.approx([0.1, 0.22, 0.12])


def test_two_step_fca_leaves_out_unknown_capacity(grid: PopulationGrid) -> None:
    facs = FacilitySet([1, 2], np.array([[0.0, 100], [1000, 250]]), [30, np.nan], ["U1", "U2"])
    a = two_step_fca(grid.xy, grid.population, facs.xy, facs.capacity, 300)
    assert a.n_capacity_unknown == 1
    assert a.per_resident == pytest.approx([0.3, 0.0, 0.0])
    assert np.isnan(a.facility_ratio[1])


def test_hot_spots_rank_uncovered_cells_by_population(grid: PopulationGrid, facilities: FacilitySet) -> None:
    d = nearest_facility(grid.xy, facilities.xy).distance_m
    spots = hot_spots(grid, d, 300, unit_names={"U1": "一区"})
    assert spots["cell_id"].tolist() == [12]
    assert spots["nearest_m"].iloc[0] == pytest.approx(B_DIST)
    assert spots["unit_name"].iloc[0] == "一区" and spots.crs.to_epsg() == 4326
    # A 100 m square around the cell centre (drawn in EPSG:4547, returned in WGS-84).
    assert spots.to_crs(4547).geometry.iloc[0].area == pytest.approx(100 * 100, rel=1e-6)
    everyone = hot_spots(grid, np.full(3, np.inf), 300)
    assert everyone["cell_id"].tolist() == [13, 12, 11] and everyone["nearest_m"].isna().all()
    assert hot_spots(grid, np.full(3, np.inf), 300, top=2)["rank"].tolist() == [1, 2]
    assert hot_spots(grid, np.full(3, np.inf), 300, top=0).empty  # hot_spots=0: none asked for


def test_compute_coverage_city_and_units(grid: PopulationGrid, facilities: FacilitySet, units: UnitTable) -> None:
    res = compute_coverage(grid, facilities, units, [500, 300], with_capacity=True, context={"kind": "kindergarten"})
    assert res.radii == [300.0, 500.0]
    city = res.city
    assert city["population"] == 600 and city["facilities"] == 2
    assert city["residents_per_facility"] == 300 and city["per_100k"] == pytest.approx(2 / 600 * 1e5)
    r300, r500 = city["radii"]
    assert (r300["covered_population"], r300["covered_share"]) == (400, pytest.approx(2 / 3))
    assert r300["access_per_1000"] == pytest.approx((100 * 0.3 + 300 * 0.2) / 600 * 1000)
    assert r300["no_access_share"] == pytest.approx(200 / 600)
    assert r500["covered_share"] == 1.0
    assert city["distance"]["median_m"] == 250.0 and city["capacity_total"] == 90
    u1, u2 = res.units.to_dict(orient="records")
    assert (u1["population"], u1["facilities"], u1["residents_per_facility"]) == (300, 1, 300)
    assert u1["covered_share_300"] == pytest.approx(1 / 3) and u2["covered_share_300"] == 1.0
    assert u1["median_m"] == pytest.approx(B_DIST) and u2["median_m"] == 250.0
    assert u1["access_per_1000_300"] == pytest.approx(100 * 0.3 / 300 * 1000)
    assert res.hot_spots[300.0]["cell_id"].tolist() == [12] and res.hot_spots[500.0].empty
    d = res.to_dict()
    assert d["layer"]["name"] == "tiny" and d["layer"]["is_modelled"] is True
    assert "tiny" in d["provenance"]["en"] and "300 m" in d["provenance"]["en"] and "modelled" in d["provenance"]["en"]
    assert d["units"][0]["radii"][0]["radius_m"] == 300.0
    assert d["hot_spots"]["300"]["features"][0]["properties"]["cell_id"] == 12


def test_compute_coverage_matches_plain_functions_on_random_layout() -> None:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 20_000, (5_000, 2))
    pop = rng.integers(0, 50, 5_000).astype(float)
    codes = np.where(xy[:, 0] < 10_000, "W", "E").astype(object)
    g = PopulationGrid(xy, pop, codes, np.arange(5_000), LayerInfo("r", 2020, "random"))
    f = FacilitySet(np.arange(1, 41), rng.uniform(0, 20_000, (40, 2)), rng.integers(10, 90, 40), ["W"] * 40)
    u = UnitTable(pd.DataFrame({"code": ["W", "E"], "name": ["西", "东"]}))
    res = compute_coverage(g, f, u, [800], with_capacity=True)
    d = nearest_facility(xy, f.xy).distance_m
    for k, code in enumerate(["W", "E"]):
        mask = codes == code
        row = res.units.iloc[k]
        assert row["covered_population_800"] == covered_population(pop[mask], d[mask], 800)[0]
        dd = distance_distribution(d[mask], pop[mask])
        assert (row["median_m"], row["p90_m"]) == (dd["median_m"], dd["p90_m"])
    assert res.city["distance"] == distance_distribution(d, pop)
    acc = two_step_fca(xy, pop, f.xy, f.capacity, 800).per_resident
    assert res.city["radii"][0]["access_per_1000"] == pytest.approx((pop * acc).sum() / pop.sum() * 1000)


def test_census_layer_gives_population_figures_only(facilities: FacilitySet, units: UnitTable) -> None:
    census = PopulationGrid(np.empty((0, 2)), [], [], [], LayerInfo("census_2020", 2020, "census",
                                                                     geometry_kind="units"))
    res = compute_coverage(census, facilities, units, [300], max_residents=100)
    assert res.city["population"] == 600 and res.city["residents_per_facility"] == 300
    assert res.city["status"] == "short" and res.city["needed"] == 4
    assert res.city["radii"][0]["covered_share"] is None  # unknown, not zero
    assert res.units.iloc[0]["covered_share_300"] is None and res.hot_spots == {}


def test_facilities_outside_units_serve_but_are_not_counted(grid: PopulationGrid, units: UnitTable) -> None:
    facs = FacilitySet([1, 2], np.array([[0.0, 100], [1000, 250]]), [30, 60], ["U1", ""])
    res = compute_coverage(grid, facs, units, [300])
    assert res.city["facilities"] == 1 and res.city["facilities_outside_units"] == 1
    assert res.city["radii"][0]["covered_population"] == 400  # F2 still covers C


def test_radius_must_be_positive(grid: PopulationGrid, facilities: FacilitySet, units: UnitTable) -> None:
    with pytest.raises(ValueError, match="positive"):
        compute_coverage(grid, facilities, units, [0])


def test_metric_xy_refuses_layers_without_crs_and_converts_degrees() -> None:
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(113.65, 34.75), shapely.Point(113.66, 34.75)])
    with pytest.raises(ValueError, match="no CRS"):
        metric_xy(pts)
    xy = metric_xy(pts.set_crs(4326))
    # 0.01° of longitude at 34.75°N is about 914 m, not 0.01.
    assert np.hypot(*(xy[1] - xy[0])) == pytest.approx(914.5, abs=1.5)


def test_geopandas_cross_check_of_nearest_and_coverage() -> None:
    """Independent computation: geopandas to_crs + sjoin_nearest(max_distance) on the same layers."""
    rng = np.random.default_rng(3)
    cells = gpd.GeoDataFrame({"population": rng.integers(1, 100, 3_000).astype(float)},
                             geometry=shapely.points(np.column_stack([rng.uniform(113.5, 113.8, 3_000),
                                                                      rng.uniform(34.65, 34.85, 3_000)])), crs=4326)
    facs = gpd.GeoDataFrame({"id": np.arange(1, 61)},
                            geometry=shapely.points(np.column_stack([rng.uniform(113.5, 113.8, 60),
                                                                     rng.uniform(34.65, 34.85, 60)])), crs=4326)
    g = PopulationGrid.from_geodataframe(cells, LayerInfo("x", 2020, "random"))
    f = FacilitySet.from_geodataframe(facs)
    ours = nearest_facility(g.xy, f.xy).distance_m
    ref = gpd.sjoin_nearest(cells.to_crs(4547), facs.to_crs(4547), distance_col="d")
    ref = ref[~ref.index.duplicated()]
    assert ours == pytest.approx(ref["d"].to_numpy(), abs=1e-6)
    within = gpd.sjoin_nearest(cells.to_crs(4547), facs.to_crs(4547), max_distance=500, distance_col="d")
    within = within[~within.index.duplicated()]
    assert covered_population(g.population, ours, 500)[0] == pytest.approx(within["population"].sum())


def test_standards_follow_the_documents() -> None:
    assert standard_for("kindergarten").radii_m == (300.0,)
    assert standard_for("study_room").radii_m == (500.0, 1000.0) and "SR-16" in standard_for("study_room").rule_ids
    assert standard_for("parking_lot").radii_m == (300.0,)
    museum = standard_for("museum")
    assert museum.radii_m == () and museum.residents_per_facility_max == 100_000 and museum.rule_ids == ("MUS-1",)
    for kind, spec in KIND_SPECS.items():
        assert STANDARDS[kind.value].capacity_field == spec.capacity_field
    with pytest.raises(ValueError):
        standard_for("library")
