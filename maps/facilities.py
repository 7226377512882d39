"""Facility points: one layer per kind, clustered, with escaped popups and a legend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster, MarkerCluster
from folium.template import Template

from maps._geo import Transform, to_display_crs
from maps._html import (
    POPUP_JS,
    LegendControl,
    esc,
    facility_legend_html,
    facility_popup_html,
    is_missing,
    js_json,
    marker_html,
)
from maps.base import prepare_map, refresh_layer_control
from maps.styles import (
    KIND_STYLES,
    KindStyle,
    compliance_code,
    kind_style,
    status_label,
)

__all__ = ["FAST_THRESHOLD", "facilities_map", "facility_points"]

#: Above this many points of one kind the layer is drawn by a JS callback
#: (FastMarkerCluster) from compact arrays instead of one folium Marker each.
FAST_THRESHOLD = 2000

_COMPLIANCE_ORDER = ("compliant", "non_compliant", "unknown")
_ICON_SIZE = 22


def _cluster_icon_js(kind: str) -> str:
    return (
        "function (cluster) {"
        " var n = cluster.getChildCount();"
        " var size = n < 10 ? 34 : n < 100 ? 40 : n < 1000 ? 46 : 52;"
        " return L.divIcon({html: '<div><span>' + n + '</span></div>',"
        f" className: 'marker-cluster rg-cluster rg-k-{kind}', iconSize: L.point(size, size)}});"
        " }"
    )


def _href(link_prefix: str | None, fid: object) -> str | None:
    if link_prefix is None or is_missing(fid):
        return None
    try:
        return f"{link_prefix}{int(fid)}"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def facility_points(gdf: gpd.GeoDataFrame, transform: Transform | None = None) -> gpd.GeoDataFrame:
    """Facilities in display coordinates with ``lat``/``lon`` columns (points only).

    Non-point geometries are reduced to a representative point.
    """
    data = to_display_crs(gdf, transform, what="facilities")
    geoms = data.geometry.values
    not_point = shapely.get_type_id(geoms) != 0
    if not_point.any():
        geoms = geoms.copy()
        geoms[not_point] = shapely.point_on_surface(geoms[not_point])
    xy = shapely.get_coordinates(geoms) if len(geoms) else np.empty((0, 2))
    data = data.assign(lon=xy[:, 0], lat=xy[:, 1]) if len(data) else data.assign(lon=[], lat=[])
    return data


def _column(data: pd.DataFrame, name: str) -> pd.Series:
    if name in data.columns:
        return data[name]
    return pd.Series([None] * len(data), index=data.index, dtype=object)


class MarkerRows(MacroElement):
    """Markers from a JSON array, added to the parent layer in one loop.

    Each row is ``[lat, lon, icon#, tooltip_html, popup_html]`` with the HTML
    already escaped in Python.  One template render for the whole layer instead
    of four folium elements per marker (folium compiles a Jinja template for
    every Popup: about 3 ms each).

    Parameters
    ----------
    rows : list of list
        The markers.
    icons : list of str
        Inner HTML of the divIcons that ``icon#`` points into.
    icon_size : int
        Width and height of the icons in pixels (anchored at their centre).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function (target) {
                var icons = {{ this.icons_json }}.map(function (h) {
                    return L.divIcon({html: h, className: 'rg-icon', iconSize: [{{ this.size }}, {{ this.size }}],
                                      iconAnchor: [{{ this.size / 2 }}, {{ this.size / 2 }}]});
                });
                var rows = {{ this.rows_json }};
                var markers = rows.map(function (r) {
                    var mk = L.marker([r[0], r[1]], {icon: icons[r[2]]});
                    if (r[3]) { mk.bindTooltip(r[3]); }
                    if (r[4]) { mk.bindPopup(r[4], {maxWidth: 320}); }
                    return mk;
                });
                if (target.addLayers) { target.addLayers(markers); }
                else { markers.forEach(function (mk) { target.addLayer(mk); }); }
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list[object]], icons: list[str], icon_size: int = _ICON_SIZE) -> None:
        super().__init__()
        self._name = "MarkerRows"
        self.rows_json = js_json(rows)
        self.icons_json = js_json(icons)
        self.size = int(icon_size)


