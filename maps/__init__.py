"""Folium map builders for the Zhengzhou facility registry.

GeoDataFrames in, ``folium.Map`` out; every builder takes ``m=None`` to add to an
existing map.  No Flask and no ORM here: the web layer queries the data and hands
it over.  Every map loads Leaflet & co. from the vendored copies in
``registry/static/vendor`` (served at ``/static/vendor``), never from a CDN, and
the default basemap is none at all, so the maps open on an intranet without
internet access.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from maps import base_map, districts_map, facilities_map
>>> pts = gpd.GeoDataFrame(
...     {"id": [1], "kind": ["museum"], "name": ["河南博物院"]},
...     geometry=[shapely.Point(113.672, 34.788)], crs=4326)
>>> m = facilities_map(pts, m=base_map())
>>> html = m.get_root().render()
>>> "/static/vendor/leaflet/leaflet.js" in html and "cdn." not in html
True
"""

from maps._geo import Transform, to_display_crs
from maps.assets import (
    DEFAULT_BASE_URL,
    STATIC_VENDOR_DIR,
    MapParts,
    UnvendoredAssetError,
    find_external_requests,
    inline_assets,
    render_parts,
    standalone_html,
    use_local_assets,
)
from maps.base import BASEMAPS, base_map
from maps.districts import districts_map
from maps.facilities import FAST_THRESHOLD, facilities_map
from maps.radius import radius_map
from maps.styles import COMPLIANCE_LABELS, KIND_STYLES, KindStyle

__all__ = [
    "BASEMAPS",
    "COMPLIANCE_LABELS",
    "DEFAULT_BASE_URL",
    "FAST_THRESHOLD",
    "KIND_STYLES",
    "STATIC_VENDOR_DIR",
    "KindStyle",
    "MapParts",
    "Transform",
    "UnvendoredAssetError",
    "base_map",
    "districts_map",
    "facilities_map",
    "find_external_requests",
    "inline_assets",
    "radius_map",
    "render_parts",
    "standalone_html",
    "to_display_crs",
    "use_local_assets",
]
