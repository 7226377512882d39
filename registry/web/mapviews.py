"""Map routes: the all-kinds map page, the map documents shown in its ``<iframe>``, exports.

Pages embed a map as ``<iframe src="/map/frame?...">``: the frame is a whole
Folium page (Leaflet from ``/static/vendor``, nothing from a CDN), built by
the builders in :mod:`maps` from GeoDataFrames read by :mod:`registry.mapdata`.

Rendering a map with many facilities takes a while, so every rendered
document is kept in memory (:class:`MapCache`) under a key made of the route,
its parameters, the language and the *data version*
(:func:`registry.mapdata.get_data_version`): a map is rebuilt only when the
data behind it changed.  Responses carry an ``ETag`` and are sent gzip-encoded
to clients that accept it.

Routes
------
``/map``                    the all-kinds map page (basemap and kind choice, download link)
``/map/frame``              the all-kinds map document (``basemap=``, ``kinds=``)
``/map/export.html``        the same map as one self-contained HTML file (opens offline)
``/map/popup/<id>``         popup data (JSON) for the grid layers of very large maps
``/map/facility/<id>/frame`` mini-map of the facility page
``/map/facility/<id>/export.html`` the same as one self-contained HTML file
``/map/radius/frame``       radius query map (``lon``, ``lat``, ``crs``, ``radius``, ``kinds``, ``basemap``)
``/map/radius/export.html`` the same as one self-contained HTML file
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

import maps
from maps.gridcluster import facilities_grid_map
from maps.interact import pick_point
from registry import query as ql
from registry.config import load_settings
from registry.coords import wgs84_to_gcj02
from registry.db import get_session
from registry.i18n import current_lang
from registry.kinds import KIND_SPECS, FacilityKind
from registry.mapdata import get_data_version, get_map_districts, get_map_facilities

bp = Blueprint("mapviews", __name__)

BASEMAP_KEYS = ("none", "osm", "tianditu", "amap")
DEFAULT_GRID_THRESHOLD = 5_000
"""Above this many facilities the all-kinds map uses grid clusters (:mod:`maps.gridcluster`)."""
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
RADIUS_LIMIT = 2000
"""At most this many facilities are listed and drawn by a radius query."""
NEIGHBOURS_M = 500.0
"""The facility mini-map shows the facilities within this distance (and fits the circle)."""


# --------------------------------------------------------------------------- cache
@dataclass(frozen=True)
class CachedDocument:
    """A rendered map document: body, its gzip encoding and an entity tag."""

    body: bytes
    gzipped: bytes
    etag: str

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped)


class MapCache:
    """Rendered map documents in memory, least recently used dropped first, bounded in bytes.

    One lock per key, so that concurrent requests for the same map build it once.

    Parameters
    ----------
    max_bytes : int
        Upper bound of the bodies (plain + gzip) kept.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self._docs: OrderedDict[Hashable, CachedDocument] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.builds = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, key: Hashable) -> CachedDocument | None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                self._docs.move_to_end(key)
                self.hits += 1
            return doc

    def get_or_build(self, key: Hashable, build: Callable[[], str]) -> CachedDocument:
        """The cached document of ``key``, built with ``build()`` (HTML text) when missing."""
        doc = self.get(key)
        if doc is not None:
            return doc
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            doc = self.get(key)
            if doc is not None:
                return doc
            try:
                body = build().encode("utf-8")
                digest = hashlib.blake2b(body, digest_size=12).hexdigest()
                doc = CachedDocument(body, gzip.compress(body, compresslevel=6), f'"{digest}"')
                with self._lock:
                    self.builds += 1
                    if doc.size <= self.max_bytes:
                        self._docs[key] = doc
                        self._bytes += doc.size
                        while self._bytes > self.max_bytes and self._docs:
                            _, old = self._docs.popitem(last=False)
                            self._bytes -= old.size
            finally:
                with self._lock:
                    self._key_locks.pop(key, None)
            return doc

    def clear(self) -> None:
        with self._lock:
            self._docs.clear()
            self._bytes = 0


def map_cache(app: Flask | None = None) -> MapCache:
    """The map cache of ``app`` (the current app by default)."""
    app = app or current_app
    cache = app.extensions.get("registry.mapcache")
    if cache is None:
        cache = app.extensions["registry.mapcache"] = MapCache(
            int(app.config.get("MAP_CACHE_BYTES", DEFAULT_CACHE_BYTES)))
    return cache


