"""District polygons: the offline base layer (outlines, pale fills, labels, tooltips)."""

from __future__ import annotations

from collections.abc import Mapping

import folium
import geopandas as gpd
import numpy as np
import shapely

from maps._geo import Transform, to_display_crs
from maps._html import LegendControl, esc, is_missing
from maps.base import prepare_map, refresh_layer_control

__all__ = ["districts_map"]

# Pale fills that read well on the plain background; neighbours usually differ.
_PASTELS = (
    "#E8F1E4", "#F3EAD8", "#E3ECF4", "#F4E4E4", "#ECE4F2", "#E6F2EF",
    "#F5EFDC", "#E4E9F5", "#F1E6EC", "#E9F0DF", "#F3E9E0", "#E2EEF0",
)  # fmt: skip
# Sequential YlGnBu, five classes, for value_column.
_SEQUENTIAL = ("#FFFFCC", "#A1DAB4", "#41B6C4", "#2C7FB8", "#253494")
_NO_DATA = "#E0E0E0"
_LABEL_PANE = "registryLabels"


def _fmt(value: object) -> str:
    if is_missing(value):
        return "—"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return str(value)


def _class_breaks(values: np.ndarray, k: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([])
    return np.unique(np.quantile(finite, np.linspace(0, 1, k + 1)))


def districts_map(
    gdf: gpd.GeoDataFrame,
    m: folium.Map | None = None,
    name: str = "行政区划",
    *,
    value_column: str | None = None,
    value_label: str | None = None,
    tooltip_columns: Mapping[str, str] | None = None,
    labels: bool = True,
    transform: Transform | None = None,
    fit: bool | None = None,
) -> folium.Map:
    """Draw district polygons with outlines, tooltips and name labels.

    Parameters
    ----------
    gdf : GeoDataFrame
        Columns ``adcode``, ``name`` (Chinese), geometry (polygons), optional
        value columns.  Any CRS; converted to EPSG:4326.
    m : folium.Map, optional
        Map to add to; a new :func:`maps.base_map` when omitted (then the view
        is fitted to the districts).
    name : str, default "行政区划"
        Layer name in the layer control.
    value_column : str, optional
        Numeric column to colour the districts by (five quantile classes,
        grey for missing values) with a legend.  Without it each district gets a
        pale fill.
    value_label : str, optional
        Chinese caption of ``value_column`` (defaults to the column name).
    tooltip_columns : mapping, optional
        Extra ``{column: Chinese label}`` rows for the tooltip.
    labels : bool, default True
        Put the district name at each district's representative point.
    transform : callable, optional
        Display transform, see :func:`maps.base_map`.
    fit : bool, optional
        Fit the view to this layer; by default only when the builder made the map.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> d = gpd.GeoDataFrame({"adcode": ["410102"], "name": ["中原区"]},
    ...                      geometry=[shapely.box(113.5, 34.7, 113.6, 34.8)], crs=4326)
    >>> m = districts_map(d)
    >>> type(m).__name__
    'Map'
    """
    for col in ("name",):
        if col not in gdf.columns:
            raise KeyError(f"districts need a {col!r} column")
    if value_column is not None and value_column not in gdf.columns:
        raise KeyError(f"value_column {value_column!r} is not a column")
    extra = dict(tooltip_columns or {})
    for col in extra:
        if col not in gdf.columns:
            raise KeyError(f"tooltip column {col!r} is not a column")

    m, transform, created = prepare_map(m, transform)
    data = to_display_crs(gdf, transform, what="districts")
    # Draw large districts first so that small ones stay on top and hoverable.
    if len(data):
        order = np.argsort(-shapely.area(data.geometry.values), kind="stable")
        data = data.iloc[order]

    fills, legend = _fills(data, value_column, value_label)
    rows = [("value", value_label or value_column)] if value_column else []
    rows += list(extra.items())

    features = []
    for i, (idx, row) in enumerate(data.iterrows()):
        props = {"_name": esc(row["name"]), "_fill": fills[i]}
        if "adcode" in data.columns:
            props["_adcode"] = esc(row["adcode"])
        for j, (col, _label) in enumerate(rows):
            src = value_column if col == "value" else col
            props[f"_t{j}"] = esc(_fmt(row[src]))
        features.append(
            {
                "type": "Feature",
                "id": str(idx),
                "properties": props,
                "geometry": shapely.geometry.mapping(row.geometry),
            }
        )
    fields = ["_name"] + [f"_t{j}" for j in range(len(rows))]
    aliases = ["行政区"] + [esc(label) for _col, label in rows]

    group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=name,
            style_function=lambda f: {
                "fillColor": f["properties"]["_fill"],
                "fillOpacity": 0.75,
                "color": "#5C6B7A",
                "weight": 1.2,
                "opacity": 0.9,
            },
            highlight_function=lambda f: {"weight": 2.5, "color": "#1F3A5F", "fillOpacity": 0.9},
            tooltip=folium.GeoJsonTooltip(
                fields=fields, aliases=aliases, labels=len(fields) > 1, sticky=True
            ),
            control=False,
        ).add_to(group)
    if labels and len(data):
        if _LABEL_PANE not in m._children:
            m.add_child(
                folium.map.CustomPane(_LABEL_PANE, z_index=450, pointer_events=False), name=_LABEL_PANE
            )
        points = shapely.get_coordinates(data.geometry.representative_point().values)
        for (lon, lat), label in zip(points, data["name"]):
            folium.Marker(
                location=[float(lat), float(lon)],
                icon=folium.DivIcon(
                    html=f"<span>{esc(label)}</span>", class_name="rg-district-label", icon_size=(0, 0)
                ),
                interactive=False,
                keyboard=False,
                pane=_LABEL_PANE,
            ).add_to(group)
    m.add_child(group)
    if legend:
        m.add_child(LegendControl(legend, position="bottomright"), name=f"registry_legend_{group.get_name()}")
    refresh_layer_control(m)
    if (created if fit is None else fit) and len(data):
        minx, miny, maxx, maxy = data.total_bounds
        m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    return m


