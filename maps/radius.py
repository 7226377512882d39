"""Radius queries: the search circle (exact metres) and the facilities found in it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import folium
import geopandas as gpd

from maps._geo import Transform, transform_lat_lon
from maps._html import esc, is_missing
from maps.base import prepare_map, refresh_layer_control
from maps.facilities import MarkerRows, _column, facility_points, popup_rows
from maps.styles import kind_style, status_label

__all__ = ["radius_map"]

_EARTH_M_PER_DEG = 111_320.0


def radius_map(
    center: Sequence[float],
    radius_m: float,
    gdf: gpd.GeoDataFrame,
    m: folium.Map | None = None,
    *,
    name: str | None = None,
    link_prefix: str | None = "/facilities/",
    transform: Transform | None = None,
    fit: bool | None = None,
) -> folium.Map:
    """Draw a search circle and the points found inside it.

    Parameters
    ----------
    center : (lat, lon)
        Circle centre, WGS-84 degrees.
    radius_m : float
        Radius in metres (Leaflet draws ``L.circle`` in true metres).
    gdf : GeoDataFrame
        The result points.  With a ``kind`` column they are drawn like
        :func:`maps.facilities_map` markers (same popups); an optional
        ``distance_m`` column is shown in the tooltip.
    m : folium.Map, optional
        Map to add to; a new :func:`maps.base_map` fitted to the circle when omitted.
    name : str, optional
        Layer name; default "半径 {radius} 米范围".
    link_prefix : str or None, default "/facilities/"
        Popup link prefix, as in :func:`maps.facilities_map`.
    transform : callable, optional
        Display transform, see :func:`maps.base_map`.
    fit : bool, optional
        Fit the view to this layer; by default only when the builder made the map.

    Returns
    -------
    folium.Map
    """
    if len(center) != 2:
        raise ValueError("center must be (lat, lon)")
    lat0, lon0 = float(center[0]), float(center[1])
    if not (-90 <= lat0 <= 90 and -180 <= lon0 <= 180):
        raise ValueError(f"center {center!r} is not (lat, lon) in degrees")
    radius = float(radius_m)
    if not math.isfinite(radius) or radius <= 0:
        raise ValueError(f"radius_m must be a positive number of metres, not {radius_m!r}")

    m, transform, created = prepare_map(m, transform)
    lat, lon = transform_lat_lon(lat0, lon0, transform)
    data = facility_points(gdf, transform)
    radius_text = f"{radius:,.0f}"
    group = folium.FeatureGroup(
        name=esc(name) if name else f"半径 {radius_text} 米范围（{len(data)}）", overlay=True, control=True
    )
    folium.Circle(
        location=[lat, lon],
        radius=radius,
        color="#1565C0",
        weight=2,
        dash_array="6 4",
        fill=True,
        fill_color="#1565C0",
        fill_opacity=0.08,
        tooltip=f"查询半径 {radius_text} 米",
    ).add_to(group)
    folium.Marker(
        location=[lat, lon],
        icon=folium.DivIcon(
            html="<div></div>", class_name="rg-center", icon_size=(14, 14), icon_anchor=(7, 7)
        ),
        tooltip="查询中心",
    ).add_to(group)

    if len(data):
        kinds = [
            "other" if "kind" not in data.columns or is_missing(k) else str(k)
            for k in (data["kind"] if "kind" in data.columns else [None] * len(data))
        ]
        statuses = [status_label(k, s) for k, s in zip(kinds, _column(data, "status"))]
        suffixes = None
        if "distance_m" in data.columns:
            suffixes = ["" if is_missing(d) else f"（{float(d):,.0f} 米）" for d in data["distance_m"]]
        rows, icons = popup_rows(data, [kind_style(k) for k in kinds], statuses, link_prefix, suffixes)
        group.add_child(MarkerRows(rows, icons))

    m.add_child(group)
    refresh_layer_control(m)
    if created if fit is None else fit:
        dlat = radius / _EARTH_M_PER_DEG
        dlon = radius / (_EARTH_M_PER_DEG * max(math.cos(math.radians(lat)), 1e-6))
        m.fit_bounds([[lat - dlat, lon - dlon], [lat + dlat, lon + dlon]], padding=(20, 20))
    return m