def _send(doc: CachedDocument, *, filename: str | None = None) -> Response:
    """Serve a cached document (gzip when accepted, 304 on a matching ETag)."""
    if request.if_none_match and doc.etag.strip('"') in request.if_none_match:
        resp = Response(status=304)
    elif "gzip" in request.accept_encodings and len(doc.body) > 2048:
        resp = Response(doc.gzipped, mimetype="text/html")
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(doc.body, mimetype="text/html")
    resp.headers["ETag"] = doc.etag
    resp.headers["Vary"] = "Accept-Encoding, Cookie"
    resp.headers.setdefault("Cache-Control", "private, no-cache")
    if filename:
        resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def _frame_headers() -> None:
    """A map document runs Folium's inline scripts and is shown in the registry's own iframes."""
    try:
        from registry.auth.security import allow_framing_by_self, allow_inline_scripts
    except ImportError:  # pragma: no cover - accounts module not installed
        return
    allow_inline_scripts()
    allow_framing_by_self()


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class MapChoice:
    """What a map shows: the basemap and the facility kinds."""

    basemap: str
    kinds: tuple[str, ...]

    def args(self) -> dict[str, str]:
        """Query-string form (for links and iframe URLs)."""
        out = {"basemap": self.basemap}
        if set(self.kinds) != set(ALL_KINDS):
            out["kinds"] = ",".join(self.kinds)
        return out


ALL_KINDS: tuple[str, ...] = tuple(k.value for k in FacilityKind)


def tianditu_key() -> str | None:
    """The configured Tianditu key (app config ``TIANDITU_KEY``, else the environment)."""
    key = current_app.config.get("TIANDITU_KEY")
    if key is None:
        key = load_settings().tianditu_key
    return key or None


def available_basemaps() -> list[str]:
    """Basemaps that can be offered (Tianditu only with a key)."""
    return [b for b in BASEMAP_KEYS if b != "tianditu" or tianditu_key()]


@bp.app_template_global()
def basemap_label(key: str) -> str:
    """Name of a basemap for the basemap menu."""
    labels = {
        "none": _("No basemap: district outlines (works offline)"),
        "osm": _("OpenStreetMap (needs internet)"),
        "tianditu": _("Tianditu 天地图 (needs internet)"),
        "amap": _("Amap 高德, GCJ-02 (needs internet)"),
    }
    return labels.get(key, key)


@bp.app_template_global()
def basemap_hint(key: str) -> str:
    """What a planner should know about a basemap."""
    hints = {
        "none": _("No tile server is needed: the district outlines are the base layer, so the map works on the "
                  "intranet without internet access."),
        "osm": _("Tiles come from openstreetmap.org. Without internet access the map still shows the districts "
                 "and every facility."),
        "tianditu": _("Tiles come from tianditu.gov.cn (CGCS2000, drawn like WGS-84). Without internet access the "
                      "map still shows the districts and every facility."),
        "amap": _("Amap tiles are in GCJ-02: facilities and districts are shifted into GCJ-02 for display so that "
                  "they sit on the right street; the stored coordinates stay WGS-84."),
    }
    return hints.get(key, "")


def _bad_request(message_zh: str, message_en: str) -> None:
    abort(400, description=message_en if current_lang() == "en" else message_zh)


def _query_error(exc: ql.QueryError) -> None:
    _bad_request(exc.zh, exc.en)


def parse_basemap(args: Mapping[str, Any] | MultiDict) -> str:
    """The ``basemap`` argument (default ``none``); a 400 page names a bad value."""
    basemap = (args.get("basemap") or "none").strip()
    if basemap not in BASEMAP_KEYS:
        _bad_request(f"basemap 无效：{basemap!r}，可选 {', '.join(BASEMAP_KEYS)}",
                     f"basemap: unknown value {basemap!r}; choose one of {', '.join(BASEMAP_KEYS)}")
    if basemap == "tianditu" and not tianditu_key():
        _bad_request("basemap：未配置天地图密钥 (TIANDITU_KEY)，无法使用天地图底图",
                     "basemap: the Tianditu basemap needs TIANDITU_KEY to be configured")
    return basemap