def _fills(
    data: gpd.GeoDataFrame, value_column: str | None, value_label: str | None
) -> tuple[list[str], str | None]:
    """Fill colour per row, and legend HTML when colouring by a value."""
    if value_column is None:
        return [_PASTELS[i % len(_PASTELS)] for i in range(len(data))], None
    values = np.asarray([np.nan if is_missing(v) else float(v) for v in data[value_column]], dtype=float)
    breaks = _class_breaks(values, len(_SEQUENTIAL))
    n_classes = max(len(breaks) - 1, 1)
    palette = (
        _SEQUENTIAL
        if n_classes >= len(_SEQUENTIAL)
        else _SEQUENTIAL[:: max(1, len(_SEQUENTIAL) // n_classes)]
    )
    fills = []
    for v in values:
        if not np.isfinite(v) or breaks.size == 0:
            fills.append(_NO_DATA)
        else:
            k = int(np.clip(np.searchsorted(breaks, v, side="right") - 1, 0, n_classes - 1))
            fills.append(palette[min(k, len(palette) - 1)])
    rows = []
    for k in range(n_classes if breaks.size > 1 else 0):
        lo, hi = breaks[k], breaks[k + 1]
        rows.append(
            f'<div class="rg-row"><span class="rg-swatch" style="background:{palette[min(k, len(palette) - 1)]}">'
            f"</span><span>{esc(_fmt(lo))} – {esc(_fmt(hi))}</span></div>"
        )
    if breaks.size == 1:
        rows.append(
            f'<div class="rg-row"><span class="rg-swatch" style="background:{palette[0]}"></span>'
            f"<span>{esc(_fmt(breaks[0]))}</span></div>"
        )
    if not np.isfinite(values).all():
        rows.append(
            f'<div class="rg-row"><span class="rg-swatch" style="background:{_NO_DATA}"></span>无数据</div>'
        )
    title = f'<div class="rg-legend-title">{esc(value_label or value_column)}</div>'
    return fills, title + "".join(rows)
