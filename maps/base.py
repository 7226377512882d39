"""The base map: no tiles by default (works offline), optional online basemaps."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from urllib.parse import quote

import folium
from branca.element import MacroElement
from folium.template import Template

from maps._geo import Transform
from maps._html import add_css
from maps.assets import DEFAULT_BASE_URL, has_local_assets, use_local_assets

__all__ = ["BASEMAPS", "DEFAULT_CENTER", "base_map"]

#: Zhengzhou city centre (lat, lon).
DEFAULT_CENTER = (34.75, 113.65)

#: Basemap keys accepted by :func:`base_map`, with their Chinese names.
BASEMAPS: dict[str, str] = {
    "none": "无底图",
    "osm": "OpenStreetMap",
    "tianditu": "天地图",
    "amap": "高德地图",
}

_TIANDITU = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
    "&TILECOL={{x}}&tk={key}"
)
_AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


class _MapBackground(MacroElement):
    """Background colour of the map div, seen where no tile layer is drawn."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>#{{ this._parent.get_name() }}{background:{{ this.color }};}</style>
        {% endmacro %}
        """
    )

    def __init__(self, color: str) -> None:
        super().__init__()
        self._name = "MapBackground"
        self.color = color


def _tile_layers(basemap: str, key: str | None, show: bool) -> list[folium.map.Layer]:
    name = BASEMAPS[basemap]
    if basemap == "none":
        # An empty base layer so that "no basemap" can be picked in the layer control.
        return [folium.FeatureGroup(name=name, overlay=False, control=True, show=show)]
    if basemap == "osm":
        return [folium.TileLayer("OpenStreetMap", name=name, overlay=False, show=show, max_zoom=19)]
    if basemap == "amap":
        return [
            folium.TileLayer(
                _AMAP,
                name=name,
                attr="&copy; 高德地图 AutoNavi",
                subdomains="1234",
                overlay=False,
                show=show,
                max_zoom=18,
            )
        ]
    if basemap == "tianditu":
        if not key:
            raise ValueError("basemap 'tianditu' needs key= (a Tianditu browser key, 天地图 tk)")
        tk = quote(key, safe="")
        attr = "&copy; 天地图（国家地理信息公共服务平台）"
        return [
            folium.TileLayer(
                _TIANDITU.format(layer="vec", key=tk),
                name=name,
                attr=attr,
                subdomains="01234567",
                overlay=False,
                show=show,
                max_zoom=18,
            ),
            folium.TileLayer(
                _TIANDITU.format(layer="cva", key=tk),
                name=f"{name}注记",
                attr=attr,
                subdomains="01234567",
                overlay=True,
                control=True,
                show=show,
                max_zoom=18,
            ),
        ]
    raise ValueError(f"unknown basemap {basemap!r}; choose from {sorted(BASEMAPS)}")


def base_map(
    center: Sequence[float] = DEFAULT_CENTER,
    zoom: int = 9,
    basemap: str | Sequence[str] = "none",
    *,
    key: str | None = None,
    transform: Transform | None = None,
    asset_base_url: str = DEFAULT_BASE_URL,
    background: str = "#F3F1EC",
    max_zoom: int = 18,
    min_zoom: int | None = None,
    **map_kwargs,
) -> folium.Map:
    """Create the registry's base map.

    Parameters
    ----------
    center : (lat, lon), default (34.75, 113.65)
        Initial centre, WGS-84.
    zoom : int, default 9
        Initial zoom level.
    basemap : str or sequence of str, default "none"
        ``"none"`` (no tile layer at all: works offline, light background),
        ``"osm"`` (OpenStreetMap), ``"tianditu"`` (天地图 vec_w + cva_w; needs
        ``key``) or ``"amap"`` (高德, GCJ-02).  A sequence offers several in the
        layer control, the first one shown.  All but "none" load tiles from the
        internet.
    key : str, optional
        Tianditu key (``tk``).
    transform : callable, optional
        Display transform ``(lon, lat) -> (lon, lat)`` remembered on the map and
        used by the builders that add to it, e.g. ``registry.coords.wgs84_to_gcj02``
        with ``basemap="amap"``.  Without it an Amap basemap draws WGS-84 data
        several hundred metres off (a warning says so).
    asset_base_url : str, default "/static/vendor"
        Where ``registry/static/vendor`` is served (see :func:`maps.use_local_assets`).
    background : str, default "#F3F1EC"
        Colour of the map where no tiles are drawn.
    max_zoom, min_zoom : int, optional
        Zoom limits of the map itself (marker clustering needs ``max_zoom`` when
        there is no tile layer to take it from).
    **map_kwargs
        Passed to :class:`folium.Map` (``width``, ``height``, ``min_zoom`` ...).

    Returns
    -------
    folium.Map
        The map, already set to load every script and stylesheet locally.

    Examples
    --------
    >>> m = base_map()
    >>> "https://" in m.get_root().render()
    False
    """
    names = [basemap] if isinstance(basemap, str) else list(basemap)
    if not names:
        raise ValueError("basemap must name at least one basemap")
    for name in names:
        if name not in BASEMAPS:
            raise ValueError(f"unknown basemap {name!r}; choose from {sorted(BASEMAPS)}")
    if "amap" in names and transform is None:
        warnings.warn(
            "the Amap basemap is in GCJ-02; pass transform=registry.coords.wgs84_to_gcj02 "
            "or WGS-84 data will be drawn about 300-700 m off",
            UserWarning,
            stacklevel=2,
        )
    map_kwargs.setdefault("control_scale", True)
    m = folium.Map(location=list(center), zoom_start=zoom, tiles=None, **map_kwargs)
    m.options["max_zoom"] = int(max_zoom)
    if min_zoom is not None:
        m.options["min_zoom"] = int(min_zoom)
    use_local_assets(m, asset_base_url)
    m.add_child(_MapBackground(background), name="registry_background")
    add_css(m)
    if names != ["none"]:
        for i, name in enumerate(names):
            for layer in _tile_layers(name, key, show=i == 0):
                m.add_child(layer)
        if len(names) > 1 or "tianditu" in names:
            refresh_layer_control(m)
    m.registry_basemaps = tuple(names)  # type: ignore[attr-defined]
    m.registry_transform = transform  # type: ignore[attr-defined]
    return m


def prepare_map(
    m: folium.Map | None, transform: Transform | None
) -> tuple[folium.Map, Transform | None, bool]:
    """Resolve the map and display transform a builder works with.

    Returns
    -------
    (map, transform, created)
        ``created`` is True when a new base map was made (the builder then fits
        the view to its data).
    """
    created = m is None
    if m is None:
        m = base_map()
    elif not isinstance(m, folium.Map):
        raise TypeError(f"m must be a folium.Map or None, not {type(m).__name__}")
    if not has_local_assets(m):
        use_local_assets(m)
    m.options.setdefault("max_zoom", 18)  # marker clusters need it on a map without tiles
    add_css(m)
    if transform is None:
        transform = getattr(m, "registry_transform", None)
    if transform is None and "amap" in getattr(m, "registry_basemaps", ()):
        warnings.warn(
            "adding WGS-84 data to an Amap (GCJ-02) basemap without transform=; it will be drawn off",
            UserWarning,
            stacklevel=3,
        )
    return m, transform, created


def refresh_layer_control(m: folium.Map) -> None:
    """Keep exactly one LayerControl on ``m``, after all layers (so it lists them all)."""
    for name, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            del m._children[name]
    m.add_child(folium.LayerControl(collapsed=False, position="topright"), name="registry_layer_control")
