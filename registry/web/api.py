"""JSON API, version 1, mounted at ``/api`` (``/api/v1`` is the same API under its version).

A thin layer over :mod:`registry.query`: each view turns the request into a
:class:`~registry.query.Query`, runs it and shapes GeoJSON (default) or CSV.
Invalid input becomes a JSON 400 that names the parameter
(:class:`registry.web.errors.ApiError`), never a 500.  The contract is the
OpenAPI document at ``/api/openapi.json`` (browsable at ``/api/docs``).
"""

from __future__ import annotations

import atexit
import functools
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import psycopg
from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from registry import query as ql
from registry.db import get_session
from registry.kinds import KIND_SPECS
from registry.web import openapi
from registry.web.errors import ApiError

bp = Blueprint("api", __name__)

API_VERSION = "1.0.0"
MAX_LIMIT = ql.MAX_LIMIT
GEOJSON = "application/geo+json"


@bp.errorhandler(ql.QueryError)
def _query_error(err: ql.QueryError) -> tuple[Response, int]:
    api_err = ApiError(err.message, err.parameter)
    return _json(api_err.to_dict()), api_err.status


@bp.after_request
def _version_header(response: Response) -> Response:
    response.headers["API-Version"] = API_VERSION
    return response


def _json(body: Any, mimetype: str = "application/json", status: int = 200) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return Response(text, status=status, mimetype=mimetype)


def _output_format() -> str:
    """``geojson`` (default) or ``csv`` from ``f``/``format`` or the Accept header."""
    raw = request.args.get("f") or request.args.get("format")
    if raw:
        value = raw.lower()
        if value in ("json", "geojson"):
            return "geojson"
        if value == "csv":
            return "csv"
        name = "f" if request.args.get("f") else "format"
        raise ApiError(f"不支持的格式 {raw!r}, 可选 geojson 或 csv / unsupported format {raw!r}; "
                       "expected geojson or csv", name)
    best = request.accept_mimetypes.best_match([GEOJSON, "application/json", "text/csv"], default=GEOJSON)
    return "csv" if best == "text/csv" and request.accept_mimetypes["text/csv"] > 0 else "geojson"


def _args() -> dict[str, list[str]]:
    return request.args.to_dict(flat=False)


def _page_url(offset: int | None) -> str | None:
    if offset is None:
        return None
    args = [(k, v) for k, values in request.args.lists() if k not in ("cursor", "offset") for v in values]
    if offset:
        args.append(("cursor", ql.encode_cursor(offset)))
    return request.base_url + ("?" + urlencode(args) if args else "")


def _csv(result: ql.QueryResult) -> Response:
    resp = Response(ql.to_csv(result.rows, result.query.kinds), mimetype="text/csv")
    resp.headers["Content-Disposition"] = "attachment; filename=facilities.csv"
    resp.headers["X-Number-Matched"] = str(result.number_matched)
    if result.next_offset is not None:
        resp.headers["Link"] = f'<{_page_url(result.next_offset)}>; rel="next"'
    return resp


def _feature_collection(page: ql.FeaturePage, method: str = "GET", body: Any = None) -> Response:
    """The FeatureCollection of a page: the envelope is serialised here, the features come as JSON text."""
    links: list[dict[str, Any]] = [{"rel": "self", "href": request.url, "type": GEOJSON}]
    next_url = _page_url(page.next_offset)
    if next_url:
        link: dict[str, Any] = {"rel": "next", "href": next_url, "type": GEOJSON}
        if method == "POST":
            link.update(method="POST", body=body)
        links.append(link)
    prev_url = _page_url(page.prev_offset)
    if prev_url:
        links.append({"rel": "prev", "href": prev_url, "type": GEOJSON})
    head = json.dumps({
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": page.number_returned,
        "query": page.query.describe(),
        "next": next_url,
        "links": links,
    }, ensure_ascii=False, separators=(",", ":"), default=str)
    text = f'{head[:-1]},"features":[{",".join(page.features)}]}}'
    return Response(text, mimetype=GEOJSON)


def _read_session() -> Session:
    """The request's session for a read: outside a transaction when nothing has started one yet.

    One query's page is a single statement (one snapshot), so it needs no transaction of its own;
    without one, psycopg sends no ``BEGIN`` and the pool no ``ROLLBACK`` (two round trips of about
    0.1-0.3 ms each).  A session bound to a connection (tests) or already in a transaction (a bearer
    token was checked) is used as it is.
    """
    session = get_session()
    if not session.in_transaction() and isinstance(session.get_bind(), Engine):
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


# --------------------------------------------------------------------------- reads outside the session
# A feature page of a common shape is one statement whose SQL text is compiled once (query.run_features).
# It runs on a pooled connection of its own pool: autocommit (no BEGIN/ROLLBACK), no session, and no
# pre-ping (the app's engine pings each checkout: one more round trip per request).  A connection the
# server has closed (restart, idle timeout) fails on use instead; it is then dropped and the read is
# retried once on a fresh connection, so a restarted database still costs no error.
READ_POOL_NAME = "registry-api-read"  # application_name of its connections (pg_stat_activity)
_read_engines: list[Engine] = []


@functools.lru_cache(maxsize=8)
def _read_engine(engine: Engine) -> Engine:
    """The read pool of ``engine``'s database (one per engine and process)."""
    read = create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_size=10,
                         max_overflow=10, connect_args={"application_name": READ_POOL_NAME})
    _read_engines.append(read)
    return read


@atexit.register
def dispose_read_pools() -> None:
    """Close the read pools' pooled connections (tests; process exit)."""
    for engine in _read_engines:
        engine.dispose()


