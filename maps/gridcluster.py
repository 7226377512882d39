"""Very large facility layers: screen-grid clusters computed in the browser from compact arrays.

:func:`facilities_map` builds one Leaflet marker per facility (MarkerCluster,
or FastMarkerCluster above its threshold).  With 100,000 facilities that is
100,000 marker objects and a clustering pass of several seconds in the
browser.  :func:`facilities_grid_map` draws the same layers (one per kind,
same SVG markers, legend and layer control) from integer coordinate arrays
instead: on every move the points in view are binned into screen cells, so the
DOM holds only what is visible and the map is interactive as soon as the
arrays are parsed.

Popups are either embedded (``embed_rows=True``: names, addresses, districts,
statuses travel with the page; needed for a standalone export) or fetched on
click as JSON from ``popup_url + id``.  Either way user text reaches the DOM
through ``textContent`` only.

The script is ``registry/static/js/gridcluster.js``, inlined into the page so
that the standalone export needs nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from maps._geo import Transform
from maps._html import (
    LegendControl,
    esc,
    facility_legend_html,
    is_missing,
    js_json,
    marker_html,
)
from maps.assets import STATIC_VENDOR_DIR
from maps.base import prepare_map, refresh_layer_control
from maps.facilities import _column, _fit, facility_points
from maps.styles import (
    COMPLIANCE_LABELS,
    KIND_STYLES,
    KindStyle,
    compliance_code,
    kind_style,
    status_label,
)

__all__ = ["GRID_SCRIPT", "POPUP_LABELS_ZH", "facilities_grid_map"]

#: The layer's JavaScript (served at ``/static/js/gridcluster.js`` too).
GRID_SCRIPT = STATIC_VENDOR_DIR.parent / "js" / "gridcluster.js"

_COMPLIANCE_ORDER = ("compliant", "non_compliant", "unknown")
_ICON_SIZE = 22

#: Popup captions (Chinese); pass ``labels=`` for another language.
POPUP_LABELS_ZH: dict[str, str] = {
    "kind": "类型",
    "address": "地址",
    "district": "所在区",
    "status": "状态",
    "compliance": "合规",
    "more": "查看详情 »",
    "loading": "正在加载…",
    "failed": "无法加载设施信息",
    **COMPLIANCE_LABELS,
}


@lru_cache(maxsize=1)
def _script_text(path: Path = GRID_SCRIPT) -> str:
    return path.read_text(encoding="utf-8")


def _grid_css() -> str:
    out = [
        (".rg-gc{background:none;border:none}"
        ".rg-gc div{width:100%;height:100%;box-sizing:border-box;border-radius:50%;display:flex;"
        "align-items:center;justify-content:center;color:#fff;font:600 12px/1 system-ui,sans-serif;"
        "border:2px solid rgba(255,255,255,.85);box-shadow:0 1px 4px rgba(0,0,0,.4);cursor:pointer}")
    ]
    for style in (*KIND_STYLES.values(), kind_style("other")):
        out.append(f".rg-gc.rg-k-{style.kind} div{{background:{style.color}}}")
    return "".join(out)


class GridClusterScript(MacroElement):
    """The grid-cluster script and its stylesheet, once per page."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
            <script>{{ this.script }}</script>
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridClusterScript"
        self.css = _grid_css()
        # A literal "</script" would end the element early.
        self.script = _script_text().replace("</script", "<\\/script")


class GridClusterLayer(MacroElement):
    """One kind's points as an ``L.RegistryGridCluster`` added to the parent layer."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.registryGridCluster({{ this.data_json }}, {{ this.options_json }});
            {{ this._parent.get_name() }}.addLayer({{ this.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, object], options: dict[str, object]) -> None:
        super().__init__()
        self._name = "GridClusterLayer"
        self.data_json = js_json(data)
        self.options_json = js_json(options)


def _lookup(values: Sequence[object]) -> tuple[list[str | None], list[int]]:
    table: dict[str | None, int] = {}
    idx = []
    for v in values:
        key = None if is_missing(v) else str(v)
        idx.append(table.setdefault(key, len(table)))
    return list(table), idx


def _slot_offset(slot: int, n_slots: int, radius: float = 13.0) -> list[float]:
    """Pixel shift of a kind's cluster icons: kinds sit around a small circle instead of on top of each other."""
    if n_slots <= 1:
        return [0.0, 0.0]
    angle = 2 * np.pi * slot / n_slots - np.pi / 2
    return [round(float(radius * np.cos(angle)), 1), round(float(radius * np.sin(angle)), 1)]


def _layer_data(rows: pd.DataFrame, kind: str, statuses: list[str | None], embed_rows: bool) -> dict[str, object]:
    lat = np.round(rows["lat"].to_numpy(dtype=float) * 1e5).astype(np.int64)
    lon = np.round(rows["lon"].to_numpy(dtype=float) * 1e5).astype(np.int64)
    ids = [-1 if is_missing(v) else int(v) for v in _column(rows, "id")]
    comp = [_COMPLIANCE_ORDER.index(compliance_code(v)) for v in _column(rows, "compliance_status")]
    data: dict[str, object] = {"lat": lat.tolist(), "lon": lon.tolist(), "id": ids, "c": comp}
    if embed_rows:
        districts, d_idx = _lookup(list(_column(rows, "district_name")))
        status_tab, s_idx = _lookup(statuses)
        names = [None if is_missing(v) else str(v) for v in _column(rows, "name")]
        addresses = [None if is_missing(v) else str(v) for v in _column(rows, "address")]
        data["rows"] = [list(r) for r in zip(names, addresses, d_idx, s_idx)]
        data["districts"] = districts
        data["statuses"] = status_tab
    return data


