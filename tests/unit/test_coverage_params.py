"""Analysis parameters (API/CLI/page input) and what-if scenarios, without a database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from registry import localtime
from registry.coverage.inputs import FacilitySet, LayerInfo, PopulationGrid, UnitTable
from registry.coverage.metrics import compute_coverage
from registry.coverage.params import (
    CoverageInputError,
    CoverageRequest,
    SiteRequest,
    coverage_request,
    parse_candidates,
    site_request,
)
from registry.coverage.whatif import (
    Scenario,
    Site,
    apply_scenario,
    compare,
    parse_scenario,
)


def test_defaults_come_from_the_standard() -> None:
    assert coverage_request({"kind": "kindergarten"}).radii == (300.0,)
    assert coverage_request({"kind": "study_room"}).radii == (500.0, 1000.0)
    assert coverage_request({"kind": "museum"}).radii == ()
    assert coverage_request({"kind": "museum", "radius": "2000"}).radii == (2000.0,)
    assert coverage_request({"kind": "parking_lot", "radius": "none"}).radii == ()
    req = coverage_request({"kind": "study_room", "radius": "1000，500m"})
    assert req.radii == (500.0, 1000.0) and req.layer == "modelled_grid_250m"


def test_filters_accept_values_and_chinese_terms() -> None:
    req = coverage_request({"kind": "kindergarten", "status": "开办", "where": ["operator_type:公办", "licensed=是",
                                                                             "places:unknown"]})
    assert req.filters.statuses == ("open",)
    assert req.filters.equals == (("operator_type", "public"), ("licensed", True), ("places", None))
    assert "operator_type=public" in req.filters.describe()


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({}, "kind"),
        ({"kind": "library"}, "kind"),
        ({"kind": "museum", "radius": "-3"}, "radius"),
        ({"kind": "museum", "radius": "abc"}, "radius"),
        ({"kind": "museum", "radius": "1,2,3,4,5,6"}, "radius"),
        ({"kind": "museum", "status": "flying"}, "status"),
        ({"kind": "museum", "where": "colour:red"}, "where"),
        ({"kind": "museum", "where": "grade"}, "where"),
        ({"kind": "museum", "where": "grade:grade9"}, "where"),
        ({"kind": "museum", "where": "annual_visitors:many"}, "where"),
        ({"kind": "museum", "as_of": "yesterday"}, "as_of"),
        ({"kind": "museum", "as_of": "2999-01-01"}, "as_of"),
        ({"kind": "museum", "district": "abc"}, "district"),
        ({"kind": "museum", "hot_spots": "-1"}, "hot_spots"),
    ],
)
def test_bad_coverage_input_names_the_parameter(args: dict, parameter: str) -> None:
    with pytest.raises(CoverageInputError) as err:
        coverage_request(args)
    assert err.value.parameter == parameter


def test_requests_round_trip_through_saved_params() -> None:
    req = coverage_request({"kind": "study_room", "where": ["wifi:true"], "as_of": "2024-05-01", "status": "open"})
    params = req.to_params()
    assert params["radius_m"] == [500.0, 1000.0] and params["as_of"] == "2024-05-01"
    assert CoverageRequest.from_params(params).to_params() == params
    site = site_request({"kind": "kindergarten", "k": "4", "solver": "both", "capacity": "2000",
                         "candidates": {"type": "points", "points": [[113.6, 34.7, "甲"], {"lon": 113.7, "lat": 34.8}]}})
    assert site.radius_m == 300.0 and site.k == 4 and site.candidates.names == ("甲", "")
    assert SiteRequest.from_params(site.to_params()).to_params() == site.to_params()


def test_site_request_checks() -> None:
    for args, parameter in (({"kind": "museum"}, "radius"), ({"kind": "kindergarten", "k": "0"}, "k"),
                            ({"kind": "kindergarten", "solver": "magic"}, "solver"),
                            ({"kind": "kindergarten", "radius": "300,500"}, "radius"),
                            ({"kind": "kindergarten", "capacity": "-1"}, "capacity"),
                            ({"kind": "kindergarten", "candidates": "grid:5"}, "candidates"),
                            ({"kind": "kindergarten", "candidates": "1,2"}, "candidates"),
                            ({"kind": "kindergarten", "candidates": {"type": "parcels"}}, "candidates")):
        with pytest.raises(CoverageInputError) as err:
            site_request(args)
        assert err.value.parameter == parameter, args


def test_candidates_from_text_and_parcels() -> None:
    assert parse_candidates("grid:500").spacing_m == 500
    pts = parse_candidates("113.6,34.7,甲\n113.61，34.71")
    assert pts.lonlat == ((113.6, 34.7), (113.61, 34.71)) and pts.names == ("甲", "")
    parcels = parse_candidates({"type": "parcels", "features": [{"type": "Feature", "properties": {"name": "地块1"},
                                "geometry": {"type": "Polygon", "coordinates": [[[113.6, 34.7], [113.61, 34.7],
                                                                                 [113.61, 34.71], [113.6, 34.71],
                                                                                 [113.6, 34.7]]]}}]})
    (lon, lat), = parcels.lonlat
    assert 113.6 < lon < 113.61 and 34.7 < lat < 34.71 and parcels.names == ("地块1",)


def test_scenario_parsing() -> None:
    sc = parse_scenario("113.65,34.75,300,新园\n113.7,34.8", "5, 7")
    assert sc.add == (Site(113.65, 34.75, 300.0, "新园"), Site(113.7, 34.8)) and sc.remove == (5, 7)
    assert parse_scenario([{"lon": 113.65, "lat": 34.75}], [3]).add[0].capacity is None
    for add, remove, parameter in (("113.65", None, "add"), ("1,2", None, "add"), (None, "x", "remove"),
                                   ("113.65,34.75,-3", None, "add")):
        with pytest.raises(CoverageInputError) as err:
            parse_scenario(add, remove)
        assert err.value.parameter == parameter


def test_what_if_removing_and_adding_sites_changes_every_metric() -> None:
    grid = PopulationGrid(np.array([[0.0, 0], [400, 0], [1000, 0]]), [100, 200, 300], ["U1", "U1", "U2"],
                          [1, 2, 3], LayerInfo("t", 2020, "t"))
    units = UnitTable(pd.DataFrame({"code": ["U1", "U2"], "name": ["一", "二"]}))
    facs = FacilitySet([1, 2], np.array([[0.0, 100], [1000, 250]]), [30, 60], ["U1", "U2"])
    before = compute_coverage(grid, facs, units, [300], with_capacity=True)
    removed = apply_scenario(facs, Scenario(remove=(2,)))
    assert removed.ids.tolist() == [1]
    after = compute_coverage(grid, removed, units, [300], with_capacity=True)
    delta = compare(before, after)
    assert delta["city"]["facilities"] == -1
    assert delta["city"]["radii"][0]["covered_population"] == -300
    assert delta["city"]["radii"][0]["radius_m"] == 300.0
    u2 = next(u for u in delta["units"] if u["code"] == "U2")
    assert u2["radii"][0]["covered_share"] == -1.0 and u2["facilities"] == -1
    with pytest.raises(CoverageInputError) as err:
        apply_scenario(facs, Scenario(remove=(99,)))
    assert err.value.parameter == "remove"


def test_added_sites_get_negative_ids_and_units() -> None:
    import shapely

    units = UnitTable(pd.DataFrame({"code": ["U1"], "name": ["一"]}),
                      np.array([shapely.box(113.6, 34.7, 113.7, 34.8)], dtype=object))
    out = apply_scenario(FacilitySet.empty(), Scenario(add=(Site(113.65, 34.75, 90), Site(113.9, 34.9))), units)
    assert out.ids.tolist() == [-1, -2] and out.unit.tolist() == ["U1", ""]
    assert out.capacity[0] == 90 and np.isnan(out.capacity[1]) and out.hypothetical.all()


def test_as_of_defaults_to_today() -> None:
    assert coverage_request({"kind": "museum"}).as_of_date == localtime.today()
