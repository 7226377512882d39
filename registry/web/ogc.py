"""OGC API – Features at ``/ogc``: landing page, conformance, collections, items, queryables.

One collection per facility kind plus ``districts``.  Items support ``bbox``
and ``bbox-crs``, ``limit``/``offset`` with ``next``/``prev`` links and
``numberMatched``, ``crs`` (CRS84, EPSG:4326, EPSG:4490, EPSG:4547; the
EPSG CRSs in their own axis order), property filters on the queryables and
CQL2 text ``filter`` (Part 3) — all through :mod:`registry.query`, the same
layer as the JSON API.  Responses are GeoJSON/JSON, or HTML for browsers.

Built here rather than by mounting pygeoapi: see ``docs/API.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request, url_for

from registry import query as ql
from registry.db import get_session
from registry.kinds import KIND_SPECS, FacilityKind
from registry.web import openapi
from registry.web.errors import ApiError

bp = Blueprint("ogc", __name__)

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
DEFAULT_LIMIT = 10
DISTRICTS = "districts"

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
# uri -> (srid, axis order is y/x i.e. lat,lon or northing,easting)
CRSS: dict[str, tuple[int, bool]] = {
    CRS84: (4326, False),
    EPSG.format(4326): (4326, True),
    EPSG.format(4490): (4490, True),
    EPSG.format(4547): (4547, True),
}
CRS_URIS = list(CRSS)

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]

ITEM_PARAMETERS = {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang", "filter-crs",
                   "f", "lang"}
_EXTENT_TTL_S = 60.0
_extent_cache: dict[tuple[str, str], tuple[float, Any]] = {}


@bp.errorhandler(ql.QueryError)
def _query_error(err: ql.QueryError) -> tuple[Response, int]:
    return _json({"code": "InvalidParameterValue", "description": err.message, "error": err.message,
                  "status": 400, "parameter": err.parameter}), 400


def _json(body: Any, mimetype: str = JSON, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    resp = Response(text, mimetype=mimetype)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _wants_html() -> bool:
    f = (request.args.get("f") or "").lower()
    if f:
        if f == "html":
            return True
        if f in ("json", "geojson", "jsonld"):
            return False
        raise ApiError(f"不支持的格式 {f!r} / unsupported f={f!r}; expected json or html", "f")
    best = request.accept_mimetypes.best_match([JSON, GEOJSON, HTML], default=JSON)
    return best == HTML


def _url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


def _link(href: str, rel: str, mtype: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": mtype}
    if title:
        link["title"] = title
    return link


def _with_f(href: str, f: str) -> str:
    return href + ("&" if "?" in href else "?") + "f=" + f


# --------------------------------------------------------------------------- collections metadata
def _collection_ids() -> list[str]:
    return [k.value for k in FacilityKind] + [DISTRICTS]


def _check_collection(cid: str) -> None:
    if cid not in _collection_ids():
        raise ApiError(f"没有集合 {cid!r} / no collection {cid!r}; expected one of: {', '.join(_collection_ids())}",
                       "collectionId", 404)


def _extent(cid: str) -> list[float] | None:
    key = (cid, str(current_app.config.get("DATABASE_URL")))
    hit = _extent_cache.get(key)
    now = time.monotonic()
    if hit and now - hit[0] < _EXTENT_TTL_S:
        return hit[1]
    box = _district_extent() if cid == DISTRICTS else ql.collection_extent(get_session(), cid)
    value = [round(v, 6) for v in box] if box else None
    _extent_cache[key] = (now, value)
    return value


def _district_extent() -> tuple[float, float, float, float] | None:
    from sqlalchemy import select

    from registry.models import District
    from registry.spatial import box_coordinates, extent_of

    box = select(extent_of(District.geom).label("b")).where(District.level == "county").subquery()
    xmin, ymin, xmax, ymax = get_session().execute(select(*box_coordinates(box.c.b))).one()
    return None if xmin is None else (float(xmin), float(ymin), float(xmax), float(ymax))


def _title(cid: str) -> str:
    if cid == DISTRICTS:
        return "区县 / Districts"
    spec = KIND_SPECS[FacilityKind(cid)]
    return f"{spec.zh} / {spec.en}"


def _queryables(cid: str) -> dict[str, dict[str, Any]]:
    if cid == DISTRICTS:
        props = {name: openapi.field_schema(f) for name, f in ql.DISTRICT_FIELDS.items()}
        props["geometry"] = {"$ref": "https://geojson.org/schema/MultiPolygon.json"}
        return props
    props = {f.name: openapi.field_schema(f) for f in ql.fields_for([cid]) if f.queryable}
    props.pop("kind", None)
    props["geometry"] = {"$ref": "https://geojson.org/schema/Point.json"}
    return props


def _collection_json(cid: str) -> dict[str, Any]:
    items = _url("ogc.items", cid=cid)
    extent = _extent(cid)
    out: dict[str, Any] = {
        "id": cid,
        "title": _title(cid),
        "description": ("County-level districts of Zhengzhou (2019)" if cid == DISTRICTS
                        else f"{_title(cid)} in the Zhengzhou facility registry"),
        "itemType": "feature",
        "crs": CRS_URIS,
        "storageCrs": CRS84,
        "links": [
            _link(_url("ogc.collection", cid=cid), "self", JSON),
            _link(_with_f(_url("ogc.collection", cid=cid), "html"), "alternate", HTML),
            _link(items, "items", GEOJSON, "Features (GeoJSON)"),
            _link(_with_f(items, "html"), "items", HTML, "Features (HTML)"),
            _link(_url("ogc.queryables", cid=cid), "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                  "application/schema+json", "Queryables"),
        ],
    }
    if extent:
        out["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return out


# --------------------------------------------------------------------------- landing, conformance, api
@bp.get("/")
def landing() -> Response | str:
    """Landing page."""
    links = [
        _link(_url("ogc.landing"), "self", JSON, "This document"),
        _link(_with_f(_url("ogc.landing"), "html"), "alternate", HTML, "This document as HTML"),
        _link(_url("ogc.api"), "service-desc", OPENAPI, "API definition (OpenAPI 3.0)"),
        _link(_with_f(_url("ogc.api"), "html"), "service-doc", HTML, "API documentation"),
        _link(_url("ogc.conformance"), "conformance", JSON, "Conformance classes"),
        _link(_url("ogc.conformance"), "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON),
        _link(_url("ogc.collections"), "data", JSON, "Collections"),
        _link(_url("ogc.collections"), "http://www.opengis.net/def/rel/ogc/1.0/data", JSON),
    ]
    body = {"title": "郑州市城市设施 / Zhengzhou urban facilities",
            "description": "OGC API – Features: museums, city study rooms, parking lots, elevators, kindergartens "
                           "and districts. 博物馆、城市书房、停车场、电梯、幼儿园与区县。",
            "links": links}
    if _wants_html():
        return render_template("ogc/landing.html", body=body)
    return _json(body)


@bp.get("/conformance")
def conformance() -> Response | str:
    """Conformance classes this server implements."""
    if _wants_html():
        return render_template("ogc/conformance.html", classes=CONFORMANCE)
    return _json({"conformsTo": CONFORMANCE})


@bp.get("/api")
def api() -> Response | str:
    """OpenAPI 3.0 definition (``f=html``: interactive documentation)."""
    if _wants_html():
        return render_template("api/docs.html", spec_url=_url("ogc.api", f="json"),
                               title="OGC API – Features")
    colls = [{"id": cid, "title": _title(cid), "queryables": _queryables(cid)} for cid in _collection_ids()]
    return _json(openapi.ogc_document(colls, CRS_URIS), OPENAPI)


@bp.get("/collections")
def collections() -> Response | str:
    """All collections."""
    colls = [_collection_json(cid) for cid in _collection_ids()]
    body = {"links": [_link(_url("ogc.collections"), "self", JSON),
                      _link(_with_f(_url("ogc.collections"), "html"), "alternate", HTML)],
            "collections": colls, "crs": CRS_URIS}
    if _wants_html():
        return render_template("ogc/collections.html", body=body)
    return _json(body)


@bp.get("/collections/<cid>")
def collection(cid: str) -> Response | str:
    """One collection."""
    _check_collection(cid)
    body = _collection_json(cid)
    if _wants_html():
        return render_template("ogc/collection.html", body=body, queryables=_queryables(cid))
    return _json(body)


@bp.get("/collections/<cid>/queryables")
def queryables(cid: str) -> Response | str:
    """JSON Schema of the properties that filters may use."""
    _check_collection(cid)
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _url("ogc.queryables", cid=cid),
        "type": "object",
        "title": _title(cid),
        "properties": _queryables(cid),
        "additionalProperties": False,
    }
    if _wants_html():
        return render_template("ogc/queryables.html", body=body, cid=cid)
    return _json(body, "application/schema+json")


# --------------------------------------------------------------------------- items
def _crs_param(name: str, default: str = CRS84) -> tuple[str, int, bool]:
    raw = request.args.get(name)
    if not raw:
        return default, *CRSS[default]
    uri = _normalise_crs(raw)
    if uri is None:
        raise ApiError(f"不支持的坐标系 {raw!r} / unsupported {name} {raw!r}; expected one of: "
                       + ", ".join(CRS_URIS), name)
    return uri, *CRSS[uri]


def _normalise_crs(raw: str) -> str | None:
    text = raw.strip().strip("[]")
    if text in CRSS:
        return text
    low = text.lower()
    if low in ("crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84", "http://www.opengis.net/def/crs/ogc/1.3/crs84"):
        return CRS84
    m = re.fullmatch(r"(?:epsg:|urn:ogc:def:crs:epsg::|http://www\.opengis\.net/def/crs/epsg/0/)(\d+)", low)
    if m and EPSG.format(m.group(1)) in CRSS:
        return EPSG.format(m.group(1))
    return None


def _limit() -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    value = ql.parse_int(raw, "limit", 1, 10**12)
    return min(value, ql.MAX_LIMIT)  # larger limits are served with the maximum, as Part 1 recommends


def _bbox(bbox_srid: int, swap: bool) -> tuple[float, float, float, float] | None:
    raw = request.args.get("bbox")
    if not raw:
        return None
    geographic = bbox_srid in (4326, 4490)
    minx, miny, maxx, maxy = ql.parse_bbox(raw, "bbox", geographic=not swap and geographic)
    if swap:
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
        if geographic:
            ql.parse_bbox(f"{minx},{miny},{maxx},{maxy}", "bbox")
    return minx, miny, maxx, maxy


def _datetime() -> None:
    raw = request.args.get("datetime")
    if not raw:
        return
    for part in raw.split("/"):
        if part in ("..", ""):
            continue
        try:
            dt.datetime.fromisoformat(part)
        except ValueError:
            raise ApiError(f"datetime 无效: {raw!r} / invalid datetime {raw!r} (RFC 3339 instant or interval)",
                           "datetime") from None


def _filters(cid: str, kinds: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    fields = ql.DISTRICT_FIELDS if cid == DISTRICTS else {f.name: f for f in ql.fields_for(kinds) if f.queryable}
    out: list[tuple[str, Any]] = []
    for name in request.args:
        if name in ITEM_PARAMETERS:
            continue
        if name not in fields or name == "kind":
            raise ApiError(f"未知参数 {name!r} / unknown parameter {name!r} (not a queryable of {cid})", name)
        values = request.args.getlist(name)
        if len(values) != 1:
            raise ApiError(f"参数 {name} 只能给一次 / parameter {name} given more than once", name)
        expr = ql.cql2.Compare("=", name, values[0])
        out.append((name, ql.check_filter(expr, kinds, name, None if cid != DISTRICTS else fields)))
    lang = request.args.get("filter-lang")
    if lang and lang not in ("cql2-text", "cql-text"):
        raise ApiError(f"不支持的 filter-lang {lang!r} / unsupported filter-lang {lang!r}; expected cql2-text",
                       "filter-lang")
    raw = request.args.get("filter")
    if raw:
        _, fsrid, fswap = _crs_param("filter-crs")
        expr = ql.parse_filter(raw)
        expr = _prepare_spatial(expr, fsrid, fswap)
        out.append(("filter", ql.check_filter(expr, kinds, "filter", None if cid != DISTRICTS else fields)))
    return tuple(out)


def _prepare_spatial(expr: Any, srid: int, swap: bool) -> Any:
    """Geometry literals of a filter as x/y WKT in 4326 (EPSG:4547 literals are transformed in SQL)."""
    from shapely import wkt as shapely_wkt
    from shapely.ops import transform

    cql2 = ql.cql2

    def walk(e: Any) -> Any:
        if isinstance(e, (cql2.And, cql2.Or)):
            return type(e)(tuple(walk(i) for i in e.items))
        if isinstance(e, cql2.Not):
            return cql2.Not(walk(e.item))
        if isinstance(e, cql2.Intersects):
            geom = shapely_wkt.loads(e.wkt)
            if swap:
                geom = transform(lambda x, y, z=None: (y, x), geom)
            if srid == 4547:
                return cql2.Intersects(e.prop, f"SRID=4547;{geom.wkt}")
            return cql2.Intersects(e.prop, geom.wkt)
        return e

    return walk(expr)


def _page_links(cid: str, offset: int, limit: int, matched: int, returned: int) -> list[dict[str, str]]:
    base = _url("ogc.items", cid=cid)
    args = [(k, v) for k, vs in request.args.lists() if k not in ("offset", "f") for v in vs]

    def href(off: int | None, f: str | None = None) -> str:
        a = list(args)
        if off:
            a.append(("offset", str(off)))
        if f:
            a.append(("f", f))
        return base + ("?" + urlencode(a) if a else "")

    links = [_link(href(offset or None), "self", GEOJSON), _link(href(offset or None, "html"), "alternate", HTML),
             _link(_url("ogc.collection", cid=cid), "collection", JSON)]
    if offset + returned < matched and returned:
        links.append(_link(href(offset + returned), "next", GEOJSON, "next page"))
    if offset > 0:
        links.append(_link(href(max(offset - limit, 0)), "prev", GEOJSON, "previous page"))
    return links


@bp.get("/collections/<cid>/items")
def items(cid: str) -> Response | str:
    """Features of a collection (GeoJSON or HTML)."""
    _check_collection(cid)
    html = _wants_html()
    crs_uri, out_srid, swap = _crs_param("crs")
    _, bbox_srid, bbox_swap = _crs_param("bbox-crs")
    limit = _limit()
    offset = ql.parse_int(request.args.get("offset") or "0", "offset", 0, ql.MAX_OFFSET)
    bbox = _bbox(bbox_srid, bbox_swap)
    _datetime()
    kinds = () if cid == DISTRICTS else (cid,)
    filters = _filters(cid, kinds)
    session = get_session()
    decimals = 7 if out_srid in (4326, 4490) else 3
    if cid == DISTRICTS:
        rows, matched = ql.run_districts(session, ql.DistrictQuery(bbox=bbox, bbox_srid=bbox_srid, filters=filters,
                                                                   limit=limit, offset=offset, out_srid=out_srid))
        features = [_district_feature(r, swap) for r in rows]
    else:
        q = ql.Query(kinds=kinds, filters=filters, bbox=bbox, bbox_srid=bbox_srid, limit=limit, offset=offset,
                     out_srid=out_srid)
        result = ql.run(session, q)
        rows, matched = result.rows, result.number_matched
        features = [ql.feature(r, decimals, swap_axes=swap) for r in rows]
    links = _page_links(cid, offset, limit, matched, len(features))
    headers = {"Content-Crs": f"<{crs_uri}>"}
    if html:
        resp = Response(render_template("ogc/items.html", cid=cid, title=_title(cid), features=features,
                                        matched=matched, links=links, offset=offset,
                                        columns=_html_columns(cid)))
        resp.headers.update(headers)
        return resp
    return _json({
        "type": "FeatureCollection",
        "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "numberMatched": matched,
        "numberReturned": len(features),
        "links": links,
        "features": features,
    }, GEOJSON, headers)


def _district_feature(row: dict[str, Any], swap: bool) -> dict[str, Any]:
    geometry = json.loads(row["geometry"]) if isinstance(row.get("geometry"), str) else row.get("geometry")
    if swap and geometry:
        geometry = {"type": geometry["type"], "coordinates": _swap(geometry["coordinates"])}
    return {"type": "Feature", "id": row["adcode"], "geometry": geometry,
            "properties": {k: row[k] for k in ("adcode", "name", "unit_type", "area_km2")}}


def _swap(coords: Any) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return [coords[1], coords[0], *coords[2:]]
    return [_swap(c) for c in coords]


def _html_columns(cid: str) -> list[str]:
    if cid == DISTRICTS:
        return ["adcode", "name", "unit_type", "area_km2"]
    return ["name", "district", "status", "address"]


@bp.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str) -> Response | str:
    """One feature."""
    _check_collection(cid)
    html = _wants_html()
    crs_uri, out_srid, swap = _crs_param("crs")
    for name in request.args:
        if name not in ("crs", "f", "lang"):
            raise ApiError(f"未知参数 {name!r} / unknown parameter {name!r}", name)
    session = get_session()
    feature: dict[str, Any] | None = None
    if cid == DISTRICTS:
        rows, _ = ql.run_districts(session, ql.DistrictQuery(ids=(fid,), limit=1, out_srid=out_srid))
        feature = _district_feature(rows[0], swap) if rows else None
    elif fid.isdigit() and len(fid) < 11:
        row = ql.get_facility(session, int(fid), out_srid, kinds=(cid,))
        decimals = 7 if out_srid in (4326, 4490) else 3
        feature = ql.feature(row, decimals, swap_axes=swap) if row else None
    if feature is None:
        raise ApiError(f"集合 {cid} 中没有要素 {fid!r} / no feature {fid!r} in {cid}", "featureId", 404)
    self_url = _url("ogc.item", cid=cid, fid=fid)
    feature["links"] = [_link(self_url, "self", GEOJSON), _link(_with_f(self_url, "html"), "alternate", HTML),
                        _link(_url("ogc.collection", cid=cid), "collection", JSON)]
    if html:
        return render_template("ogc/item.html", cid=cid, title=_title(cid), feature=feature)
    return _json(feature, GEOJSON, {"Content-Crs": f"<{crs_uri}>"})


__all__ = ["CONFORMANCE", "CRS_URIS", "bp"]