def facilities_grid_map(
    gdf: gpd.GeoDataFrame,
    m: folium.Map | None = None,
    kinds: Sequence[str] | None = None,
    *,
    link_prefix: str | None = "/facilities/",
    popup_url: str | None = None,
    embed_rows: bool | None = None,
    status_labels: Mapping[str, Mapping[str, str]] | None = None,
    labels: Mapping[str, str] | None = None,
    legend: bool = True,
    transform: Transform | None = None,
    fit: bool | None = None,
    cell_size: int = 80,
    max_cluster_zoom: int = 16,
) -> folium.Map:
    """Draw facilities as grid-clustered layers, one per kind (for very large layers).

    Parameters
    ----------
    gdf : GeoDataFrame
        As for :func:`maps.facilities_map`: ``id``, ``kind``, ``name``,
        ``address``, ``district_name``, ``status``, ``compliance_status``, points.
    m : folium.Map, optional
        Map to add to; a new :func:`maps.base_map` (fitted to the points) when omitted.
    kinds : sequence of str, optional
        Kinds to draw, in this order; default: those present, in the registry's order.
    link_prefix : str or None, default "/facilities/"
        Detail link of embedded popups (``link_prefix + id``).
    popup_url : str, optional
        Prefix of a JSON endpoint answering ``popup_url + id`` with ``name``,
        ``kind_label``, ``address``, ``district``, ``status``, ``compliance``
        and ``href``.  Used when rows are not embedded.
    embed_rows : bool, optional
        Put names, addresses, districts and statuses in the page (popups and
        tooltips work offline; about 3x the weight).  Default: when no
        ``popup_url`` is given.
    status_labels : mapping, optional
        ``{kind: {status: label}}`` overrides, as in :func:`maps.facilities_map`.
    labels : mapping, optional
        Popup captions overriding :data:`POPUP_LABELS_ZH`.
    legend : bool, default True
        Add the kinds legend.
    transform : callable, optional
        Display transform (``registry.coords.wgs84_to_gcj02`` on Amap).
    fit : bool, optional
        Fit the view to the points; by default only when the builder made the map.
    cell_size : int, default 80
        Cluster cell size in screen pixels.
    max_cluster_zoom : int, default 16
        Above this zoom every point in view is drawn.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame({"id": [1], "kind": ["elevator"], "name": ["<b>"]},
    ...                        geometry=[shapely.Point(113.6, 34.7)], crs=4326)
    >>> html = facilities_grid_map(pts).get_root().render()
    >>> "L.registryGridCluster" in html and "<b>" not in html
    True
    """
    if "kind" not in gdf.columns:
        raise KeyError("facilities need a 'kind' column")
    if embed_rows is None:
        embed_rows = popup_url is None
    m, transform, created = prepare_map(m, transform)
    data = facility_points(gdf, transform)
    if "registry_grid_script" not in m._children:
        m.add_child(GridClusterScript(), name="registry_grid_script")

    kind_col = data["kind"].astype(str) if len(data) else pd.Series([], dtype=str)
    if kinds is None:
        order = list(KIND_STYLES)
        kinds = sorted(pd.unique(kind_col), key=lambda k: (order.index(k) if k in order else len(order), k))
    else:
        kinds = list(dict.fromkeys(str(k) for k in kinds))
    captions = {**POPUP_LABELS_ZH, **(labels or {})}

    entries: list[tuple[KindStyle, int]] = []
    slots = [k for k in kinds if (kind_col == k).any()]
    for kind in kinds:
        style = kind_style(kind)
        rows = data.loc[kind_col == kind]
        statuses = [status_label(kind, s, status_labels) for s in _column(rows, "status")]
        group = folium.FeatureGroup(name=f"{esc(style.label)}（{len(rows)}）", overlay=True, control=True, show=True)
        if len(rows):
            options = {
                "kind": style.kind,
                "kindLabel": style.label,
                "icons": [marker_html(style, c) for c in _COMPLIANCE_ORDER],
                "iconSize": _ICON_SIZE,
                "compliance": list(_COMPLIANCE_ORDER),
                "popupUrl": None if embed_rows else popup_url,
                "linkPrefix": link_prefix,
                "labels": captions,
                "cellSize": int(cell_size),
                "maxClusterZoom": int(max_cluster_zoom),
                "offset": _slot_offset(slots.index(kind), len(slots)),
            }
            group.add_child(GridClusterLayer(_layer_data(rows, kind, statuses, embed_rows), options))
        m.add_child(group, name=f"registry_grid_{kind}_{group.get_name()}")
        entries.append((style, len(rows)))

    if legend and entries:
        shown: dict[str, tuple[KindStyle, int]] = getattr(m, "registry_legend_entries", {})
        for style, count in entries:
            prev = shown.get(style.kind)
            shown[style.kind] = (style, count + (prev[1] if prev else 0))
        m.registry_legend_entries = shown  # type: ignore[attr-defined]
        m.add_child(LegendControl(facility_legend_html(list(shown.values()))), name="registry_facility_legend")
    refresh_layer_control(m)
    if (created if fit is None else fit) and len(data):
        _fit(m, data["lat"].to_numpy(), data["lon"].to_numpy())
    return m
