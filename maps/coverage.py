"""Coverage maps: service-radius circles, unit choropleth, uncovered hot spots, chosen sites.

GeoDataFrames in, ``folium.Map`` out, ``m=None`` to add to an existing map; the
base map, district layer and facility markers are the shared builders of
:mod:`maps` (local assets only, no CDN).

Examples
--------
>>> import geopandas as gpd, shapely
>>> pts = gpd.GeoDataFrame({"id": [1], "kind": ["kindergarten"], "name": ["一号园"]},
...                        geometry=[shapely.Point(113.65, 34.75)], crs=4326)
>>> html = coverage_circles_map(pts, 300).get_root().render()
>>> "L.circle" in html and "cdn." not in html
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template

from maps._geo import Transform, to_display_crs
from maps._html import LegendControl, esc, is_missing, js_json
from maps.base import prepare_map, refresh_layer_control
from maps.districts import districts_map
from maps.facilities import facilities_map
from maps.styles import kind_style

__all__ = [
    "coverage_circles_map",
    "coverage_map",
    "hot_spots_map",
    "sites_map",
    "unit_metric_map",
]

# Sequential YlOrRd, five classes: more uncovered residents = darker.
_HOT = ("#FED976", "#FEB24C", "#FD8D3C", "#E31A1C", "#800026")
_SITE_COLOR = "#6A1B9A"
_COVERAGE_CSS = (
    ".rg-site{background:none;border:none}"
    ".rg-site div{width:24px;height:24px;border-radius:50%;background:" + _SITE_COLOR + ";color:#fff;"
    "font:700 12px/24px system-ui,sans-serif;text-align:center;border:2px solid #fff;"
    "box-shadow:0 1px 3px rgba(0,0,0,.5)}"
)


class _CoverageCss(MacroElement):
    _template = Template(
        """
        {% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "CoverageCss"
        self.css = _COVERAGE_CSS


def _add_css(m: folium.Map) -> None:
    if "registry_coverage_css" not in m._children:
        m.add_child(_CoverageCss(), name="registry_coverage_css")


class CircleRows(MacroElement):
    """Metre circles (``L.circle``) from a JSON array ``[lat, lon, radius_m, tooltip_html]``, in one loop."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function (target) {
                var style = {{ this.style_json }};
                {{ this.rows_json }}.forEach(function (r) {
                    var c = L.circle([r[0], r[1]], Object.assign({radius: r[2]}, style));
                    if (r[3]) { c.bindTooltip(r[3]); }
                    target.addLayer(c);
                });
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list[object]], style: Mapping[str, object]) -> None:
        super().__init__()
        self._name = "CircleRows"
        self.rows_json = js_json(rows)
        self.style_json = js_json(dict(style))


def _check_radius(radius_m: float) -> float:
    radius = float(radius_m)
    if not math.isfinite(radius) or radius <= 0:
        raise ValueError(f"radius_m must be a positive number of metres, not {radius_m!r}")
    return radius


def _fit(m: folium.Map, data: gpd.GeoDataFrame, pad_m: float = 0.0) -> None:
    if not len(data):
        return
    minx, miny, maxx, maxy = data.total_bounds
    dlat = pad_m / 111_320.0
    dlon = pad_m / (111_320.0 * max(math.cos(math.radians((miny + maxy) / 2)), 1e-6))
    m.fit_bounds([[float(miny) - dlat, float(minx) - dlon], [float(maxy) + dlat, float(maxx) + dlon]])


def coverage_circles_map(
    gdf: gpd.GeoDataFrame,
    radius_m: float,
    m: folium.Map | None = None,
    *,
    name: str | None = None,
    color: str | None = None,
    transform: Transform | None = None,
    show: bool = True,
) -> folium.Map:
    """Draw a service circle of ``radius_m`` metres around every point.

    Parameters
    ----------
    gdf : GeoDataFrame
        Facility points (any CRS); ``kind`` picks the colour, ``name`` the tooltip.
    radius_m : float
        Straight-line service radius in metres (Leaflet draws true metres).
    m : folium.Map, optional
        Map to add to; a new base map fitted to the circles when omitted.
    name : str, optional
        Layer name; default "服务半径 {r} 米".
    color : str, optional
        Stroke/fill colour; default the kind's colour.
    """
    radius = _check_radius(radius_m)
    m, transform, created = prepare_map(m, transform)
    data = to_display_crs(gdf, transform, what="facilities")
    pts = shapely.get_coordinates(shapely.point_on_surface(data.geometry.values)) if len(data) else np.empty((0, 2))
    kind = str(data["kind"].iloc[0]) if "kind" in data.columns and len(data) else "other"
    colour = color or kind_style(kind).color
    names = data["name"] if "name" in data.columns else [None] * len(data)
    rows = [[round(float(lat), 6), round(float(lon), 6), radius, esc(n) if not is_missing(n) else ""]
            for (lon, lat), n in zip(pts, names)]
    label = esc(name) if name else f"服务半径 {radius:,.0f} 米（{len(rows)}）"
    group = folium.FeatureGroup(name=label, overlay=True, control=True, show=show)
    group.add_child(CircleRows(rows, {"color": colour, "weight": 1, "opacity": 0.7, "fillColor": colour,
                                      "fillOpacity": 0.12, "interactive": True}))
    m.add_child(group)
    refresh_layer_control(m)
    if created:
        _fit(m, data, radius)
    return m


def unit_metric_map(
    gdf: gpd.GeoDataFrame,
    value_column: str,
    value_label: str,
    m: folium.Map | None = None,
    *,
    name: str = "统计单元指标",
    tooltip_columns: Mapping[str, str] | None = None,
    transform: Transform | None = None,
) -> folium.Map:
    """Choropleth of a per-unit figure (census units or districts) with a legend.

    A thin layer over :func:`maps.districts_map` with ``value_column``; missing
    values are grey ("无数据"), never a colour of the scale.
    """
    return districts_map(gdf, m, name=name, value_column=value_column, value_label=value_label,
                         tooltip_columns=tooltip_columns, transform=transform)


def _classes(values: np.ndarray, k: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return np.array([])
    return np.unique(np.quantile(finite, np.linspace(0, 1, k + 1)))


def hot_spots_map(
    gdf: gpd.GeoDataFrame,
    m: folium.Map | None = None,
    *,
    name: str | None = None,
    radius_m: float | None = None,
    transform: Transform | None = None,
) -> folium.Map:
    """Uncovered cells coloured by residents (darker = more), with rank and distance tooltips.

    Parameters
    ----------
    gdf : GeoDataFrame
        Cells (polygons) or points with ``population``; optional ``rank``,
        ``nearest_m`` (``None``: no facility at all) and ``unit_name``.
    radius_m : float, optional
        The radius they are uncovered at (for the layer name and legend).
    """
    if "population" not in gdf.columns:
        raise KeyError("hot spots need a 'population' column")
    m, transform, created = prepare_map(m, transform)
    data = to_display_crs(gdf, transform, what="hot spots")
    values = data["population"].to_numpy(dtype=float) if len(data) else np.empty(0)
    breaks = _classes(values, len(_HOT))
    r_text = f"{radius_m:,.0f} 米外" if radius_m else "未覆盖"
    label = esc(name) if name else f"未覆盖人口热点（{r_text}，前 {len(data)} 个）"
    features = []
    for i, (idx, row) in enumerate(data.iterrows()):
        k = int(np.clip(np.searchsorted(breaks, values[i], side="right") - 1, 0, len(_HOT) - 1)) if breaks.size else 0
        near = row.get("nearest_m")
        near_text = "无设施" if is_missing(near) else f"{float(near):,.0f} 米"
        tip = (f"<b>#{esc(row.get('rank', i + 1))}</b> {esc(row.get('unit_name'))}<br>"
               f"人口 {float(values[i]):,.0f}<br>最近设施 {near_text}")
        features.append({"type": "Feature", "id": str(idx), "properties": {"_fill": _HOT[k], "_tip": tip},
                         "geometry": shapely.geometry.mapping(row.geometry)})
    group = folium.FeatureGroup(name=label, overlay=True, control=True, show=True)
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            style_function=lambda f: {"fillColor": f["properties"]["_fill"], "fillOpacity": 0.85,
                                      "color": "#5a0015", "weight": 0.6},
            marker=folium.CircleMarker(radius=5, fill=True),
            tooltip=folium.GeoJsonTooltip(fields=["_tip"], labels=False, sticky=True),
            control=False,
        ).add_to(group)
    m.add_child(group)
    if breaks.size > 1:
        rows = "".join(
            f'<div class="rg-row"><span class="rg-swatch" style="background:{_HOT[min(i, len(_HOT) - 1)]}"></span>'
            f"<span>{breaks[i]:,.0f} – {breaks[i + 1]:,.0f}</span></div>" for i in range(len(breaks) - 1))
        legend = f'<div class="rg-legend-title">未覆盖人口（人/格，{esc(r_text)}）</div>{rows}'
        m.add_child(LegendControl(legend, position="bottomleft"), name=f"registry_legend_{group.get_name()}")
    refresh_layer_control(m)
    if created:
        _fit(m, data)
    return m


def sites_map(
    gdf: gpd.GeoDataFrame,
    radius_m: float | None = None,
    m: folium.Map | None = None,
    *,
    name: str | None = None,
    transform: Transform | None = None,
) -> folium.Map:
    """Numbered markers for chosen or hypothetical sites, with their service circles.

    Parameters
    ----------
    gdf : GeoDataFrame
        Points with optional ``rank``, ``name``, ``newly_covered``, ``cumulative``,
        ``capacity``.
    radius_m : float, optional
        Draw this service circle around each site.
    """
    m, transform, created = prepare_map(m, transform)
    _add_css(m)
    data = to_display_crs(gdf, transform, what="sites")
    pts = shapely.get_coordinates(data.geometry.values) if len(data) else np.empty((0, 2))
    label = esc(name) if name else f"选址结果（{len(data)}）"
    group = folium.FeatureGroup(name=label, overlay=True, control=True, show=True)
    if radius_m is not None and len(data):
        radius = _check_radius(radius_m)
        rows = [[round(float(lat), 6), round(float(lon), 6), radius, ""] for lon, lat in pts]
        group.add_child(CircleRows(rows, {"color": _SITE_COLOR, "weight": 2, "dashArray": "5 4", "opacity": 0.9,
                                          "fillColor": _SITE_COLOR, "fillOpacity": 0.10, "interactive": False}))
    for i, ((lon, lat), (_idx, row)) in enumerate(zip(pts, data.iterrows())):
        rank = row.get("rank", i + 1)
        lines = [f"<b>{esc(row.get('name') or f'站点 {rank}')}</b>"]
        if not is_missing(row.get("newly_covered")):
            lines.append(f"新增覆盖 {float(row['newly_covered']):,.0f} 人")
        if not is_missing(row.get("cumulative")):
            lines.append(f"累计 {float(row['cumulative']):,.0f} 人")
        if not is_missing(row.get("capacity")):
            lines.append(f"容量 {float(row['capacity']):,.0f}")
        folium.Marker(
            [float(lat), float(lon)],
            icon=folium.DivIcon(html=f"<div>{esc(rank)}</div>", class_name="rg-site", icon_size=(24, 24),
                                icon_anchor=(12, 12)),
            tooltip="<br>".join(lines),
        ).add_to(group)
    m.add_child(group)
    refresh_layer_control(m)
    if created:
        _fit(m, data, radius_m or 0.0)
    return m


def coverage_map(
    units: gpd.GeoDataFrame | None,
    facilities: gpd.GeoDataFrame,
    radii_m: Sequence[float] = (),
    m: folium.Map | None = None,
    *,
    value_column: str | None = None,
    value_label: str | None = None,
    unit_tooltips: Mapping[str, str] | None = None,
    hot_spots: gpd.GeoDataFrame | None = None,
    hot_spot_radius_m: float | None = None,
    sites: gpd.GeoDataFrame | None = None,
    site_radius_m: float | None = None,
    link_prefix: str | None = "/facilities/",
    transform: Transform | None = None,
) -> folium.Map:
    """The planner's coverage map in one call.

    Layers, bottom to top: unit choropleth of ``value_column`` (or plain
    districts), uncovered hot spots, one circle layer per radius, facility
    markers (hypothetical ones — negative ``id`` or ``hypothetical`` true — as
    numbered sites), chosen sites.
    """
    m, transform, created = prepare_map(m, transform)
    if units is not None and len(units):
        if value_column:
            unit_metric_map(units, value_column, value_label or value_column, m, tooltip_columns=unit_tooltips,
                            transform=transform)
        else:
            districts_map(units, m, tooltip_columns=unit_tooltips, transform=transform)
    if hot_spots is not None and len(hot_spots):
        hot_spots_map(hot_spots, m, radius_m=hot_spot_radius_m, transform=transform)
    hypo = np.zeros(len(facilities), dtype=bool)
    if "hypothetical" in facilities.columns:
        hypo = facilities["hypothetical"].fillna(False).to_numpy(dtype=bool)
    elif "id" in facilities.columns:
        hypo = facilities["id"].to_numpy() < 0
    for i, r in enumerate(radii_m):
        if len(facilities):
            coverage_circles_map(facilities, r, m, transform=transform, show=i == 0)
    real = facilities.loc[~hypo]
    if len(real):
        facilities_map(real, m, link_prefix=link_prefix, transform=transform, fit=False)
    if hypo.any():
        extra = facilities.loc[hypo].copy()
        extra["rank"] = [f"+{i + 1}" for i in range(len(extra))]
        sites_map(extra, None, m, name=f"假设新增站点（{len(extra)}）", transform=transform)
    if sites is not None and len(sites):
        sites_map(sites, site_radius_m, m, transform=transform)
    if created:
        base = units if units is not None and len(units) else facilities
        _fit(m, to_display_crs(base, transform))
    return m
