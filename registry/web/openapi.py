"""OpenAPI 3.0 documents: the JSON API (``/api/openapi.json``) and the OGC API – Features (``/ogc/api``).

Built from the same field registry as the query layer (:mod:`registry.query`),
so the documented kinds, fields, limits and error shapes are the ones the
code enforces.
"""

from __future__ import annotations

from typing import Any

from registry import query as ql
from registry.kinds import FieldType
from registry.web import coverage

NUMBER_PAIR = r"^\s*-?[0-9]+(\.[0-9]+)?\s*,\s*-?[0-9]+(\.[0-9]+)?\s*$"
KIND_ENUM = [k for k in ql.KIND_VALUES]

_TYPE_SCHEMA: dict[FieldType, dict[str, Any]] = {
    FieldType.STR: {"type": "string"},
    FieldType.INT: {"type": "integer"},
    FieldType.FLOAT: {"type": "number"},
    FieldType.BOOL: {"type": "boolean"},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.TIME: {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
    FieldType.ENUM: {"type": "string"},
    FieldType.POINTS: {"type": "string"},
}


def field_schema(f: ql.Field) -> dict[str, Any]:
    """JSON Schema of one field (title Chinese / English, enum of stored values)."""
    schema = dict(_TYPE_SCHEMA[f.type])
    schema["title"] = f"{f.zh} / {f.en}"
    if f.choices:
        schema["enum"] = list(dict.fromkeys(c.value for c in f.choices))
    notes = []
    if f.unit:
        notes.append(f"unit: {f.unit}")
    if f.rules:
        notes.append("rules: " + ", ".join(f.rules))
    if f.description:
        notes.append(f.description)
    if notes:
        schema["description"] = "; ".join(notes)
    return schema


def _param(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {"type": "string", "description": "中文 / English message"},
        "status": {"type": "integer"},
        "parameter": {"type": "string", "description": "the parameter or field at fault"},
    },
}


def _api_parameters() -> dict[str, dict[str, Any]]:
    return {
        "kind": _param("kind", "Facility kind(s), comma-separated. 设施类型。",
                       {"type": "string", "example": "kindergarten"}),
        "district": _param("district", "Assigned county-level district(s) by name or adcode, comma-separated "
                           "(attribute filter). 所属区县。", {"type": "string", "example": "金水区"}),
        "within": _param("within", "Inside the boundary of a district (or census unit / functional zone), by "
                         "name or code (spatial filter). 位于该区县边界内。", {"type": "string", "example": "金水区"}),
        "bbox": _param("bbox", "minLon,minLat,maxLon,maxLat (in `crs`).",
                       {"type": "string", "example": "113.60,34.70,113.75,34.80"}),
        "near": _param("near", "Centre lon,lat of a radius query (in `crs`); needs `radius`.",
                       {"type": "string", "pattern": NUMBER_PAIR, "example": "113.6654,34.7579"}),
        "radius": _param("radius", "Radius in metres, > 0 and ≤ 50000 (with `near`).",
                         {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": ql.MAX_RADIUS_M,
                          "example": 300}),
        "nearest": _param("nearest", "Point lon,lat (in `crs`) for a k-nearest query.",
                          {"type": "string", "pattern": NUMBER_PAIR, "example": "113.6654,34.7579"}),
        "k": _param("k", "Number of nearest facilities (1–1000, default 5).",
                    {"type": "integer", "minimum": 1, "maximum": ql.MAX_K, "default": ql.DEFAULT_K}),
        "max_distance": _param("max_distance", "Optional maximum distance in metres for `nearest` (≤ 50000).",
                               {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                                "maximum": ql.MAX_RADIUS_M}),
        "crs": _param("crs", "Coordinate system of `near`, `nearest`, `bbox` and posted polygons: wgs84 "
                      "(default), cgcs2000, gcj02 (Amap/Tencent), bd09 (Baidu).",
                      {"type": "string", "enum": ["wgs84", "cgcs2000", "gcj02", "bd09"], "default": "wgs84"}),
        "distance": _param("distance", "Distance for radius queries: geodesic metres on the WGS-84 spheroid "
                           "(default) or EPSG:4547 projected metres.",
                           {"type": "string", "enum": ["geodesic", "projected"], "default": "geodesic"}),
        "status": _param("status", "Status value(s), comma-separated (stored value or Chinese term).",
                         {"type": "string", "example": "open"}),
        "compliance": _param("compliance", "Compliance status value(s), comma-separated (available once the "
                             "compliance engine stores a status; 400 otherwise).", {"type": "string"}),
        "where": _param("where", "Attribute condition `field<op>value`, repeatable (AND). Ops: = != < <= > >= "
                        "and ~ (contains). `field=null` tests for unknown values. E.g. `seats<15`, "
                        "`operator_type=公办`, `inspection_due<2026-01-01`.",
                        {"type": "array", "items": {"type": "string"}}, style="form", explode=True),
        "filter": _param("filter", "CQL2 text filter, e.g. `seats < 15 AND wifi = true`.", {"type": "string"}),
        "filter-lang": _param("filter-lang", "Filter language (cql2-text).",
                              {"type": "string", "enum": ["cql2-text"]}),
        "sort": _param("sort", "Comma-separated fields, `-` for descending; `distance` with near/nearest "
                       "(default for them), else id.", {"type": "string", "example": "-seats,name"}),
        "limit": _param("limit", "Page size (1–10000, default 100).",
                        {"type": "integer", "minimum": 1, "maximum": ql.MAX_LIMIT, "default": ql.DEFAULT_LIMIT}),
        "cursor": _param("cursor", "Opaque page cursor from a `next` link.", {"type": "string"}),
        "offset": _param("offset", "Rows to skip (prefer `cursor`).",
                         {"type": "integer", "minimum": 0, "maximum": ql.MAX_OFFSET}),
        "f": _param("f", "Output format: geojson (default) or csv (also `Accept: text/csv`).",
                    {"type": "string", "enum": ["geojson", "json", "csv"]}),
    }