def popup_rows(
    rows: pd.DataFrame,
    kind_styles: Sequence[KindStyle],
    statuses: Sequence[str | None],
    link_prefix: str | None,
    tooltip_suffixes: Sequence[str] | None = None,
) -> tuple[list[list[object]], list[str]]:
    """Rows for :class:`MarkerRows`: escaped tooltip and popup HTML per facility."""
    icons: dict[str, int] = {}
    out: list[list[object]] = []
    names = _column(rows, "name")
    addresses = _column(rows, "address")
    districts = _column(rows, "district_name")
    compliances = _column(rows, "compliance_status")
    ids = _column(rows, "id")
    for i, (lat, lon) in enumerate(zip(rows["lat"], rows["lon"])):
        style = kind_styles[i]
        compliance = compliance_code(compliances.iloc[i])
        icon = icons.setdefault(marker_html(style, compliance), len(icons))
        popup = facility_popup_html(
            name=names.iloc[i],
            kind_label=style.label,
            address=addresses.iloc[i],
            district=districts.iloc[i],
            status=statuses[i],
            compliance=compliance,
            href=_href(link_prefix, ids.iloc[i]),
        )
        tooltip = esc(names.iloc[i]) + (tooltip_suffixes[i] if tooltip_suffixes else "")
        out.append([round(float(lat), 6), round(float(lon), 6), icon, tooltip, popup])
    return out, list(icons)


def _regular_layer(
    group: folium.FeatureGroup,
    rows: pd.DataFrame,
    style: KindStyle,
    statuses: list[str | None],
    link_prefix: str | None,
    cluster: bool,
) -> None:
    """Markers with popups built (and escaped) in Python, optionally clustered (small layers)."""
    target: folium.map.Layer = group
    if cluster:
        target = MarkerCluster(
            control=False,
            icon_create_function=_cluster_icon_js(style.kind),
            options={"showCoverageOnHover": False, "maxClusterRadius": 50},
        )
        target.add_to(group)
    data, icons = popup_rows(rows, [style] * len(rows), statuses, link_prefix)
    target.add_child(MarkerRows(data, icons))


def _fast_layer(
    group: folium.FeatureGroup,
    rows: pd.DataFrame,
    style: KindStyle,
    statuses: list[str | None],
    link_prefix: str | None,
) -> None:
    """Compact arrays + a JS callback that builds the markers in the browser (big layers).

    Each row is ``[lat, lon, id, name, address, district#, status#, compliance#]``;
    districts and statuses are indexes into small lookup tables.  Popups are
    built (and escaped) in JS only when a marker is clicked.
    """

    def table(values: Sequence[object]) -> tuple[list[str | None], list[int]]:
        lookup: dict[str | None, int] = {}
        idx = []
        for v in values:
            key = None if is_missing(v) else str(v)
            idx.append(lookup.setdefault(key, len(lookup)))
        return list(lookup), idx

    districts, d_idx = table(list(_column(rows, "district_name")))
    status_tab, s_idx = table(statuses)
    comp_idx = [_COMPLIANCE_ORDER.index(compliance_code(v)) for v in _column(rows, "compliance_status")]
    ids = [None if is_missing(v) else int(v) for v in _column(rows, "id")]
    names = [None if is_missing(v) else str(v) for v in _column(rows, "name")]
    addresses = [None if is_missing(v) else str(v) for v in _column(rows, "address")]
    data = [
        [round(float(lat), 6), round(float(lon), 6), fid, name, addr, d, s, c]
        for lat, lon, fid, name, addr, d, s, c in zip(
            rows["lat"], rows["lon"], ids, names, addresses, d_idx, s_idx, comp_idx
        )
    ]
    config = {
        "label": style.label,
        "icons": [marker_html(style, c) for c in _COMPLIANCE_ORDER],
        "compliance": list(_COMPLIANCE_ORDER),
        "districts": districts,
        "statuses": status_tab,
        "prefix": link_prefix,
        "size": _ICON_SIZE,
    }
    callback = (
        "(function () {"
        + POPUP_JS
        + f"var K = {js_json(config)};"
        + """
        var icons = K.icons.map(function (h) {
            return L.divIcon({html: h, className: 'rg-icon', iconSize: [K.size, K.size],
                              iconAnchor: [K.size / 2, K.size / 2]});
        });
        function popup(layer) {
            var r = layer.rgRow;
            var href = (K.prefix !== null && r[2] !== null) ? K.prefix + r[2] : null;
            return rgPopup(r[3], K.label, r[4], K.districts[r[5]], K.statuses[r[6]], K.compliance[r[7]], href);
        }
        function tooltip(layer) { return rgEsc(layer.rgRow[3]); }
        return function (row) {
            var marker = L.marker([row[0], row[1]], {icon: icons[row[7]]});
            marker.rgRow = row;
            marker.bindPopup(popup, {maxWidth: 320});
            marker.bindTooltip(tooltip);
            return marker;
        };
        })()"""
    )
    FastMarkerCluster(
        data,
        callback=callback,
        control=False,
        icon_create_function=_cluster_icon_js(style.kind),
        # No chunkedLoading: a zoom while the chunks are still being added (the initial fitBounds)
        # makes Leaflet.markercluster 1.1 fail on clusters whose bounds are not computed yet.
        options={"showCoverageOnHover": False, "chunkedLoading": False, "maxClusterRadius": 60},
    ).add_to(group)


