"""Parameter validation of the query layer: every bad input is a QueryError naming its parameter."""

from __future__ import annotations

import pytest

from registry import cql2
from registry import query as ql

P = "113.66,34.76"


@pytest.mark.parametrize("params,parameter", [
    ({"near": [P], "radius": ["0"]}, "radius"),
    ({"near": [P], "radius": ["-5"]}, "radius"),
    ({"near": [P], "radius": ["50001"]}, "radius"),
    ({"near": [P], "radius": ["abc"]}, "radius"),
    ({"near": [P], "radius": ["nan"]}, "radius"),
    ({"near": [P]}, "radius"),
    ({"radius": ["300"]}, "radius"),
    ({"near": ["113.66"], "radius": ["300"]}, "near"),
    ({"near": ["x,34"], "radius": ["300"]}, "near"),
    ({"near": ["200,34"], "radius": ["300"]}, "near"),
    ({"nearest": [P], "k": ["0"]}, "k"),
    ({"nearest": [P], "k": ["1001"]}, "k"),
    ({"nearest": [P], "k": ["2.5"]}, "k"),
    ({"nearest": [P], "max_distance": ["0"]}, "max_distance"),
    ({"k": ["3"]}, "k"),
    ({"near": [P], "radius": ["3"], "nearest": [P]}, "nearest"),
    ({"kind": ["library"]}, "kind"),
    ({"crs": ["utm"]}, "crs"),
    ({"distance": ["manhattan"]}, "distance"),
    ({"bbox": ["1,2,3"]}, "bbox"),
    ({"bbox": ["114,34,113,35"]}, "bbox"),
    ({"where": ["colour=red"]}, "where"),
    ({"where": ["seats<many"]}, "where"),
    ({"where": ["seats"]}, "where"),
    ({"where": ["operator_type=nonsense"]}, "where"),
    ({"where": ["operator_type<public"]}, "where"),
    ({"kind": ["museum"], "where": ["seats<15"]}, "where"),
    ({"where": ["inspection_due<someday"]}, "where"),
    ({"filter": ["seats <"]}, "filter"),
    ({"filter": ["nosuchfield = 1"]}, "filter"),
    ({"filter-lang": ["cql2-json"], "filter": ["seats < 3"]}, "filter-lang"),
    ({"sort": ["distance"]}, "sort"),
    ({"sort": ["colour"]}, "sort"),
    ({"limit": ["0"]}, "limit"),
    ({"limit": ["10001"]}, "limit"),
    ({"cursor": ["!!!"]}, "cursor"),
    ({"offset": ["-1"]}, "offset"),
    ({"status": ["flying"]}, "status"),
    ({"colour": ["red"]}, "colour"),
    ({"limit": ["1", "2"]}, "limit"),
])
def test_bad_parameters_name_the_parameter(params: dict[str, list[str]], parameter: str) -> None:
    with pytest.raises(ql.QueryError) as info:
        ql.parse_params(params)
    assert info.value.parameter == parameter
    assert " / " in str(info.value)  # Chinese first, then English


@pytest.mark.parametrize("body", [
    [], "text", {"type": "Point", "coordinates": [113, 34]},
    {"type": "Polygon", "coordinates": [[[113, 34], [114, 34], [114, 35]]]},
    {"type": "Polygon", "coordinates": [[[113, 34], [114, 34], [114, 35], [113, 35]]]},
    {"type": "Polygon", "coordinates": [[[113, 34], [114, 35], [114, 34], [113, 35], [113, 34]]]},
    {"type": "Polygon", "coordinates": [[["a", 34], [114, 34], [114, 35], [113, 34]]]},
    {"type": "Polygon", "coordinates": [[[1e400, 34], [114, 34], [114, 35], [1e400, 34]]]},
    {"type": "Polygon", "coordinates": [[[913, 34], [114, 34], [114, 35], [913, 34]]]},
    {"type": "Polygon"},
    {"type": "FeatureCollection", "features": []},
    {"type": "Feature", "geometry": None},
])
def test_bad_polygons_are_rejected(body: object) -> None:
    with pytest.raises(ql.QueryError) as info:
        ql.parse_params({}, polygon=body)
    assert info.value.parameter == "body"


def test_compliance_filter_needs_the_column() -> None:
    if ql.HAS_COMPLIANCE:
        assert ql.parse_params({"compliance": ["non_compliant"]}).compliance == ("non_compliant",)
    else:
        with pytest.raises(ql.QueryError, match="compliance filter not available yet"):
            ql.parse_params({"compliance": ["non_compliant"]})


def test_gcj02_point_is_converted_and_echoed() -> None:
    q = ql.parse_params({"near": ["113.671103,34.752187"], "radius": ["300"], "crs": ["gcj02"]})
    assert q.near.lon == pytest.approx(113.665, abs=1e-6) and q.near.lat == pytest.approx(34.7533, abs=1e-6)
    assert q.describe()["point"]["crs"] == "gcj02"


def test_conditions_are_typed_by_their_field() -> None:
    q = ql.parse_params({"where": ["seats<15", "operator_type=普惠性民办", "inspection_due<2026-01-01",
                                   "wifi=是"]})
    values = [expr for _, expr in q.filters]
    assert values[0] == cql2.Compare("<", "seats", 15)
    assert values[1] == cql2.Compare("=", "operator_type", "inclusive_private")
    assert values[2].value.isoformat() == "2026-01-01"
    assert values[3] == cql2.Compare("=", "wifi", True)


def test_cursor_round_trip() -> None:
    assert ql.decode_cursor(ql.encode_cursor(1234)) == 1234