def parse_choice(args: Mapping[str, Any] | MultiDict, *, kinds: bool = True) -> MapChoice:
    """Basemap and (unless ``kinds=False``) kinds from request arguments; a 400 page names a bad value."""
    basemap = parse_basemap(args)
    if not kinds:
        return MapChoice(basemap, ALL_KINDS)
    raw = args.getlist("kinds") if isinstance(args, MultiDict) else [args.get("kinds") or ""]
    try:
        chosen = ql.parse_kinds([r for r in raw if r], "kinds")
    except ql.QueryError as exc:
        _query_error(exc)
    return MapChoice(basemap, chosen or ALL_KINDS)


def _transform(basemap: str) -> Any:
    return wgs84_to_gcj02 if basemap == "amap" else None


def base_for(choice: MapChoice, **kwargs: Any) -> folium.Map:
    """A base map with the chosen basemap; an online one can be switched off in the layer control."""
    names = [choice.basemap] if choice.basemap == "none" else [choice.basemap, "none"]
    return maps.base_map(basemap=names, key=tianditu_key(), transform=_transform(choice.basemap),
                         asset_base_url=url_for("static", filename="vendor"), **kwargs)


def _cache_key(name: str, *parts: Hashable) -> tuple[Hashable, ...]:
    return (name, current_lang(), request.script_root, *parts)


# --------------------------------------------------------------------------- builders
def _link_prefix(external: bool = False) -> str:
    return (request.url_root.rstrip("/") if external else request.script_root) + "/facilities/"


def _add_facilities(m: folium.Map, facilities: gpd.GeoDataFrame, kinds: Sequence[str], *, export: bool) -> None:
    threshold = int(current_app.config.get("MAP_GRID_THRESHOLD", DEFAULT_GRID_THRESHOLD))
    if len(facilities) > threshold:
        facilities_grid_map(facilities, m=m, kinds=kinds, link_prefix=_link_prefix(external=export),
                            popup_url=None if export else request.script_root + "/map/popup/",
                            embed_rows=export)
    else:
        maps.facilities_map(facilities, m=m, kinds=kinds, link_prefix=_link_prefix(external=export))


def build_all_kinds_map(choice: MapChoice, *, export: bool = False) -> folium.Map:
    """The all-kinds map: districts as the base layer, one clustered layer per kind, legend."""
    session = get_session()
    districts = get_map_districts(session)
    facilities = get_map_facilities(session, choice.kinds)
    m = base_for(choice)
    maps.districts_map(districts, m=m, name=_("Districts"), fit=True)
    _add_facilities(m, facilities, choice.kinds, export=export)
    return m


# --------------------------------------------------------------------------- routes
@bp.get("/map")
def index() -> str:
    """The all-kinds map page: the map in an iframe, with basemap and kind choice."""
    choice = parse_choice(request.args)
    frame = url_for("mapviews.frame", **choice.args())
    export = url_for("mapviews.export", **choice.args())
    kinds = [KIND_SPECS[FacilityKind(k)] for k in ALL_KINDS]
    return render_template("map/index.html", choice=choice, frame_url=frame, export_url=export, kinds=kinds,
                           basemaps=available_basemaps())


@bp.get("/map/frame")
def frame() -> Response:
    """The all-kinds map as a whole HTML document (for an iframe)."""
    choice = parse_choice(request.args)
    version = get_data_version(get_session())
    key = _cache_key("all", choice, version, current_app.config.get("MAP_GRID_THRESHOLD", DEFAULT_GRID_THRESHOLD))
    doc = map_cache().get_or_build(key, lambda: build_all_kinds_map(choice).get_root().render())
    _frame_headers()
    return _send(doc)


@bp.get("/map/export.html")
def export() -> Response:
    """The all-kinds map as one self-contained HTML file (scripts, styles, fonts inlined)."""
    choice = parse_choice(request.args)
    version = get_data_version(get_session())
    key = _cache_key("export", choice, version, request.url_root,
                     current_app.config.get("MAP_GRID_THRESHOLD", DEFAULT_GRID_THRESHOLD))
    doc = map_cache().get_or_build(key, lambda: maps.standalone_html(build_all_kinds_map(choice, export=True)))
    kinds = "all" if set(choice.kinds) == set(ALL_KINDS) else "-".join(choice.kinds)
    return _send(doc, filename=f"zhengzhou-facilities-{kinds}-{choice.basemap}.html")