def facilities_map(
    gdf: gpd.GeoDataFrame,
    m: folium.Map | None = None,
    kinds: Sequence[str] | None = None,
    *,
    link_prefix: str | None = "/facilities/",
    status_labels: Mapping[str, Mapping[str, str]] | None = None,
    cluster: bool = True,
    fast_threshold: int = FAST_THRESHOLD,
    legend: bool = True,
    transform: Transform | None = None,
    fit: bool | None = None,
) -> folium.Map:
    """Draw facilities, one toggleable layer per kind, with popups and a legend.

    Parameters
    ----------
    gdf : GeoDataFrame
        Columns ``id`` (int), ``kind``, ``name``, ``address``, ``district_name``,
        ``status``, ``compliance_status`` (``"compliant"``/``"non_compliant"``/
        ``"unknown"``/None) and point geometry.  Missing optional columns show as
        "—"; any CRS is converted to EPSG:4326.
    m : folium.Map, optional
        Map to add to; a new :func:`maps.base_map` when omitted (then the view is
        fitted to the points).
    kinds : sequence of str, optional
        Kinds to draw, in this order; each gets a layer even when it has no
        point.  Default: the kinds present, in the registry's order.
    link_prefix : str or None, default "/facilities/"
        Popups link to ``f"{link_prefix}{id}"``; ``None`` for no link.
    status_labels : mapping, optional
        ``{kind: {status: 中文}}`` overriding :data:`maps.styles.DEFAULT_STATUS_LABELS`.
    cluster : bool, default True
        Cluster markers (always on for layers above ``fast_threshold``).
    fast_threshold : int, default 2000
        Layers with more points than this are built in the browser from compact
        arrays (FastMarkerCluster), which keeps 100,000 points smooth.
    legend : bool, default True
        Add the legend control (kinds with colours and counts, compliance rings).
    transform : callable, optional
        Display transform, see :func:`maps.base_map`.
    fit : bool, optional
        Fit the view to this layer; by default only when the builder made the map.

    Returns
    -------
    folium.Map

    Notes
    -----
    All user text (names, addresses, districts, statuses) is HTML-escaped in
    popups and tooltips, in Python for the regular path and in JavaScript for
    the fast path.  Markers are coloured SVG discs (kind colour and glyph; a red
    ring marks non-compliance): no icon font or image is needed.
    """
    if "kind" not in gdf.columns:
        raise KeyError("facilities need a 'kind' column")
    m, transform, created = prepare_map(m, transform)
    data = facility_points(gdf, transform)

    present = [k for k in pd.unique(data["kind"].astype(str))] if len(data) else []
    if kinds is None:
        order = list(KIND_STYLES)
        kinds = sorted(present, key=lambda k: (order.index(k) if k in order else len(order), k))
    else:
        kinds = list(dict.fromkeys(str(k) for k in kinds))

    entries: list[tuple[KindStyle, int]] = []
    kind_col = data["kind"].astype(str) if len(data) else pd.Series([], dtype=str)
    for kind in kinds:
        style = kind_style(kind)
        rows = data.loc[kind_col == kind]
        statuses = [status_label(kind, s, status_labels) for s in _column(rows, "status")]
        group = folium.FeatureGroup(
            name=f"{esc(style.label)}（{len(rows)}）", overlay=True, control=True, show=True
        )
        if len(rows) > fast_threshold:
            _fast_layer(group, rows, style, statuses, link_prefix)
        elif len(rows):
            _regular_layer(group, rows, style, statuses, link_prefix, cluster)
        m.add_child(group, name=f"registry_facilities_{kind}_{group.get_name()}")
        entries.append((style, len(rows)))

    if legend and entries:
        # Several calls on one map share one legend listing every kind drawn so far.
        shown: dict[str, tuple[KindStyle, int]] = getattr(m, "registry_legend_entries", {})
        for style, count in entries:
            prev = shown.get(style.kind)
            shown[style.kind] = (style, count + (prev[1] if prev else 0))
        m.registry_legend_entries = shown  # type: ignore[attr-defined]
        m.add_child(
            LegendControl(facility_legend_html(list(shown.values()))), name="registry_facility_legend"
        )
    refresh_layer_control(m)
    if (created if fit is None else fit) and len(data):
        _fit(m, data["lat"].to_numpy(), data["lon"].to_numpy())
    return m


def _fit(m: folium.Map, lat: np.ndarray, lon: np.ndarray) -> None:
    """Fit the view to the points (at least ~500 m across, so one point is not zoom 18)."""
    pad = 0.0025
    south, north = float(lat.min()), float(lat.max())
    west, east = float(lon.min()), float(lon.max())
    if north - south < 2 * pad:
        south, north = (south + north) / 2 - pad, (south + north) / 2 + pad
    if east - west < 2 * pad:
        west, east = (west + east) / 2 - pad, (west + east) / 2 + pad
    m.fit_bounds([[south, west], [north, east]], padding=(20, 20))
