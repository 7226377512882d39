"""Coverage map builders (maps/coverage.py): GeoDataFrames in, folium.Map out, local assets only."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import pytest
import shapely

from maps import base_map, find_external_requests
from maps.coverage import (
    coverage_circles_map,
    coverage_map,
    hot_spots_map,
    sites_map,
    unit_metric_map,
)


def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [1, 2, -1], "kind": "kindergarten", "name": ["一号园", "<b>二号</b>", "假设"],
                             "hypothetical": [False, False, True]},
                            geometry=[shapely.Point(113.65, 34.75), shapely.Point(113.66, 34.76),
                                      shapely.Point(113.67, 34.77)], crs=4326)


def circle_rows(html: str) -> list[list[object]]:
    return [row for block in re.findall(r"(\[\[.*?\]\])\.forEach", html, flags=re.DOTALL) for row in json.loads(block)]


def layer_names(m: folium.Map) -> list[str]:
    return [c.layer_name for c in m._children.values() if isinstance(c, folium.FeatureGroup)]


def legends(m: folium.Map) -> str:
    from maps._html import LegendControl

    return "".join(c.html for c in m._children.values() if isinstance(c, LegendControl))


def test_circles_in_true_metres_with_escaped_tooltips() -> None:
    m = coverage_circles_map(facilities(), 300)
    html = m.get_root().render()
    rows = circle_rows(html)
    assert len(rows) == 3 and all(r[2] == 300 for r in rows)
    assert rows[0][:2] == [34.75, 113.65]  # lat, lon
    assert rows[1][3] == "&lt;b&gt;二号&lt;/b&gt;"  # escaped before it reaches Leaflet
    assert find_external_requests(html) == []
    with pytest.raises(ValueError):
        coverage_circles_map(facilities(), 0)


def test_builders_add_to_a_given_map() -> None:
    m = base_map()
    assert coverage_circles_map(facilities(), 500, m) is m
    assert sites_map(facilities(), 300, m) is m
    html = m.get_root().render()
    assert html.count("rg-site") >= 3 and "选址结果（3）" in layer_names(m)


def test_hot_spots_coloured_by_residents_with_legend() -> None:
    cells = gpd.GeoDataFrame({"rank": [1, 2, 3], "population": [900.0, 500.0, 100.0], "nearest_m": [812.0, None, 400.0],
                              "unit_name": ["二七区", "中原区", "金水区"]},
                             geometry=[shapely.box(113.6, 34.7, 113.602, 34.702), shapely.box(113.61, 34.7, 113.612, 34.702),
                                       shapely.box(113.62, 34.7, 113.622, 34.702)], crs=4326)
    m = hot_spots_map(cells, radius_m=300)
    html = m.get_root().render()
    assert "未覆盖人口" in legends(m) and "300 米外" in layer_names(m)[0]
    group = next(c for c in m._children.values() if isinstance(c, folium.FeatureGroup))
    data = next(c for c in group._children.values() if isinstance(c, folium.GeoJson)).data
    tips = [f["properties"]["_tip"] for f in data["features"]]
    assert "812 米" in tips[0] and "无设施" in tips[1] and "#1" in tips[0]
    assert "#800026" in html  # the darkest class for the most residents
    with pytest.raises(KeyError):
        hot_spots_map(cells.drop(columns="population"))


def test_unit_choropleth_marks_missing_values_as_no_data() -> None:
    units = gpd.GeoDataFrame({"adcode": ["1", "2"], "name": ["甲区", "乙区"], "share": [12.5, None]},
                             geometry=[shapely.box(113.5, 34.7, 113.6, 34.8), shapely.box(113.6, 34.7, 113.7, 34.8)],
                             crs=4326)
    m = unit_metric_map(units, "share", "300 米内居民占比 %")
    assert "300 米内居民占比 %" in legends(m) and "无数据" in legends(m)


def test_coverage_map_puts_hypothetical_sites_apart() -> None:
    m = coverage_map(None, facilities(), [300, 500])
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    names = layer_names(m)
    assert "假设新增站点（1）" in names and "服务半径 300 米（3）" in names and "服务半径 500 米（3）" in names
    assert "/facilities/-1" not in html  # a hypothetical site has no facility page
    assert find_external_requests(html) == []