def popup_info(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a facility popup shows (plain values; the page escapes them)."""
    from maps.styles import compliance_code, kind_style, status_label

    return {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "kind_label": kind_style(row["kind"]).label,
        "address": row.get("address"),
        "district": row.get("district"),
        "status": status_label(row["kind"], row.get("status")),
        "compliance": compliance_code(row.get("compliance_status")),
        "href": _link_prefix() + str(row["id"]),
    }


@bp.get("/map/popup/<int:facility_id>")
def popup(facility_id: int) -> Response:
    """Popup data of one facility (JSON) for the grid layers of very large maps."""
    row = ql.get_facility(get_session(), facility_id)
    if row is None:
        resp = jsonify({"error": f"no facility {facility_id}", "status": 404})
        resp.status_code = 404
        return resp
    return jsonify(popup_info(row))


def build_facility_map(facility_id: int, choice: MapChoice, *, export: bool = False) -> folium.Map | None:
    """Mini-map of one facility and its neighbours within :data:`NEIGHBOURS_M` (``None``: no such facility)."""
    session = get_session()
    focus = get_map_facilities(session, ids=[facility_id])
    if focus.empty:
        return None
    point = focus.geometry.iloc[0]
    near = ql.run(session, ql.Query(near=ql.Near(point.x, point.y, NEIGHBOURS_M), limit=500))
    ids = [r["id"] for r in near.rows if r["id"] != facility_id]
    others = get_map_facilities(session, ids=ids) if ids else focus.iloc[0:0]
    m = base_for(choice, center=(point.y, point.x), zoom=15)
    maps.districts_map(get_map_districts(session), m=m, name=_("Districts"), fit=False)
    links = _link_prefix(external=export)
    if len(others):
        maps.facilities_map(others, m=m, link_prefix=links, legend=False, fit=False)
    maps.radius_map((point.y, point.x), NEIGHBOURS_M, focus, m=m, link_prefix=links, fit=True,
                    name=_("This facility and %(radius)s m around it", radius=f"{NEIGHBOURS_M:,.0f}"))
    return m


def _facility_doc(facility_id: int, *, export: bool) -> CachedDocument:
    choice = parse_choice(request.args, kinds=False)
    session = get_session()
    version = get_data_version(session)
    if get_map_facilities(session, ids=[facility_id]).empty:
        abort(404)

    def build() -> str:
        m = build_facility_map(facility_id, choice, export=export)
        if m is None:  # deleted in the meantime
            abort(404)
        return maps.standalone_html(m) if export else m.get_root().render()

    key = _cache_key("facility-export" if export else "facility", facility_id, choice, version,
                     request.url_root if export else "")
    return map_cache().get_or_build(key, build)


@bp.get("/map/facility/<int:facility_id>/frame")
def facility_frame(facility_id: int) -> Response:
    """Mini-map of one facility and its neighbours within :data:`NEIGHBOURS_M`."""
    doc = _facility_doc(facility_id, export=False)
    _frame_headers()
    return _send(doc)


@bp.get("/map/facility/<int:facility_id>/export.html")
def facility_export(facility_id: int) -> Response:
    """The facility's mini-map as one self-contained HTML file."""
    return _send(_facility_doc(facility_id, export=True), filename=f"facility-{facility_id}-map.html")


@dataclass(frozen=True)
class RadiusRequest:
    """A radius query as a planner enters it (point in its own CRS)."""

    lon: float
    lat: float
    crs: str
    radius_m: float
    kinds: tuple[str, ...]

    def args(self) -> dict[str, str]:
        out = {"lon": f"{self.lon:.7f}", "lat": f"{self.lat:.7f}", "crs": self.crs, "radius": f"{self.radius_m:g}"}
        if set(self.kinds) != set(ALL_KINDS):
            out["kinds"] = ",".join(self.kinds)
        return out

    def query(self) -> ql.Query:
        """The query-layer form (WGS-84 point, geodesic metres, sorted by distance)."""
        data = {"near": [f"{self.lon},{self.lat}"], "radius": [str(self.radius_m)], "crs": [self.crs],
                "limit": [str(RADIUS_LIMIT)]}
        if self.kinds:
            data["kind"] = [",".join(self.kinds)]
        return ql.parse_params(data)


def parse_radius(args: Mapping[str, Any] | MultiDict) -> RadiusRequest | None:
    """The radius query in ``args``; ``None`` when no point was given.

    Raises
    ------
    registry.query.QueryError
        Naming the parameter (``lon``, ``lat``, ``radius``, ``crs``, ``kinds``).
    """
    lon_raw, lat_raw = (args.get("lon") or "").strip(), (args.get("lat") or "").strip()
    if not lon_raw and not lat_raw:
        return None
    if not lon_raw or not lat_raw:
        missing = "lon" if not lon_raw else "lat"
        raise ql.QueryError(f"{missing} 缺失：请同时填写经度和纬度", f"{missing} is missing: give both longitude and latitude",
                            missing)
    lon = ql.parse_number(lon_raw, "lon")
    lat = ql.parse_number(lat_raw, "lat")
    if not -180 <= lon <= 180:
        raise ql.QueryError("lon 超出范围 (-180..180)", f"lon out of range (-180..180): {lon}", "lon")
    if not -90 <= lat <= 90:
        raise ql.QueryError("lat 超出范围 (-90..90)", f"lat out of range (-90..90): {lat}", "lat")
    crs = ql.parse_crs_name(args.get("crs"), "crs")
    radius = ql.parse_metres(args.get("radius") or "500", "radius")
    raw = args.getlist("kinds") if isinstance(args, MultiDict) else [args.get("kinds") or ""]
    kinds = ql.parse_kinds([r for r in raw if r], "kinds") or ALL_KINDS
    return RadiusRequest(lon, lat, crs, radius, kinds)


def run_radius(req: RadiusRequest) -> ql.QueryResult:
    """Execute a radius query (rows sorted by distance, with ``distance_m``)."""
    return ql.run(get_session(), req.query())


def build_radius_map(req: RadiusRequest | None, choice: MapChoice, *, export: bool = False) -> folium.Map:
    """The radius map: circle, centre and the facilities found (districts only without a point).

    The live map lets a click choose a new centre; the exported one has no such handler.
    """
    session = get_session()
    m = base_for(choice)
    if req is None:
        maps.districts_map(get_map_districts(session), m=m, name=_("Districts"), fit=True)
    else:
        result = run_radius(req)
        lon, lat = result.query.point.wgs84 if result.query.point else (req.lon, req.lat)
        found = get_map_facilities(session, ids=[r["id"] for r in result.rows])
        distance = {r["id"]: r["distance_m"] for r in result.rows}
        found["distance_m"] = [distance.get(i) for i in found["id"]]
        maps.districts_map(get_map_districts(session), m=m, name=_("Districts"), fit=False)
        maps.radius_map((lat, lon), req.radius_m, found, m=m, link_prefix=_link_prefix(external=export), fit=True,
                        name=_("Within %(radius)s m (%(count)s)", radius=f"{req.radius_m:,.0f}", count=len(found)))
    if not export:
        pick_point(m, crs="gcj02" if choice.basemap == "amap" else "wgs84")
    return m


def _radius_doc(*, export: bool) -> CachedDocument:
    choice = parse_choice(request.args, kinds=False)
    try:
        req = parse_radius(request.args)
    except ql.QueryError as exc:
        _query_error(exc)
    version = get_data_version(get_session())

    def build() -> str:
        m = build_radius_map(req, choice, export=export)
        return maps.standalone_html(m) if export else m.get_root().render()

    key = _cache_key("radius-export" if export else "radius", choice, req, version,
                     request.url_root if export else "")
    return map_cache().get_or_build(key, build)


@bp.get("/map/radius/frame")
def radius_frame() -> Response:
    """The radius map: circle, centre and the facilities found; click to choose a new centre."""
    doc = _radius_doc(export=False)
    _frame_headers()
    return _send(doc)


@bp.get("/map/radius/export.html")
def radius_export() -> Response:
    """The radius map as one self-contained HTML file (same arguments as the frame)."""
    return _send(_radius_doc(export=True), filename="radius-map.html")


def init_app(app: Flask) -> None:
    """Register the map routes and create the map cache."""
    app.register_blueprint(bp)
    map_cache(app)