_FACILITY_PARAMS = ["kind", "district", "within", "bbox", "near", "radius", "nearest", "k", "max_distance", "crs",
                    "distance", "status", "compliance", "where", "filter", "filter-lang", "sort", "limit", "cursor",
                    "offset", "f"]


def _responses(ok_description: str, ok_schema: dict[str, Any], media: str = "application/geo+json",
               csv: bool = False, not_found: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {media: {"schema": ok_schema}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    out: dict[str, Any] = {
        "200": {"description": ok_description, "content": content},
        "400": {"description": "Invalid parameter (the body names it)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    }
    if not_found:
        out["404"] = {"description": "Not found",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return out


def api_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document of the JSON API (paths relative to ``/api``)."""
    params = _api_parameters()
    refs = [{"$ref": f"#/components/parameters/{name}"} for name in _FACILITY_PARAMS]
    properties = {f.name: field_schema(f) for f in ql.FIELDS.values() if f.queryable}
    properties["distance_m"] = {"type": "number", "description": "distance from the query point in metres"}
    fc = {"$ref": "#/components/schemas/FeatureCollection"}
    document = {
        "openapi": "3.0.3",
        "info": {
            "title": "郑州市城市设施登记 API / Zhengzhou Urban Facility Registry API",
            "version": "1.0.0",
            "description": (
                "Radius, nearest and area queries over museums, city study rooms, parking lots, elevators and "
                "kindergartens. Distances are geodesic metres on the WGS-84 spheroid unless `distance=projected` "
                "(EPSG:4547). Points may be given in GCJ-02 or BD-09 with `crs`. Malformed input gets a 400 whose "
                "JSON body names the parameter. `/api/v1/...` is the same API under its version. "
                "See also the OGC API – Features at `/ogc`."
            ),
        },
        "servers": [{"url": "/api"}, {"url": "/api/v1"}],
        "paths": {
            "/facilities": {"get": {
                "operationId": "getFacilities",
                "summary": "Facilities: radius, nearest, area queries and filters",
                "parameters": refs,
                "responses": _responses("Facilities as GeoJSON (CSV with f=csv)", fc, csv=True),
            }},
            "/facilities/search": {"post": {
                "operationId": "searchFacilities",
                "summary": "Facilities inside a posted GeoJSON polygon (filters as query parameters)",
                "parameters": refs,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/PolygonInput"}}}},
                "responses": _responses("Facilities inside the polygon", fc, csv=True),
            }},
            "/facilities/{id}": {"get": {
                "operationId": "getFacility",
                "summary": "One facility",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}],
                "responses": _responses("A GeoJSON Feature", {"$ref": "#/components/schemas/Feature"},
                                        not_found=True),
            }},
            "/districts": {"get": {
                "operationId": "getDistricts",
                "summary": "County-level districts",
                "parameters": [_param("geometry", "Include boundaries (default true).",
                                      {"type": "string", "enum": ["true", "false"]})],
                "responses": _responses("Districts as GeoJSON", fc),
            }},
            "/kinds": {"get": {
                "operationId": "getKinds",
                "summary": "Kinds and their filterable fields",
                "responses": _responses("Kinds", {"type": "object"}, media="application/json"),
            }},
        },
        "components": {
            "parameters": params,
            "schemas": {
                "Error": ERROR_SCHEMA,
                "Properties": {"type": "object", "properties": properties},
                "Feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    "geometry": {"type": "object", "nullable": True},
                    "properties": {"$ref": "#/components/schemas/Properties"},
                }},
                "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "numberMatched": {"type": "integer"},
                    "numberReturned": {"type": "integer"},
                    "next": {"type": "string", "nullable": True},
                    "links": {"type": "array", "items": {"type": "object"}},
                    "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
                }},
                "PolygonInput": {
                    "description": "A GeoJSON Polygon or MultiPolygon, bare, as a Feature, or a FeatureCollection "
                                   "of them (coordinates in `crs`).",
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": {"type": "string",
                                 "enum": ["Polygon", "MultiPolygon", "Feature", "FeatureCollection"]},
                        "coordinates": {"type": "array"},
                        "geometry": {"type": "object"},
                        "features": {"type": "array"},
                    },
                    "example": {"type": "Polygon", "coordinates": [[[113.65, 34.75], [113.68, 34.75],
                                                                     [113.68, 34.77], [113.65, 34.77],
                                                                     [113.65, 34.75]]]},
                },
            },
        },
    }
    for path, item in coverage.openapi_paths().items():  # the coverage blueprint documents its own paths
        document["paths"][path] = {"servers": [{"url": "/api"}], **item}  # not (yet) under /api/v1
    return document


# --------------------------------------------------------------------------- OGC API – Features
def ogc_document(collections: list[dict[str, Any]], crs_uris: list[str]) -> dict[str, Any]:
    """OpenAPI 3.0 document of the OGC API – Features at ``/ogc`` (one items path per collection).

    Each collection's items path lists its queryables as query parameters, so
    clients such as GDAL know which property filters the server evaluates.
    """
    common_items = [
        _param("limit", "Page size (1–10000, default 10).",
               {"type": "integer", "minimum": 1, "maximum": ql.MAX_LIMIT, "default": 10}, style="form",
               explode=False),
        _param("offset", "Features to skip (used by next links).",
               {"type": "integer", "minimum": 0, "maximum": ql.MAX_OFFSET}),
        _param("bbox", "minx,miny,maxx,maxy in bbox-crs (CRS84 by default; EPSG:4326/4490 are lat,lon).",
               {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}, style="form",
               explode=False),
        _param("bbox-crs", "CRS of bbox.", {"type": "string", "format": "uri", "enum": crs_uris}),
        _param("crs", "CRS of the response geometries.", {"type": "string", "format": "uri", "enum": crs_uris}),
        _param("datetime", "Accepted for conformance; the collections have no temporal extent.",
               {"type": "string"}),
        _param("filter", "CQL2 text filter over the queryables.", {"type": "string"}),
        _param("filter-lang", "Filter language.", {"type": "string", "enum": ["cql2-text"],
                                                   "default": "cql2-text"}),
        _param("filter-crs", "CRS of geometry literals in filter.", {"type": "string", "format": "uri",
                                                                     "enum": crs_uris}),
        _param("f", "Response format.", {"type": "string", "enum": ["json", "html"]}),
    ]
    paths: dict[str, Any] = {
        "/": {"get": {"operationId": "getLandingPage", "summary": "Landing page",
                      "parameters": [common_items[-1]],
                      "responses": {"200": {"description": "Landing page"}}}},
        "/conformance": {"get": {"operationId": "getConformance", "summary": "Conformance classes",
                                 "parameters": [common_items[-1]],
                                 "responses": {"200": {"description": "Conformance declaration"}}}},
        "/collections": {"get": {"operationId": "getCollections", "summary": "Collections",
                                 "parameters": [common_items[-1]],
                                 "responses": {"200": {"description": "Collections"}}}},
    }
    for coll in collections:
        cid = coll["id"]
        queryables = [
            _param(name, f"Property filter: {schema.get('title', name)} (equality).", _plain(schema))
            for name, schema in coll["queryables"].items() if name != "geometry"
        ]
        paths[f"/collections/{cid}"] = {"get": {
            "operationId": f"describeCollection_{cid}", "summary": coll["title"],
            "parameters": [common_items[-1]], "responses": {"200": {"description": "Collection"}}}}
        paths[f"/collections/{cid}/queryables"] = {"get": {
            "operationId": f"getQueryables_{cid}", "summary": f"Queryables of {cid}",
            "responses": {"200": {"description": "JSON Schema of the queryables",
                                  "content": {"application/schema+json": {"schema": {"type": "object"}}}}}}}
        paths[f"/collections/{cid}/items"] = {"get": {
            "operationId": f"getFeatures_{cid}", "summary": f"Features of {cid}",
            "parameters": common_items + queryables,
            "responses": {
                "200": {"description": "Features",
                        "content": {"application/geo+json": {"schema": {"type": "object"}},
                                    "text/html": {"schema": {"type": "string"}}}},
                "400": {"description": "Invalid parameter",
                        "content": {"application/json": {"schema": ERROR_SCHEMA}}},
            }}}
        paths[f"/collections/{cid}/items/{{featureId}}"] = {"get": {
            "operationId": f"getFeature_{cid}", "summary": f"One feature of {cid}",
            "parameters": [{"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
                           common_items[4], common_items[-1]],
            "responses": {"200": {"description": "Feature"}, "404": {"description": "Not found"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "郑州市城市设施 OGC API – Features / Zhengzhou facilities OGC API – Features",
                 "version": "1.0.0",
                 "description": "One collection per facility kind plus the county-level districts."},
        "servers": [{"url": "/ogc"}],
        "paths": paths,
    }


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in schema.items() if k in ("type", "enum", "format")}
    if out.get("type") == "boolean":
        out = {"type": "string", "enum": ["true", "false"]}
    return out or {"type": "string"}