def _read_with(engine: Engine, sql: str, args: Sequence[Any]) -> Sequence[Any]:
    """Rows of one read statement (``$n`` placeholders) on ``engine``'s read pool (see above)."""
    for attempt in (1, 2):
        conn = engine.raw_connection()
        try:
            with psycopg.RawCursor(conn.driver_connection) as cur:  # type: ignore[arg-type]
                return cur.execute(sql, args).fetchall()
        except psycopg.OperationalError:
            if attempt == 2 or not conn.driver_connection.broken:  # type: ignore[union-attr]
                raise
            conn.invalidate()  # the server closed it: never handed out again
        finally:
            conn.close()
    raise AssertionError("unreachable")


def _reader() -> ql.Reader | None:
    """How this request's feature page is read: the read pool, unless the request's session is in a
    transaction (its reads must see its own writes) or the app is bound to a connection (tests)."""
    session: Session | None = g.get("db_session")
    if session is not None and session.in_transaction():
        return None
    bind = current_app.extensions["registry.sessionmaker"].kw.get("bind")
    if not isinstance(bind, Engine):
        return None
    return functools.partial(_read_with, _read_engine(bind))


def _collection(q: ql.Query, method: str = "GET", body: Any = None) -> Response:
    """Run ``q`` and answer GeoJSON (default) or CSV."""
    if _output_format() == "csv":
        return _csv(ql.run(_read_session(), q))
    read = _reader() if ql.has_compiled_shape(q) else None
    session = get_session() if read is not None else _read_session()
    return _feature_collection(ql.run_features(session, q, read), method, body)


# --------------------------------------------------------------------------- facilities
@bp.get("/v1/facilities")
@bp.get("/facilities")
def facilities() -> Response:
    """Facilities as GeoJSON (or CSV): radius, nearest and area queries with filters."""
    q = ql.parse_params(_args())
    _output_format()
    return _collection(q)


@bp.post("/v1/facilities/search")
@bp.post("/facilities/search")
def search() -> Response:
    """Facilities inside a posted GeoJSON polygon (filters as query parameters)."""
    if not request.get_data(cache=True):
        raise ApiError("请求体为空, 需要 GeoJSON 多边形 / empty body: post a GeoJSON Polygon or MultiPolygon", "body")
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise ApiError("请求体不是有效的 JSON / the body is not valid JSON", "body")
    q = ql.parse_params(_args(), polygon=body)
    _output_format()
    return _collection(q, method="POST", body=body)


@bp.get("/v1/facilities/<int:facility_id>")
@bp.get("/facilities/<int:facility_id>")
def facility(facility_id: int) -> Response:
    """One facility as a GeoJSON Feature."""
    row = ql.get_facility(get_session(), facility_id)
    if row is None:
        raise ApiError(f"没有编号为 {facility_id} 的设施 / no facility with id {facility_id}", "id", 404)
    feat = ql.feature(row)
    feat["links"] = [{"rel": "self", "href": request.url, "type": GEOJSON},
                     {"rel": "collection", "href": url_for("api.facilities", _external=True), "type": GEOJSON}]
    return _json(feat, GEOJSON)


# --------------------------------------------------------------------------- reference data
@bp.get("/v1/districts")
@bp.get("/districts")
def districts() -> Response:
    """The 12 county-level districts as GeoJSON (``geometry=false`` for properties only)."""
    p = ql.Params(_args())
    raw = (p.get("geometry") or "true").lower()
    if raw not in ("true", "false"):
        raise ApiError("geometry 只能是 true 或 false / geometry must be true or false", "geometry")
    unknown = [k for k in p.unknown() if k not in ("lang",)]
    if unknown:
        raise ApiError(f"未知参数 {unknown[0]!r} / unknown parameter {unknown[0]!r}", unknown[0])
    rows, matched = ql.run_districts(get_session(), ql.DistrictQuery(geometry=raw == "true", limit=1000))
    features = [{
        "type": "Feature",
        "id": r["adcode"],
        "geometry": json.loads(r["geometry"]) if r.get("geometry") else None,
        "properties": {k: r[k] for k in ("adcode", "name", "unit_type", "area_km2")},
    } for r in rows]
    return _json({"type": "FeatureCollection", "numberMatched": matched, "numberReturned": len(features),
                  "features": features}, GEOJSON)


@bp.get("/v1/kinds")
@bp.get("/kinds")
def kinds() -> Response:
    """Facility kinds and the fields that can be filtered and sorted (for ``where``, ``filter``, ``sort``)."""
    out = []
    for spec in KIND_SPECS.values():
        fields = [_field_json(f) for f in ql.fields_for([spec.kind.value]) if f.queryable]
        out.append({"kind": spec.kind.value, "zh": spec.zh, "en": spec.en,
                    "statuses": [{"value": c.value, "zh": c.zh, "en": c.en} for c in spec.statuses],
                    "fields": fields})
    return _json({"kinds": out})


def _field_json(f: ql.Field) -> dict[str, Any]:
    item: dict[str, Any] = {"name": f.name, "type": f.type.value, "zh": f.zh, "en": f.en}
    if f.choices and f.name != "status":
        item["choices"] = [{"value": c.value, "zh": c.zh, "en": c.en} for c in f.choices]
    if f.unit:
        item["unit"] = f.unit
    if f.rules:
        item["rules"] = list(f.rules)
    if f.description:
        item["description"] = f.description
    return item


# --------------------------------------------------------------------------- documentation
@bp.get("/v1/openapi.json")
@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3 document of this API."""
    return _json(openapi.api_document(), "application/vnd.oai.openapi+json;version=3.0")


@bp.get("/docs")
def docs() -> str:
    """Interactive documentation (Swagger UI served from local assets)."""
    return render_template("api/docs.html", spec_url=url_for("api.openapi_json"),
                           title="郑州市设施登记 API / Zhengzhou Facility Registry API")
