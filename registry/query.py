"""The query layer: radius, nearest and area queries over facilities, with filters.

One place turns request parameters (from the JSON API, the OGC API, the CLI)
into a framework-neutral :class:`Query`, validates them with errors that name
the parameter (:class:`QueryError`), and executes them with the statements of
:mod:`registry.spatial`, returning plain rows with ``distance_m``.

- **radius** (``near`` + ``radius``): facilities within R metres of a point,
  exact geodesic metres on the WGS-84 spheroid (``geography``) or EPSG:4547
  metres (``distance="projected"``), index-assisted, sorted by distance;
- **nearest** (``nearest`` + ``k``): the k nearest, exactly ordered on the
  spheroid (see :func:`registry.spatial.select_nearest`), optional
  ``max_distance``;
- **area**: ``within`` a district (or census unit / functional zone) boundary,
  inside a GeoJSON polygon, inside a ``bbox``;
- **filters**: kind, district, status, compliance status, attribute
  conditions (``seats<15``, ``operator_type=公办``,
  ``inspection_due<2026-01-01``) and CQL2 text (:mod:`registry.cql2`).

Points may be given in GCJ-02 (Amap, Tencent) or BD-09 (Baidu); they are
converted to WGS-84 with :func:`registry.coords.to_wgs84` before querying.

Examples
--------
>>> q = parse_params({"near": ["113.66,34.76"], "radius": ["300"], "kind": ["kindergarten"]})
>>> q.near.radius_m, q.kinds
(300.0, ('kindergarten',))
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import functools
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    BindParameter,
    Boolean,
    ColumnElement,
    Date,
    Float,
    FromClause,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, INTERVAL
from sqlalchemy.orm import Session

from registry import cql2, spatial
from registry.coords import parse_crs, to_wgs84
from registry.kinds import COMMON_FIELDS, KIND_SPECS, Choice, FacilityKind, FieldType
from registry.models import (
    KIND_MODELS,
    PG_INTEGER_MAX,
    SRID,
    CensusUnit,
    District,
    Facility,
)

MAX_RADIUS_M = 50_000.0
MAX_K = 1000
DEFAULT_K = 5
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_POLYGON_VERTICES = 20_000
MAX_OFFSET = 10_000_000

KIND_VALUES: tuple[str, ...] = tuple(k.value for k in FacilityKind)

F = Facility.__table__
D = District.__table__
KIND_TABLES = {kind: model.__table__ for kind, model in KIND_MODELS.items()}
HAS_COMPLIANCE = hasattr(Facility, "compliance_status")
HAS_SOFT_DELETE = hasattr(Facility, "deleted_at")


# --------------------------------------------------------------------------- errors
class QueryError(ValueError):
    """Invalid query input; ``parameter`` names the offending parameter or field.

    The message is Chinese first, then English (``"中文 / English"``).
    """

    def __init__(self, zh: str, en: str, parameter: str | None = None) -> None:
        self.zh = zh
        self.en = en
        self.parameter = parameter
        super().__init__(f"{zh} / {en}")

    @property
    def message(self) -> str:
        return str(self)


# --------------------------------------------------------------------------- fields
@dataclass(frozen=True)
class Field:
    """A property that can be filtered, sorted and shown.

    ``kinds`` is ``None`` for properties every facility has; otherwise the
    kinds whose table holds the attribute.
    """

    name: str
    type: FieldType
    zh: str
    en: str
    kinds: frozenset[str] | None = None
    choices: tuple[Choice, ...] = ()
    rules: tuple[str, ...] = ()
    unit: str | None = None
    description: str | None = None
    queryable: bool = True

    @property
    def is_common(self) -> bool:
        return self.kinds is None


def _common_fields() -> dict[str, Field]:
    labels = {f.name: f for f in COMMON_FIELDS}
    statuses: dict[str, Choice] = {}
    for spec in KIND_SPECS.values():
        for choice in spec.statuses:
            statuses.setdefault(choice.value, choice)
    out = {
        "id": Field("id", FieldType.INT, "编号(系统)", "Registry id"),
        "kind": Field("kind", FieldType.ENUM, "设施类型", "Kind",
                      choices=tuple(Choice(s.kind.value, s.zh, s.en) for s in KIND_SPECS.values())),
        "external_id": Field("external_id", FieldType.STR, labels["external_id"].zh, labels["external_id"].en),
        "source": Field("source", FieldType.STR, "数据来源", "Source"),
        "name": Field("name", FieldType.STR, labels["name"].zh, labels["name"].en),
        "address": Field("address", FieldType.STR, labels["address"].zh, labels["address"].en),
        "district_code": Field("district_code", FieldType.STR, "区县代码", "District code"),
        "district": Field("district", FieldType.STR, labels["district"].zh, labels["district"].en,
                          description="name of the county-level district the point lies in"),
        "declared_district": Field("declared_district", FieldType.STR, "申报区县", "Declared district"),
        "status": Field("status", FieldType.ENUM, labels["status"].zh, labels["status"].en,
                        choices=tuple(statuses.values())),
        "is_synthetic": Field("is_synthetic", FieldType.BOOL, "合成数据", "Synthetic"),
    }
    if HAS_COMPLIANCE:
        out["compliance_status"] = Field("compliance_status", FieldType.STR, "合规状态", "Compliance status")
    return out


def _kind_fields() -> dict[str, Field]:
    out: dict[str, Field] = {}
    for kind, spec in KIND_SPECS.items():
        for fs in spec.fields:
            known = out.get(fs.name)
            kinds = ((known.kinds or frozenset()) if known else frozenset()) | {kind.value}
            queryable = fs.type is not FieldType.POINTS
            out[fs.name] = Field(fs.name, fs.type, fs.zh, fs.en, frozenset(kinds),
                                 fs.choices or (known.choices if known else ()), fs.rules, fs.unit,
                                 queryable=queryable)
    # Derived: EL-2 (national rule: periodic inspection once a year).
    out["inspection_due"] = Field(
        "inspection_due", FieldType.DATE, "下次定期检验日期", "Next periodic inspection due",
        frozenset({"elevator"}), rules=("EL-2",),
        description="last_inspection_date + 1 year (EL-2: periodic inspection once a year); "
                    "unknown when the last inspection date is unknown",
    )
    return out


COMMON: dict[str, Field] = _common_fields()
ATTRIBUTES: dict[str, Field] = _kind_fields()
FIELDS: dict[str, Field] = {**COMMON, **ATTRIBUTES}
"""Every property known to the query layer, by name."""

GEOMETRY_PROPERTY = "geometry"


def fields_for(kinds: Sequence[str]) -> list[Field]:
    """Fields of facilities of ``kinds`` (all kinds when empty), common ones first."""
    chosen = set(kinds or KIND_VALUES)
    return list(COMMON.values()) + [f for f in ATTRIBUTES.values() if f.kinds and f.kinds & chosen]


def _field_column(fld: Field, kinds: Sequence[str]) -> ColumnElement:
    """SQL expression of a field for a query over ``kinds`` (tables are joined by the caller)."""
    if fld.name == "district":
        return D.c.name
    if fld.is_common:
        return F.c[fld.name]
    if fld.name == "inspection_due":
        last = KIND_TABLES["elevator"].c.last_inspection_date
        return cast(last + cast(literal("1 year"), INTERVAL), Date)
    relevant = [k for k in KIND_VALUES if k in (fld.kinds or ()) and (not kinds or k in kinds)]
    columns = [KIND_TABLES[k].c[fld.name] for k in relevant]
    return columns[0] if len(columns) == 1 else func.coalesce(*columns)


# --------------------------------------------------------------------------- the query
@dataclass(frozen=True)
class Near:
    """Facilities within ``radius_m`` of (lon, lat), WGS-84."""

    lon: float
    lat: float
    radius_m: float
    method: str = "geodesic"  # geodesic | projected


@dataclass(frozen=True)
class Nearest:
    """The ``k`` facilities nearest to (lon, lat), WGS-84, optionally within ``max_distance_m``."""

    lon: float
    lat: float
    k: int
    max_distance_m: float | None = None


@dataclass(frozen=True)
class InputPoint:
    """A point as the user gave it, and its WGS-84 conversion (echoed in responses)."""

    lon: float
    lat: float
    crs: str
    wgs84: tuple[float, float]


@dataclass(frozen=True)
class Query:
    """A validated facility query (framework-neutral).

    Names in ``districts`` and ``within`` are resolved against the database
    when the query runs (an unknown name is a :class:`QueryError` then).
    """

    kinds: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    compliance: tuple[str, ...] = ()
    filters: tuple[tuple[str, cql2.Expr], ...] = ()  # (parameter, expression), ANDed
    near: Near | None = None
    nearest: Nearest | None = None
    within: str | None = None
    polygon_wkt: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = SRID
    ids: tuple[int, ...] = ()
    sort: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    out_srid: int = SRID
    point: InputPoint | None = None

    @property
    def has_distance(self) -> bool:
        return self.near is not None or self.nearest is not None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of what was asked (echoed in API responses)."""
        out: dict[str, Any] = {}
        if self.kinds:
            out["kind"] = list(self.kinds)
        if self.point:
            out["point"] = {"input": [self.point.lon, self.point.lat], "crs": self.point.crs,
                            "wgs84": [round(self.point.wgs84[0], 7), round(self.point.wgs84[1], 7)]}
        if self.near:
            out["radius_m"] = self.near.radius_m
            out["distance"] = self.near.method
        if self.nearest:
            out["k"] = self.nearest.k
            if self.nearest.max_distance_m is not None:
                out["max_distance_m"] = self.nearest.max_distance_m
            out["distance"] = "geodesic"
        if self.within:
            out["within"] = self.within
        if self.districts:
            out["district"] = list(self.districts)
        if self.bbox:
            out["bbox"] = list(self.bbox)
        if self.statuses:
            out["status"] = list(self.statuses)
        if self.compliance:
            out["compliance"] = list(self.compliance)
        if self.polygon_wkt:
            out["polygon"] = True
        if self.filters:
            out["filters"] = len(self.filters)
        return out


# --------------------------------------------------------------------------- value parsing
_TRUE = {"true", "t", "1", "yes", "y", "是", "有", "真"}
_FALSE = {"false", "f", "0", "no", "n", "否", "无", "假"}


def parse_number(raw: str, parameter: str) -> float:
    """A finite float, or a :class:`QueryError` naming ``parameter``."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise QueryError(f"{parameter} 不是数字: {raw!r}", f"{parameter} is not a number: {raw!r}",
                         parameter) from None
    if not math.isfinite(value):
        raise QueryError(f"{parameter} 必须是有限数值", f"{parameter} must be a finite number", parameter)
    return value


def parse_int(raw: str, parameter: str, lo: int, hi: int) -> int:
    """An integer in [lo, hi], or a :class:`QueryError` naming ``parameter``."""
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise QueryError(f"{parameter} 必须是整数, 收到 {raw!r}", f"{parameter} must be an integer, got {raw!r}",
                         parameter) from None
    if not lo <= value <= hi:
        raise QueryError(f"{parameter} 必须在 {lo} 与 {hi} 之间, 收到 {value}",
                         f"{parameter} must be between {lo} and {hi}, got {value}", parameter)
    return value


def parse_lonlat(raw: str, parameter: str) -> tuple[float, float]:
    """``"lon,lat"`` with lon in [-180, 180] and lat in [-90, 90]."""
    parts = [p.strip() for p in str(raw).split(",")]
    if len(parts) != 2:
        raise QueryError(f"{parameter} 应为 '经度,纬度', 收到 {raw!r}",
                         f"{parameter} must be 'lon,lat', got {raw!r}", parameter)
    lon, lat = (parse_number(p, parameter) for p in parts)
    _check_lonlat(lon, lat, parameter)
    return lon, lat


def _check_lonlat(lon: float, lat: float, parameter: str) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise QueryError(f"{parameter} 坐标超出范围 (经度 -180..180, 纬度 -90..90)",
                         f"{parameter} out of range (lon -180..180, lat -90..90): {lon}, {lat}", parameter)


def parse_metres(raw: str, parameter: str, maximum: float = MAX_RADIUS_M) -> float:
    """A distance in metres, > 0 and ≤ ``maximum``."""
    value = parse_number(raw, parameter)
    if not 0 < value <= maximum:
        raise QueryError(f"{parameter} 必须大于 0 且不超过 {maximum:g} 米, 收到 {value:g}",
                         f"{parameter} must be > 0 and ≤ {maximum:g} m, got {value:g}", parameter)
    return value


def parse_bbox(raw: str, parameter: str = "bbox", geographic: bool = True) -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` (or 6 numbers with heights, which are ignored)."""
    parts = [p.strip() for p in str(raw).split(",")]
    if len(parts) not in (4, 6):
        raise QueryError(f"{parameter} 应为 4 个数: 最小经度,最小纬度,最大经度,最大纬度",
                         f"{parameter} must be 4 numbers: minx,miny,maxx,maxy", parameter)
    nums = [parse_number(p, parameter) for p in parts]
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    minx, miny, maxx, maxy = nums
    if minx > maxx or miny > maxy:
        raise QueryError(f"{parameter} 的最小值大于最大值", f"{parameter} has min > max", parameter)
    if geographic:
        _check_lonlat(minx, miny, parameter)
        _check_lonlat(maxx, maxy, parameter)
    return minx, miny, maxx, maxy


def parse_kinds(raw: str | Iterable[str], parameter: str = "kind") -> tuple[str, ...]:
    """Comma-separated facility kinds (``museum,study_room``...); Chinese names are accepted."""
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            name = part.strip()
            if not name:
                continue
            kind = _kind_named(name)
            if kind is None:
                allowed = ", ".join(KIND_VALUES)
                raise QueryError(f"未知的设施类型 {name!r}, 可选: {allowed}",
                                 f"unknown kind {name!r}; expected one of: {allowed}", parameter)
            if kind not in out:
                out.append(kind)
    return tuple(out)


def _kind_named(name: str) -> str | None:
    for spec in KIND_SPECS.values():
        if name in (spec.kind.value, spec.zh, spec.en, *spec.aliases) or name.lower() == spec.en.lower():
            return spec.kind.value
    return None


def parse_crs_name(raw: str | None, parameter: str = "crs") -> str:
    """Input coordinate system of points: wgs84 (default), cgcs2000, gcj02, bd09 and aliases."""
    if raw is None or raw == "":
        return "wgs84"
    try:
        return parse_crs(raw).value
    except ValueError:
        raise QueryError(f"未知的坐标系 {raw!r}, 可选 wgs84, cgcs2000, gcj02, bd09",
                         f"unknown crs {raw!r}; expected wgs84, cgcs2000, gcj02 or bd09", parameter) from None


def convert_point(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A point in ``crs`` as WGS-84 (GCJ-02 / BD-09 are de-obfuscated)."""
    if crs in ("wgs84", "cgcs2000"):
        return lon, lat
    x, y = to_wgs84(lon, lat, crs)
    return float(x), float(y)


def coerce_value(fld: Field, value: Any, parameter: str, kinds: Sequence[str] = ()) -> Any:
    """Convert a filter value (text from a URL, or a CQL2 literal) to the type of ``fld``."""
    if value is None:
        return None
    text_value = value if isinstance(value, str) else None

    def bad(expected_zh: str, expected_en: str) -> QueryError:
        return QueryError(f"{fld.name} 的取值 {value!r} 无效, 应为{expected_zh}",
                          f"invalid value {value!r} for {fld.name}: expected {expected_en}", parameter)

    t = fld.type
    if t is FieldType.INT:
        if isinstance(value, bool):
            raise bad("整数", "an integer")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                return value  # compare an integer column with a fractional bound
            value = int(value)
        else:
            try:
                value = int(str(text_value).strip())
            except ValueError:
                try:
                    return parse_number(str(text_value), parameter)
                except QueryError:
                    raise bad("整数", "an integer") from None
        if abs(value) > 2**62:
            raise bad("范围内的整数", "an integer in range")
        return value
    if t is FieldType.FLOAT:
        if isinstance(value, bool):
            raise bad("数值", "a number")
        if isinstance(value, (int, float)):
            if not math.isfinite(float(value)):
                raise bad("有限数值", "a finite number")
            return float(value)
        try:
            return parse_number(str(text_value).strip(), parameter)
        except QueryError:
            raise bad("数值", "a number") from None
    if t is FieldType.BOOL:
        if isinstance(value, bool):
            return value
        low = str(value).strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise bad(" true/false (是/否)", "true or false (是/否)")
    if t is FieldType.DATE:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise bad("日期 YYYY-MM-DD", "a date YYYY-MM-DD") from None
    if t is FieldType.TIME:
        try:
            return dt.time.fromisoformat(str(value).strip())
        except ValueError:
            raise bad("时间 HH:MM", "a time HH:MM") from None
    if t is FieldType.ENUM:
        return _choice_value(fld, value, parameter, kinds)
    if not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("文本", "text")
        value = str(value)
    if len(value) > 1000:
        raise bad("不超过 1000 字的文本", "text of at most 1000 characters")
    return value


def _choice_value(fld: Field, value: Any, parameter: str, kinds: Sequence[str]) -> str:
    choices = fld.choices
    if fld.name == "status" and kinds:
        choices = tuple(c for k in kinds for c in KIND_SPECS[FacilityKind(k)].statuses)
    if fld.name == "kind":
        kind = _kind_named(str(value))
        if kind is not None:
            return kind
    raw = str(value).strip()
    for c in choices:
        if raw in (c.value, c.zh, *c.aliases) or raw.lower() == c.en.lower():
            return c.value
    allowed = ", ".join(dict.fromkeys(f"{c.value} ({c.zh})" for c in choices))
    raise QueryError(f"{fld.name} 没有取值 {raw!r}, 可选: {allowed}",
                     f"{fld.name} has no value {raw!r}; expected one of: {allowed}", parameter)


# --------------------------------------------------------------------------- attribute conditions
_WHERE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|<>|==|=|<|>|~)\s*(.*?)\s*$", re.DOTALL)


def parse_condition(raw: str, parameter: str = "where") -> cql2.Expr:
    """One attribute condition ``field<op>value`` (ops ``= != < <= > >= ~``; ``~`` = contains).

    ``field=null`` / ``field!=null`` test for unknown / known values.

    >>> parse_condition("seats<15")
    Compare(op='<', prop='seats', value='15')
    """
    m = _WHERE_RE.match(str(raw))
    if not m:
        raise QueryError(f"无法理解条件 {raw!r}, 应为 字段 运算符 值, 如 seats<15",
                         f"cannot read condition {raw!r}; expected field<op>value, e.g. seats<15", parameter)
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    op = {"==": "=", "!=": "<>"}.get(op, op)
    if value.lower() == "null" and op in ("=", "<>"):
        return cql2.IsNull(name, negate=op == "<>")
    if op == "~":
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return cql2.Like(name, f"%{escaped}%", casei=True)
    return cql2.Compare(op, name, value)


def parse_filter(raw: str, parameter: str = "filter") -> cql2.Expr:
    """A CQL2 text filter, as a :class:`QueryError` on failure."""
    try:
        return cql2.parse(raw)
    except cql2.CqlError as exc:
        raise QueryError(f"CQL2 过滤条件无效: {exc}", f"invalid CQL2 filter: {exc}", parameter) from None


def check_filter(expr: cql2.Expr, kinds: Sequence[str], parameter: str,
                 fields: Mapping[str, Field] | None = None) -> cql2.Expr:
    """Check field names and convert literal values to the fields' types."""
    facility_fields = fields is None
    fields = FIELDS if fields is None else fields

    def fld(name: str) -> Field:
        found = fields.get(name)
        if found is None or not found.queryable:
            raise QueryError(f"未知字段 {name!r}", f"unknown field {name!r}", parameter)
        if facility_fields and found.kinds and kinds and not (found.kinds & set(kinds)):
            have = ", ".join(sorted(found.kinds))
            raise QueryError(f"字段 {name!r} 只属于 {have}", f"field {name!r} exists only for kind(s) {have}",
                             parameter)
        return found

    def walk(e: cql2.Expr) -> cql2.Expr:
        if isinstance(e, (cql2.And, cql2.Or)):
            return type(e)(tuple(walk(i) for i in e.items))
        if isinstance(e, cql2.Not):
            return cql2.Not(walk(e.item))
        if isinstance(e, cql2.Const):
            return e
        if isinstance(e, cql2.Intersects):
            if e.prop != GEOMETRY_PROPERTY:
                raise QueryError(f"S_INTERSECTS 只能用于 {GEOMETRY_PROPERTY}",
                                 f"S_INTERSECTS applies to the property {GEOMETRY_PROPERTY!r} only", parameter)
            return e
        f = fld(e.prop)
        if isinstance(e, cql2.IsNull):
            return e
        if isinstance(e, cql2.Like):
            if f.type not in (FieldType.STR, FieldType.ENUM):
                raise QueryError(f"LIKE 只能用于文本字段, {f.name} 不是", f"LIKE needs a text field; {f.name} is not",
                                 parameter)
            return e
        if isinstance(e, cql2.Compare):
            if e.op not in ("=", "<>") and f.type in (FieldType.BOOL, FieldType.ENUM):
                raise QueryError(f"{f.name} 只能用 = 或 != 比较", f"{f.name} can only be compared with = or !=",
                                 parameter)
            return replace(e, value=coerce_value(f, e.value, parameter, kinds))
        if isinstance(e, cql2.Between):
            return replace(e, low=coerce_value(f, e.low, parameter, kinds),
                           high=coerce_value(f, e.high, parameter, kinds))
        if isinstance(e, cql2.In):
            if len(e.values) > 1000:
                raise QueryError("IN 列表过长", "IN list too long (> 1000 values)", parameter)
            return replace(e, values=tuple(coerce_value(f, v, parameter, kinds) for v in e.values))
        raise QueryError("不支持的过滤条件", "unsupported filter", parameter)  # pragma: no cover

    return walk(expr)


# --------------------------------------------------------------------------- polygons
def parse_geojson_polygon(body: Any, crs: str = "wgs84", parameter: str = "body") -> str:
    """A GeoJSON Polygon / MultiPolygon (bare, as a Feature, or a FeatureCollection of them) as WGS-84 WKT.

    Raises :class:`QueryError` for anything else: other geometry types,
    malformed or non-finite coordinates, open rings, self-intersections,
    more than :data:`MAX_POLYGON_VERTICES` vertices.
    """
    import shapely
    from shapely.errors import ShapelyError
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    def bad(zh: str, en: str) -> QueryError:
        return QueryError(zh, en, parameter)

    if not isinstance(body, dict):
        raise bad("请求体必须是 GeoJSON 对象", "the body must be a GeoJSON object")
    geoms: list[dict[str, Any]] = []
    gtype = body.get("type")
    if gtype == "FeatureCollection":
        feats = body.get("features")
        if not isinstance(feats, list) or not feats:
            raise bad("FeatureCollection 没有要素", "the FeatureCollection has no features")
        geoms = [f.get("geometry") if isinstance(f, dict) else None for f in feats]
    elif gtype == "Feature":
        geoms = [body.get("geometry")]
    else:
        geoms = [body]
    polygons = []
    for g in geoms:
        if not isinstance(g, dict) or g.get("type") not in ("Polygon", "MultiPolygon"):
            got = g.get("type") if isinstance(g, dict) else type(g).__name__
            raise bad(f"需要 Polygon 或 MultiPolygon, 收到 {got!r}", f"expected a Polygon or MultiPolygon, got {got!r}")
        _check_rings(g, bad)
        try:
            polygons.append(shape(g))
        except (ShapelyError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise bad(f"无效的多边形: {exc}", f"invalid polygon: {exc}") from None
    geom = polygons[0] if len(polygons) == 1 else shapely.union_all(polygons)
    if geom.is_empty:
        raise bad("多边形为空", "the polygon is empty")
    if not geom.is_valid:
        reason = explain_validity(geom)
        raise bad(f"多边形无效 (如自相交): {reason}", f"invalid polygon (e.g. self-intersecting): {reason}")
    crs = parse_crs_name(crs)
    if crs not in ("wgs84", "cgcs2000"):
        geom = shapely.transform(geom, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], crs)))
    return geom.wkt


def _check_rings(g: dict[str, Any], bad: Callable[[str, str], QueryError]) -> None:
    coords = g.get("coordinates")
    polys = [coords] if g["type"] == "Polygon" else coords
    if not isinstance(polys, list) or not polys:
        raise bad("coordinates 缺失或为空", "coordinates missing or empty")
    count = 0
    for poly in polys:
        if not isinstance(poly, list) or not poly:
            raise bad("多边形需要至少一个环", "a polygon needs at least one ring")
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                raise bad("每个环至少需要 4 个坐标", "each ring needs at least 4 positions")
            for pos in ring:
                if (not isinstance(pos, list) or len(pos) < 2
                        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos)):
                    raise bad("坐标必须是数字对 [经度, 纬度]", "positions must be [lon, lat] numbers")
                if not all(math.isfinite(v) for v in pos):
                    raise bad("坐标必须是有限数值", "positions must be finite")
                if not (-180 <= pos[0] <= 180 and -90 <= pos[1] <= 90):
                    raise bad("坐标超出经纬度范围", "positions out of lon/lat range")
            if ring[0][:2] != ring[-1][:2]:
                raise bad("环没有闭合 (首尾坐标不同)", "ring is not closed (first and last positions differ)")
            count += len(ring)
    if count > MAX_POLYGON_VERTICES:
        raise bad(f"顶点过多 (超过 {MAX_POLYGON_VERTICES})", f"too many vertices (> {MAX_POLYGON_VERTICES})")


# --------------------------------------------------------------------------- cursors
def encode_cursor(offset: int) -> str:
    """Opaque cursor for a page starting at ``offset``."""
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_cursor(raw: str, parameter: str = "cursor") -> int:
    """The offset inside a cursor made by :func:`encode_cursor`."""
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        if not decoded.startswith("o"):
            raise ValueError
        offset = int(decoded[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise QueryError("cursor 无效 (请使用响应中的 next 链接)", "invalid cursor (use the next link of a response)",
                         parameter) from None
    if not 0 <= offset <= MAX_OFFSET:
        raise QueryError("cursor 无效", "invalid cursor", parameter)
    return offset


# --------------------------------------------------------------------------- parameters
class Params:
    """Request parameters as ``name -> [values]``, tracking which were read."""

    def __init__(self, data: Mapping[str, Sequence[str]]) -> None:
        self.data = {k: list(v) for k, v in data.items()}
        self.used: set[str] = set()

    def get(self, name: str) -> str | None:
        self.used.add(name)
        values = [v for v in self.data.get(name, []) if v is not None]
        if len(values) > 1:
            raise QueryError(f"参数 {name} 只能给一次", f"parameter {name} given more than once", name)
        if not values or values[0] == "":
            return None
        return values[0]

    def getlist(self, name: str) -> list[str]:
        self.used.add(name)
        return [v for v in self.data.get(name, []) if v not in (None, "")]

    def unknown(self) -> list[str]:
        return [k for k in self.data if k not in self.used]


API_PARAMETERS = ("kind", "district", "within", "bbox", "near", "radius", "nearest", "k", "max_distance", "crs",
                  "distance", "status", "compliance", "where", "filter", "filter-lang", "sort", "limit", "offset",
                  "cursor", "f", "format", "lang")


def parse_params(data: Mapping[str, Sequence[str]], *, polygon: Any = None, strict: bool = True,
                 ignore: Iterable[str] = ()) -> Query:
    """Build a :class:`Query` from the JSON API's parameters (``name -> [values]``).

    Parameters
    ----------
    data : mapping
        Query-string parameters.
    polygon : dict, optional
        A posted GeoJSON polygon (``POST /api/facilities/search``).
    strict : bool
        Reject parameters this function does not know.
    ignore : iterable of str
        Parameters the caller handles itself (never rejected).
    """
    p = Params(data)
    for name in ignore:
        p.used.add(name)
    for name in ("f", "format", "lang"):
        p.used.add(name)
    kinds = parse_kinds(p.getlist("kind"))
    crs = parse_crs_name(p.get("crs"))
    q = Query(kinds=kinds)

    near_raw, nearest_raw = p.get("near"), p.get("nearest")
    radius_raw, k_raw, maxd_raw = p.get("radius"), p.get("k"), p.get("max_distance")
    method = (p.get("distance") or "geodesic").lower()
    if method not in ("geodesic", "projected"):
        raise QueryError("distance 只能是 geodesic 或 projected", "distance must be geodesic or projected", "distance")
    if near_raw and nearest_raw:
        raise QueryError("near 与 nearest 不能同时使用", "use either near or nearest, not both", "nearest")
    if near_raw:
        if radius_raw is None:
            raise QueryError("near 需要 radius (米)", "near needs radius (metres)", "radius")
        lon, lat = parse_lonlat(near_raw, "near")
        wlon, wlat = convert_point(lon, lat, crs)
        q = replace(q, near=Near(wlon, wlat, parse_metres(radius_raw, "radius"), method),
                    point=InputPoint(lon, lat, crs, (wlon, wlat)))
    elif radius_raw is not None:
        raise QueryError("radius 只能与 near 一起使用", "radius needs near=lon,lat", "radius")
    if nearest_raw:
        lon, lat = parse_lonlat(nearest_raw, "nearest")
        wlon, wlat = convert_point(lon, lat, crs)
        k = DEFAULT_K if k_raw is None else parse_int(k_raw, "k", 1, MAX_K)
        maxd = None if maxd_raw is None else parse_metres(maxd_raw, "max_distance")
        if method != "geodesic":
            raise QueryError("nearest 只支持 geodesic 距离", "nearest uses geodesic distances only", "distance")
        q = replace(q, nearest=Nearest(wlon, wlat, k, maxd), point=InputPoint(lon, lat, crs, (wlon, wlat)))
    else:
        if k_raw is not None:
            raise QueryError("k 只能与 nearest 一起使用", "k needs nearest=lon,lat", "k")
        if maxd_raw is not None:
            raise QueryError("max_distance 只能与 nearest 一起使用", "max_distance needs nearest=lon,lat",
                             "max_distance")

    bbox_raw = p.get("bbox")
    if bbox_raw:
        minx, miny, maxx, maxy = parse_bbox(bbox_raw)
        if crs not in ("wgs84", "cgcs2000"):
            xs, ys = to_wgs84(np.array([minx, maxx, minx, maxx]), np.array([miny, miny, maxy, maxy]), crs)
            minx, miny, maxx, maxy = float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
        q = replace(q, bbox=(minx, miny, maxx, maxy))
    within = p.get("within")
    if within:
        q = replace(q, within=within.strip())
    districts = tuple(d.strip() for raw in p.getlist("district") for d in raw.split(",") if d.strip())
    q = replace(q, districts=districts)
    statuses = tuple(s.strip() for raw in p.getlist("status") for s in raw.split(",") if s.strip())
    if statuses:
        q = replace(q, statuses=tuple(coerce_value(FIELDS["status"], s, "status", kinds) for s in statuses))
    compliance = tuple(s.strip() for raw in p.getlist("compliance") for s in raw.split(",") if s.strip())
    if compliance:
        if not HAS_COMPLIANCE:
            raise QueryError("合规状态筛选尚不可用", "compliance filter not available yet", "compliance")
        q = replace(q, compliance=compliance)

    filters: list[tuple[str, cql2.Expr]] = []
    for raw in p.getlist("where"):
        filters.append(("where", check_filter(parse_condition(raw), kinds, "where")))
    lang = p.get("filter-lang")
    if lang is not None and lang not in ("cql2-text", "cql-text"):
        raise QueryError("filter-lang 只支持 cql2-text", "filter-lang must be cql2-text", "filter-lang")
    raw_filter = p.get("filter")
    if raw_filter:
        filters.append(("filter", check_filter(parse_filter(raw_filter), kinds, "filter")))
    q = replace(q, filters=tuple(filters))

    if polygon is not None:
        q = replace(q, polygon_wkt=parse_geojson_polygon(polygon, crs))

    q = replace(q, sort=parse_sort(p.get("sort"), q))
    limit = p.get("limit")
    q = replace(q, limit=DEFAULT_LIMIT if limit is None else parse_int(limit, "limit", 1, MAX_LIMIT))
    cursor, offset = p.get("cursor"), p.get("offset")
    if cursor is not None and offset is not None:
        raise QueryError("cursor 与 offset 不能同时使用", "use either cursor or offset", "cursor")
    if cursor is not None:
        q = replace(q, offset=decode_cursor(cursor))
    elif offset is not None:
        q = replace(q, offset=parse_int(offset, "offset", 0, MAX_OFFSET))
    if strict:
        unknown = p.unknown()
        if unknown:
            name = unknown[0]
            raise QueryError(f"未知参数 {name!r}", f"unknown parameter {name!r}", name)
    return q


def parse_sort(raw: str | None, q: Query, parameter: str = "sort") -> tuple[tuple[str, bool], ...]:
    """``sort=field,-field``: ``distance`` (with near/nearest) or any field; ``-`` for descending."""
    if not raw:
        return ()
    out: list[tuple[str, bool]] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        desc = name.startswith("-")
        name = name.lstrip("+-").strip()
        if name == "distance" or name == "distance_m":
            if not q.has_distance:
                raise QueryError("按距离排序需要 near 或 nearest", "sort=distance needs near or nearest", parameter)
            out.append(("distance", desc))
            continue
        fld = FIELDS.get(name)
        if fld is None or not fld.queryable:
            raise QueryError(f"不能按未知字段 {name!r} 排序", f"cannot sort by unknown field {name!r}", parameter)
        if fld.kinds and q.kinds and not (fld.kinds & set(q.kinds)):
            raise QueryError(f"字段 {name!r} 不属于所选类型", f"field {name!r} does not exist for the kind(s) asked",
                             parameter)
        out.append((name, desc))
    return tuple(out)


# --------------------------------------------------------------------------- compiling
@dataclass
class _Ctx:
    """What a compiled statement needs joined."""

    kinds: tuple[str, ...]
    tables: set[str] = field(default_factory=set)  # kind names, plus "district"
    session: Session | None = None

    def column(self, name: str) -> ColumnElement:
        fld = FIELDS[name]
        if name == "district":
            self.tables.add("district")
        elif fld.kinds:
            self.tables.update(k for k in fld.kinds if not self.kinds or k in self.kinds)
        return _field_column(fld, self.kinds)


def _kind_guard(fld: Field, ctx: _Ctx) -> ColumnElement | None:
    """Restrict a condition on a kind attribute to the kinds that have it."""
    if not fld.kinds or (ctx.kinds and set(ctx.kinds) <= fld.kinds):
        return None
    return F.c.kind.in_(sorted(fld.kinds))


def _like(col: ColumnElement, pattern: str, casei: bool) -> ColumnElement:
    return col.ilike(pattern, escape="\\") if casei else col.like(pattern, escape="\\")


def compile_expr(expr: cql2.Expr, column: Callable[[str], ColumnElement],
                 guard: Callable[[str], ColumnElement | None] = lambda _n: None,
                 geometry: ColumnElement | None = None, filter_srid: int = SRID) -> ColumnElement:
    """SQL for a checked filter tree; ``column(name)`` gives each property's SQL expression."""

    def guarded(name: str, clause: ColumnElement) -> ColumnElement:
        g = guard(name)
        return clause if g is None else and_(g, clause)

    def walk(e: cql2.Expr) -> ColumnElement:
        if isinstance(e, cql2.And):
            return and_(*(walk(i) for i in e.items))
        if isinstance(e, cql2.Or):
            return or_(*(walk(i) for i in e.items))
        if isinstance(e, cql2.Not):
            return not_(walk(e.item))
        if isinstance(e, cql2.Const):
            return true() if e.value else false()
        if isinstance(e, cql2.Intersects):
            if geometry is None:
                raise QueryError("此集合不支持空间过滤", "no geometry to filter on", "filter")
            wkt, srid = e.wkt, filter_srid
            if wkt.startswith("SRID="):
                head, wkt = wkt.split(";", 1)
                srid = int(head[5:])
            return spatial.in_geometry_wkt(geometry, wkt, srid)
        col = column(e.prop)
        if isinstance(e, cql2.IsNull):
            return guarded(e.prop, col.is_not(None) if e.negate else col.is_(None))
        if isinstance(e, cql2.Like):
            clause = _like(col, e.pattern, e.casei)
            return guarded(e.prop, not_(clause) if e.negate else clause)
        if isinstance(e, cql2.Between):
            clause = col.between(e.low, e.high)
            return guarded(e.prop, not_(clause) if e.negate else clause)
        if isinstance(e, cql2.In):
            if e.casei:
                clause = func.lower(col).in_([str(v).lower() for v in e.values])
            else:
                clause = col.in_(list(e.values))
            return guarded(e.prop, not_(clause) if e.negate else clause)
        if isinstance(e, cql2.Compare):
            value: Any = e.value
            if e.casei and isinstance(value, str):
                col, value = func.lower(col), value.lower()
            if isinstance(value, bool):
                value = literal(value, Boolean)
            ops = {"=": col.__eq__, "<>": col.__ne__, "<": col.__lt__, "<=": col.__le__, ">": col.__gt__,
                   ">=": col.__ge__}
            return guarded(e.prop, ops[e.op](value))
        raise QueryError("不支持的过滤条件", "unsupported filter", "filter")  # pragma: no cover

    return walk(expr)


def _resolve_district(session: Session, name: str, parameter: str, census: bool = False) -> tuple[str, str]:
    """(table, code) of a district given by name or adcode; census units too when ``census``."""
    hit = session.execute(
        select(District.adcode).where(District.level == "county", or_(District.adcode == name, District.name == name))
    ).scalar()
    if hit:
        return "district", hit
    if census:
        unit = session.execute(
            select(CensusUnit.code).where(or_(CensusUnit.code == name, CensusUnit.name == name))
        ).scalar()
        if unit:
            return "census", unit
    names = session.scalars(select(District.name).where(District.level == "county").order_by(District.adcode)).all()
    raise QueryError(f"未知的区县 {name!r}, 可选: {', '.join(names)}",
                     f"unknown district {name!r}; expected a name or adcode such as: {', '.join(names)}", parameter)


@dataclass(frozen=True)
class _Resolved:
    """District names of a query resolved against the database (codes of ``district``, ``within``)."""

    district_codes: tuple[str, ...] = ()
    within: tuple[str, str] | None = None  # (table, code)


def _resolve(session: Session, q: Query) -> _Resolved:
    codes = tuple(_resolve_district(session, d, "district")[1] for d in q.districts)
    within = _resolve_district(session, q.within, "within", census=True) if q.within else None
    return _Resolved(codes, within)


# Every value that changes from request to request is a *named* bind parameter, so the queries of one
# shape (same kinds, same kinds of conditions) compile to one SQL text: SQLAlchemy's compiled cache,
# psycopg's prepared statements and PostgreSQL's plan cache all see one statement (see _fast_sql).
def _float(name: str, value: float) -> BindParameter[float]:
    return bindparam(name, float(value), type_=Float)


def _int(name: str, value: int) -> BindParameter[int]:
    return bindparam(name, int(value), type_=Integer)


def _any_of(col: ColumnElement, name: str, values: Sequence[Any]) -> ColumnElement:
    """``col = ANY(:name)``: one array parameter, whatever the number of values."""
    return col == any_(bindparam(name, list(values), type_=ARRAY(col.type)))


def _query_point(q: Query) -> spatial.QueryPoint | None:
    at = q.near or q.nearest
    if at is None:
        return None
    return spatial.query_point(_float("lon", at.lon), _float("lat", at.lat))


def _conditions(q: Query, ctx: _Ctx, res: _Resolved, pt: spatial.QueryPoint | None) -> list[ColumnElement]:
    where: list[ColumnElement] = []
    if HAS_SOFT_DELETE:  # also inside subqueries, where the session's loader criteria do not reach
        where.append(F.c["deleted_at"].is_(None))
    if q.kinds:
        where.append(_any_of(F.c.kind, "kinds", q.kinds) if len(q.kinds) > 1 else F.c.kind == q.kinds[0])
    if q.ids:
        where.append(_any_of(F.c.id, "ids", q.ids))
    if res.district_codes:
        where.append(_any_of(F.c.district_code, "district_codes", res.district_codes))
    if q.statuses:
        where.append(_any_of(F.c.status, "statuses", q.statuses))
    if q.compliance:
        where.append(_any_of(F.c["compliance_status"], "compliance", q.compliance))
    for parameter, expr in q.filters:
        try:
            where.append(compile_expr(expr, ctx.column, lambda n: _kind_guard(FIELDS[n], ctx), F.c.geom))
        except QueryError as exc:
            raise QueryError(exc.zh, exc.en, parameter) from None
    if q.near and pt is not None:
        n = q.near
        if n.method == "projected":
            where.append(spatial.within_projected_distance(F.c.geom, pt, _float("radius", n.radius_m),
                                                           _float("radius_prefilter", n.radius_m + 0.01)))
        else:
            where.append(spatial.within_metres_of(F.c.geom, pt, _float("radius", n.radius_m)))
    if res.within:
        table, code = res.within
        where.append(spatial.in_district(F.c.geom, code) if table == "district"
                     else spatial.in_census_unit(F.c.geom, code))
    if q.polygon_wkt:
        where.append(spatial.in_geometry_wkt(F.c.geom, q.polygon_wkt))
    if q.bbox:
        if q.bbox_srid == SRID:
            minx, miny, maxx, maxy = q.bbox
            where.append(spatial.in_lonlat_box(F.c.geom, _float("minx", minx), _float("miny", miny),
                                               _float("maxx", maxx), _float("maxy", maxy)))
        else:
            where.append(spatial.in_bbox_crs(F.c.geom, q.bbox, q.bbox_srid))
    return where


def _source(ctx: _Ctx, kinds_for_output: Iterable[str] = ()) -> FromClause:
    wanted = set(ctx.tables) | set(kinds_for_output)
    src: FromClause = F
    single = ctx.kinds[0] if len(ctx.kinds) == 1 else None
    for kind in KIND_VALUES:
        if kind in wanted:
            table = KIND_TABLES[kind]
            src = src.join(table, table.c.id == F.c.id) if kind == single else \
                src.outerjoin(table, table.c.id == F.c.id)
    if "district" in wanted:
        src = src.outerjoin(D, D.c.adcode == F.c.district_code)
    return src


# --------------------------------------------------------------------------- shaping in SQL
# The page's output expressions are large and constant (one per kind and field), so they are compiled
# to SQL text once and enter statements as literal columns: SQLAlchemy then hashes one string instead
# of walking ~150 column expressions to build each request's cache key.  They refer to the outer
# statement's ``facility`` and ``district`` tables by name (build_statement never aliases them).
_PG = postgresql.psycopg.dialect()
_OUTER_ID = literal_column("facility.id", Integer)


def _sql(expr: Any) -> str:
    return str(expr.compile(dialect=_PG, compile_kwargs={"literal_binds": True}))


def _json_object_of(columns: Sequence[ColumnElement], where: ColumnElement | None = None,
                    table: FromClause | None = None) -> ColumnElement:
    """``(SELECT row_to_json(a) FROM (SELECT <columns> [FROM table WHERE ...]) a)``.

    ``row_to_json`` of a sub-select keeps the columns' order and writes compact JSON (``json_build_object``
    puts spaces around every ``:`` and ``,``), so its text can go into a response as it is.
    """
    inner = select(*columns)
    if table is not None:
        inner = inner.select_from(table)
    if where is not None:
        inner = inner.where(where)
    row = inner.subquery("a")
    return select(func.row_to_json(literal_column("a"))).select_from(row).scalar_subquery()


def _attributes_object(kind: str) -> ColumnElement:
    """JSON object of a kind's attributes, in canonical forms (times ``HH:MM``; point lists as GeoJSON,
    turned into ``lon,lat;lon,lat`` text by :func:`_canonical_points`, as
    :func:`registry.kinds.values.format_canonical` writes them)."""
    table = KIND_TABLES[kind]
    columns: list[ColumnElement] = []
    for fs in KIND_SPECS[FacilityKind(kind)].fields:
        col: ColumnElement = table.c[fs.name]
        if fs.type is FieldType.TIME:
            col = func.to_char(col, "HH24:MI")
        elif fs.type is FieldType.POINTS:  # full precision: Python rounds like format_canonical
            col = cast(spatial.as_geojson(col, decimals=15), JSON)
        columns.append(col.label(fs.name))
    # a correlated primary-key lookup in the facility's own kind table per row of the page: the plan
    # does not grow with the number of kinds
    return _json_object_of(columns, table.c.id == _OUTER_ID, table)


@functools.lru_cache(maxsize=64)
def _attributes_sql(kinds: tuple[str, ...]) -> str:
    """SQL text of the ``attributes`` JSON object of a page row, for a query over ``kinds``."""
    if len(kinds) == 1:
        return _sql(_attributes_object(kinds[0]))
    return _sql(case(*((F.c.kind == k, _attributes_object(k)) for k in kinds)))


@functools.lru_cache(maxsize=1)
def _properties_sql() -> str:
    """SQL text of the JSON object of a page row's common properties and its district's name."""
    columns: list[ColumnElement] = [literal_column(_sql(F.c[c])).label(c) for c in _COMMON_COLUMNS]
    columns.append(literal_column(_sql(D.c.name)).label("district"))
    return _sql(_json_object_of(columns))


_COMMON_COLUMNS = ("id", "kind", "external_id", "source", "name", "address", "district_code", "declared_district",
                   "status", "is_synthetic") + (("compliance_status",) if HAS_COMPLIANCE else ())


# --------------------------------------------------------------------------- running
@dataclass
class QueryResult:
    """Rows of one page, the total matched and where the next page starts."""

    query: Query
    rows: list[dict[str, Any]]
    number_matched: int
    next_offset: int | None
    prev_offset: int | None

    @property
    def number_returned(self) -> int:
        return len(self.rows)


@dataclass
class FeaturePage:
    """One page as GeoJSON Feature texts (see :func:`run_features`), the total matched and the paging."""

    query: Query
    features: list[str]
    number_matched: int
    next_offset: int | None
    prev_offset: int | None

    @property
    def number_returned(self) -> int:
        return len(self.features)


def build_statement(session: Session, q: Query, shape: str = "rows") -> tuple[Select, Select]:
    """(page statement, count statement) for ``q``: the SQL the query layer runs.

    The page is chosen by an inner statement over the tables the filters and
    the sort need (ids, distance and ``count(*) OVER ()`` for
    ``numberMatched``); only the rows of that page are then joined to their
    kind table and shaped, so attributes are built for ``limit`` rows, not for
    every match.  ``shape="rows"`` returns typed columns (see :func:`run`);
    ``shape="features"`` returns ``id``, ``lon``, ``lat``, ``distance_m`` and
    the properties as JSON text (see :func:`run_features`).
    """
    return _statements(q, _resolve(session, q), shape)


def _statements(q: Query, res: _Resolved, shape: str = "rows") -> tuple[Select, Select]:
    ctx = _Ctx(q.kinds)
    pt = _query_point(q)
    where = _conditions(q, ctx, res, pt)
    output_kinds = q.kinds or KIND_VALUES

    distance: ColumnElement | None = None
    inner_from: FromClause
    key: ColumnElement = F.c.id
    if q.nearest and pt is not None:
        n = q.nearest
        max_distance = None if n.max_distance_m is None else _float("max_distance", n.max_distance_m)
        nearest = spatial.select_nearest(_source(ctx), F.c.geom, F.c.id, where, pt, n.k,
                                         max_distance).subquery("nearest")
        distance = nearest.c.distance_m
        sort_keys = [(name, desc) for name, desc in q.sort if name != "distance"]
        order_cols = [(distance if name == "distance" else ctx.column(name), desc)
                      for name, desc in (q.sort or (("distance", False),))]
        if sort_keys:
            inner_from = _source(ctx).join(nearest, nearest.c.id == F.c.id)
        else:  # the k rows come with their ids and distances: no table needed to order them
            inner_from, key = nearest, nearest.c.id
        inner_where: list[ColumnElement] = []
        count = select(func.count()).select_from(nearest)
    else:
        if q.near and pt is not None:
            distance = (spatial.projected_distance_m(F.c.geom, pt) if q.near.method == "projected"
                        else spatial.metres_to(F.c.geom, pt))
        sort = q.sort or ((("distance", False),) if distance is not None else ())
        order_cols = [(distance if name == "distance" else ctx.column(name), desc) for name, desc in sort]
        inner_from = _source(ctx)
        inner_where = where
        count = select(func.count()).select_from(_source(ctx)).where(*where)

    order = [c.desc().nulls_last() if desc else c.asc().nulls_last() for c, desc in order_cols] + [key]
    inner_cols: list[Any] = [key.label("id"), func.count().over().label("_matched")]
    if distance is not None:
        inner_cols.append(distance.label("distance_m"))
    # sort keys for the outer statement; the distance is not computed a second time for them
    keys = ["distance_m" if c is distance else f"_k{i}" for i, (c, _) in enumerate(order_cols)]
    inner_cols += [c.label(key) for key, (c, _) in zip(keys, order_cols) if key != "distance_m"]
    page = (select(*inner_cols).select_from(inner_from).where(*inner_where)
            .order_by(*order).limit(_int("limit", q.limit)).offset(_int("offset", q.offset)).subquery("page"))

    if shape == "features":
        lon, lat = spatial.facility_lonlat()
        columns: list[Any] = [F.c.id, lon, lat, page.c._matched,
                              literal_column(f"({_properties_sql()})::text", Text).label("properties"),
                              literal_column(f"({_attributes_sql(output_kinds)})::text", Text).label("attributes")]
    else:
        columns = list(_output_columns(output_kinds, q.out_srid))
        columns.append(page.c._matched)
    if distance is not None:
        columns.append(page.c.distance_m)
    outer_order = [(page.c[key].desc() if desc else page.c[key].asc()).nulls_last()
                   for key, (_, desc) in zip(keys, order_cols)] + [F.c.id]
    source = F.join(page, page.c.id == F.c.id).outerjoin(D, D.c.adcode == F.c.district_code)
    stmt = select(*columns).select_from(source).order_by(*outer_order)
    return stmt, count


@functools.lru_cache(maxsize=64)
def _output_columns(kinds: tuple[str, ...], out_srid: int) -> tuple[Any, ...]:
    """The shaped columns of a page (built once per kinds and CRS)."""
    lon, lat = spatial.facility_lonlat()
    columns: list[Any] = [F.c[c] for c in _COMMON_COLUMNS]
    columns += [D.c.name.label("district"), lon, lat]
    if out_srid != SRID:
        columns += list(spatial.xy_in(F.c.geom, out_srid))
    columns.append(literal_column(_attributes_sql(kinds)).label("attributes"))
    return tuple(columns)


def _paging(q: Query, returned: int, matched: int) -> tuple[int | None, int | None]:
    end = q.offset + returned
    next_offset = end if end < matched and returned else None
    prev_offset = max(q.offset - q.limit, 0) if q.offset > 0 else None
    return next_offset, prev_offset


def run(session: Session, q: Query) -> QueryResult:
    """Execute ``q`` and return one page of rows (plain dicts) with the number matched.

    Rows hold the common properties, ``district`` (name), ``attributes``
    (the kind's own fields), ``lon``/``lat`` (WGS-84), ``x``/``y`` (in
    ``q.out_srid``) and ``distance_m`` for radius and nearest queries.
    """
    stmt, count = build_statement(session, q)
    conn = session.connection()  # Core: the statements filter soft-deleted rows themselves
    records = conn.execute(stmt).mappings().all()
    if records:
        matched = int(records[0]["_matched"])
    else:
        matched = int(conn.execute(count).scalar() or 0)
    rows = [_row(r, q) for r in records]
    return QueryResult(q, rows, matched, *_paging(q, len(rows), matched))


Reader = Callable[[str, Sequence[Any]], Sequence[Any]]
"""Runs one read statement (SQL text with ``$n`` placeholders and its arguments, see :func:`fast_statement`)
outside any transaction; returns its rows."""


def run_features(session: Session, q: Query, read: Reader | None = None) -> FeaturePage:
    """Execute ``q`` and return one page as GeoJSON Feature texts (WGS-84, the JSON API's output).

    The features are those of ``[feature(row) for row in run(session, q).rows]`` (same rows, order,
    properties and values), serialised as compact JSON.  PostgreSQL writes the properties as JSON text
    (``row_to_json``), which goes into the response without being parsed; only coordinates and
    distances are rounded here.  Queries of the common shapes (radius, nearest or bbox, with kind,
    status, compliance and district filters) skip building and compiling the statement: their SQL
    text is made once per shape (:func:`_fast_sql`) and is run by ``read`` when given (the JSON API
    passes a connection outside the request's session, see :mod:`registry.web.api`), else on the
    session's connection.
    """
    if q.out_srid != SRID:
        raise ValueError("run_features writes WGS-84 features; use run() and feature() for other CRSs")
    res = _resolve(session, q)
    fast = _fast_sql(q, res) if read is None else fast_statement(q, res)
    count: Select | None = None
    if fast is not None:
        records = read(*fast) if read is not None else session.connection().exec_driver_sql(*fast).all()
    else:  # Core: the statements filter soft-deleted rows themselves
        stmt, count = _statements(q, res, "features")
        records = session.connection().execute(stmt).all()
    # columns: id, lon, lat, _matched, properties, attributes[, distance_m]
    if records:
        matched = int(records[0][3])
    elif not q.offset:  # an empty first page: nothing matched
        matched = 0
    else:  # past the end: the page cannot tell how many matched
        if count is None:
            count = _statements(q, res, "features")[1]
        matched = int(session.connection().execute(count).scalar() or 0)
    with_distance = q.has_distance
    features = [_feature_text(r[0], r[1], r[2], r[4], r[5], r[6] if with_distance else None) for r in records]
    return FeaturePage(q, features, matched, *_paging(q, len(features), matched))


def has_compiled_shape(q: Query) -> bool:
    """True when ``q`` is of a common shape, whose features statement is compiled once (see :func:`run_features`)."""
    return _shape_key(q) is not None and _fast_cache.get(_shape_key(q), _UNSEEN) is not None


def _feature_text(fid: int, lon: float, lat: float, props: str, attrs: str | None,
                  distance: float | None) -> str:
    """One GeoJSON Feature as compact JSON text: the JSON values of ``feature(row)``.

    Coordinates and distances are written with fixed decimals (``113.6000000``, ``42.100``): the same
    numbers as ``round(x, 7)`` and ``round(d, 3)`` (both round the double correctly, half to even),
    at a fifth of the cost of rounding and ``repr``.
    """
    body = props[:-1]
    if attrs is not None and len(attrs) > 2:
        if '"coordinates"' in attrs:  # a point list (only as a key: in strings the quotes are escaped)
            attrs = _json_text(_canonical_points(json.loads(attrs)))
        body = f"{body},{attrs[1:-1]}"
    if distance is not None:
        body = f'{body},"distance_m":{float(distance):.3f}'
    return (f'{{"type":"Feature","id":{fid},"geometry":{{"type":"Point","coordinates":[{lon:.7f},{lat:.7f}]}},'
            f'"properties":{body}}}}}')


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# --------------------------------------------------------------------------- statements compiled per shape
# Building a page statement and letting SQLAlchemy find it in its compiled cache costs about as much as
# PostgreSQL answering a nearest query.  For the common shapes the SQL text is made once: every value
# that varies is a named bind parameter (_conditions, _statements), so one compiled text serves every
# query of a shape with the values of _variable_values.  _compile_shape proves that for each shape
# before it is cached, by compiling a probe of the same shape with every variable value changed.
_VARIABLES = ("lon", "lat", "radius", "radius_prefilter", "max_distance", "minx", "miny", "maxx", "maxy",
              "kinds", "statuses", "compliance", "district_codes", "limit", "offset")
_FAST_MAX = 512
_UNSEEN: Any = object()
_fast_cache: dict[tuple[Any, ...], tuple[str, dict[str, Any]] | None] = {}  # shape -> (SQL, constants) or None


def _shape_key(q: Query) -> tuple[Any, ...] | None:
    """What determines the SQL text of ``q``'s features statement, or ``None`` for the general path."""
    if q.filters or q.within or q.polygon_wkt or q.ids or q.sort or q.out_srid != SRID or q.bbox_srid != SRID:
        return None
    return (q.kinds, q.near.method if q.near else None, q.nearest.k if q.nearest else None,
            q.nearest is not None and q.nearest.max_distance_m is not None, q.bbox is not None,
            bool(q.statuses), bool(q.compliance), bool(q.districts))


def _variable_values(q: Query, res: _Resolved) -> dict[str, Any]:
    """The named bind parameters of ``q`` (see :func:`_conditions`, :func:`_statements`)."""
    values: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    at = q.near or q.nearest
    if at is not None:
        values["lon"], values["lat"] = float(at.lon), float(at.lat)
    if q.near:
        values["radius"] = float(q.near.radius_m)
        if q.near.method == "projected":
            values["radius_prefilter"] = float(q.near.radius_m + 0.01)
    if q.nearest and q.nearest.max_distance_m is not None:
        values["max_distance"] = float(q.nearest.max_distance_m)
    if q.bbox:
        values["minx"], values["miny"], values["maxx"], values["maxy"] = (float(v) for v in q.bbox)
    if len(q.kinds) > 1:
        values["kinds"] = list(q.kinds)
    if q.statuses:
        values["statuses"] = list(q.statuses)
    if q.compliance:
        values["compliance"] = list(q.compliance)
    if res.district_codes:
        values["district_codes"] = list(res.district_codes)
    return values


def _probe(q: Query, res: _Resolved) -> tuple[Query, _Resolved]:
    """A query of the same shape as ``q`` with every variable value changed."""
    p = replace(q, limit=q.limit % MAX_LIMIT + 1, offset=q.offset + 1,
                statuses=tuple(f"{s}~" for s in q.statuses), compliance=tuple(f"{s}~" for s in q.compliance))
    if q.near:
        p = replace(p, near=replace(q.near, lon=q.near.lon + 0.5, lat=q.near.lat + 0.25, radius_m=q.near.radius_m / 2))
    if q.nearest:
        maxd = q.nearest.max_distance_m
        p = replace(p, nearest=replace(q.nearest, lon=q.nearest.lon + 0.5, lat=q.nearest.lat + 0.25,
                                       max_distance_m=None if maxd is None else maxd / 2))
    if q.bbox:
        minx, miny, maxx, maxy = q.bbox
        p = replace(p, bbox=(minx - 0.5, miny - 0.25, maxx + 0.5, maxy + 0.25))
    return p, _Resolved(tuple(f"{c}~" for c in res.district_codes), res.within)


def _compile_shape(q: Query, res: _Resolved) -> tuple[str, dict[str, Any]] | None:
    """(SQL, constant parameters) of ``q``'s shape, checked against a probe of the same shape.

    The check makes the cache safe by construction: the two statements must compile to the same
    text, every variable value must be a named parameter bound to the query's value, and all other
    parameters must be the same in both (constants of the shape).  Otherwise ``None``: the shape
    always takes the general path.
    """
    values = _variable_values(q, res)
    compiled = [_statements(x, r, "features")[0].compile(dialect=_PG) for x, r in ((q, res), _probe(q, res))]
    if compiled[0].string != compiled[1].string or compiled[0].positiontup or "POSTCOMPILE" in compiled[0].string:
        return None
    first, second = compiled[0].params, compiled[1].params
    variables = {name for name in first if name in _VARIABLES}
    if variables != set(values) or any(first[n] != values[n] for n in variables):
        return None
    constants = {name: v for name, v in first.items() if name not in variables}
    if any(second.get(name) != v for name, v in constants.items()):
        return None
    return compiled[0].string, constants


def _fast_entry(q: Query, res: _Resolved) -> tuple[str, dict[str, Any]] | None:
    key = _shape_key(q)
    if key is None:
        return None
    entry = _fast_cache.get(key, _UNSEEN)
    if entry is _UNSEEN:
        entry = _compile_shape(q, res)
        if len(_fast_cache) >= _FAST_MAX:  # shapes are few; this only bounds odd traffic
            _fast_cache.clear()
        _fast_cache[key] = entry
    return entry


def _fast_sql(q: Query, res: _Resolved) -> tuple[str, dict[str, Any]] | None:
    """(SQL text, parameters) of ``q``'s features statement when its shape is a common one."""
    entry = _fast_entry(q, res)
    if entry is None:
        return None
    sql, constants = entry
    return sql, {**constants, **_variable_values(q, res)}


def fast_statement(q: Query, res: _Resolved) -> tuple[str, list[Any]] | None:
    """``q``'s features statement with PostgreSQL's own ``$n`` placeholders, and its arguments in order,
    when its shape is a common one (run with :class:`psycopg.RawCursor`).

    psycopg rewrites ``%(name)s`` placeholders on every execution of a statement longer than 4 kB (it
    caches only shorter ones); a page statement is ~12 kB, so it is rewritten once per shape here.
    """
    entry = _fast_entry(q, res)
    if entry is None:
        return None
    raw_sql, names = _dollar_form(entry[0])
    values = {**entry[1], **_variable_values(q, res)}
    return raw_sql, [values[n] for n in names]


_PYFORMAT = re.compile(r"%\((\w+)\)s|%%")


@functools.lru_cache(maxsize=_FAST_MAX)
def _dollar_form(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with ``%(name)s`` written ``$n`` (one number per name) and ``%%`` as ``%``; the names in order."""
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return "%"
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return _PYFORMAT.sub(number, sql), tuple(names)


def get_facility(session: Session, facility_id: int, out_srid: int = SRID, kinds: Sequence[str] = ()
                 ) -> dict[str, Any] | None:
    """One facility as a row (see :func:`run`), or ``None``."""
    if not 0 < facility_id <= PG_INTEGER_MAX:
        return None
    result = run(session, Query(kinds=tuple(kinds), ids=(facility_id,), limit=1, out_srid=out_srid))
    return result.rows[0] if result.rows else None


def _row(r: Mapping[str, Any], q: Query) -> dict[str, Any]:
    row = {c: r[c] for c in _COMMON_COLUMNS}
    row["district"] = r["district"]
    row["lon"], row["lat"] = r["lon"], r["lat"]
    if q.out_srid != SRID:
        row["x"], row["y"] = r["x"], r["y"]
    else:
        row["x"], row["y"] = r["lon"], r["lat"]
    row["attributes"] = _canonical_points(dict(r["attributes"] or {}))
    if "distance_m" in r:
        row["distance_m"] = round(float(r["distance_m"]), 3)
    return row


def _canonical_points(attrs: dict[str, Any]) -> dict[str, Any]:
    """Point-list attributes (GeoJSON from the database) as their canonical text ``lon,lat;lon,lat``."""
    for name, value in attrs.items():
        if isinstance(value, dict) and "coordinates" in value:
            attrs[name] = _points_text(value)
    return attrs


def _points_text(geojson: Mapping[str, Any]) -> str:
    coords = geojson["coordinates"]
    points = [coords] if geojson.get("type") == "Point" else coords
    return ";".join(f"{x:.6f},{y:.6f}" for x, y in points)


# --------------------------------------------------------------------------- output
def properties(row: Mapping[str, Any]) -> dict[str, Any]:
    """GeoJSON properties of a row: common fields, district name, attributes, ``distance_m``."""
    props = {c: row[c] for c in _COMMON_COLUMNS}
    props["district"] = row["district"]
    props.update(row["attributes"])
    if "distance_m" in row:
        props["distance_m"] = row["distance_m"]
    return props


def feature(row: Mapping[str, Any], decimals: int = 7, swap_axes: bool = False) -> dict[str, Any]:
    """A GeoJSON Feature of a row; ``swap_axes`` writes (y, x) for lat/lon-ordered CRSs."""
    x, y = round(row["x"], decimals), round(row["y"], decimals)
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": {"type": "Point", "coordinates": [y, x] if swap_axes else [x, y]},
        "properties": properties(row),
    }


def csv_columns(kinds: Sequence[str]) -> list[str]:
    """CSV header: common fields, lon, lat, distance, then the attributes of the kinds asked."""
    names = list(_COMMON_COLUMNS) + ["district", "lon", "lat", "distance_m"]
    for f in fields_for(kinds):
        if f.kinds and f.name not in names and f.name != "inspection_due":
            names.append(f.name)
    return names


def to_csv(rows: Sequence[Mapping[str, Any]], kinds: Sequence[str]) -> str:
    """CSV text (UTF-8 with BOM for spreadsheet programs) of rows; unknown values are empty."""
    names = csv_columns(kinds)
    has_distance = any("distance_m" in r for r in rows)
    if not has_distance:
        names.remove("distance_m")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        flat = {**row, **row["attributes"]}
        writer.writerow(["" if flat.get(n) is None else _csv_value(flat.get(n)) for n in names])
    return "\ufeff" + out.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 7))
    return value


# --------------------------------------------------------------------------- districts
DISTRICT_FIELDS: dict[str, Field] = {
    "adcode": Field("adcode", FieldType.STR, "行政区划代码", "Administrative code"),
    "name": Field("name", FieldType.STR, "名称", "Name"),
    "unit_type": Field("unit_type", FieldType.ENUM, "类型", "Type", choices=(
        Choice("urban_district", "市辖区", "Urban district"), Choice("county", "县", "County"),
        Choice("county_city", "县级市", "County-level city"))),
    "area_km2": Field("area_km2", FieldType.FLOAT, "面积", "Area", unit="km²"),
}


@dataclass(frozen=True)
class DistrictQuery:
    """A query over the county-level districts (the ``districts`` OGC collection)."""

    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = SRID
    filters: tuple[tuple[str, cql2.Expr], ...] = ()
    ids: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    out_srid: int = SRID
    geometry: bool = True


def run_districts(session: Session, q: DistrictQuery) -> tuple[list[dict[str, Any]], int]:
    """Districts matching ``q`` (rows with ``geometry`` as a GeoJSON dict) and the number matched."""
    base = spatial.select_districts()
    where: list[ColumnElement] = []
    table = District.__table__
    if q.ids:
        where.append(table.c.adcode.in_(q.ids))
    if q.bbox:
        where.append(spatial.in_bbox_crs(table.c.geom, q.bbox, q.bbox_srid) if q.bbox_srid not in (SRID, 4490)
                     else func.ST_Intersects(table.c.geom, func.ST_MakeEnvelope(*q.bbox, SRID)))
    for parameter, expr in q.filters:
        try:
            where.append(compile_expr(expr, lambda n: table.c[n], geometry=table.c.geom))
        except QueryError as exc:
            raise QueryError(exc.zh, exc.en, parameter) from None
    stmt = base.where(*where)
    if q.geometry:
        decimals = 7 if q.out_srid in (SRID, 4490) else 3
        stmt = stmt.add_columns(spatial.as_geojson(table.c.geom, q.out_srid, decimals).label("geometry"))
    count = select(func.count()).select_from(base.where(*where).subquery())
    matched = int(session.execute(count).scalar() or 0)
    rows = [dict(r) for r in session.execute(stmt.order_by(table.c.adcode).limit(q.limit).offset(q.offset))
            .mappings()]
    return rows, matched


def get_district_names(session: Session) -> list[tuple[str, str]]:
    """(adcode, name) of the county-level districts, by adcode."""
    return [(a, n) for a, n in session.execute(
        select(District.adcode, District.name).where(District.level == "county").order_by(District.adcode))]


def collection_extent(session: Session, kind: str | None) -> tuple[float, float, float, float] | None:
    """Bounding box of the facilities of ``kind`` (all when ``None``), or ``None`` when empty."""
    stmt = select(spatial.extent_of(F.c.geom).label("box"))
    if kind:
        stmt = stmt.where(F.c.kind == kind)
    box = stmt.subquery()
    xmin, ymin, xmax, ymax = session.execute(select(*spatial.box_coordinates(box.c.box))).one()
    if xmin is None:
        return None
    return float(xmin), float(ymin), float(xmax), float(ymax)


__all__ = [
    "ATTRIBUTES",
    "COMMON",
    "DISTRICT_FIELDS",
    "FIELDS",
    "DistrictQuery",
    "FeaturePage",
    "Field",
    "InputPoint",
    "Near",
    "Nearest",
    "Query",
    "QueryError",
    "QueryResult",
    "Reader",
    "build_statement",
    "check_filter",
    "collection_extent",
    "compile_expr",
    "convert_point",
    "csv_columns",
    "decode_cursor",
    "encode_cursor",
    "fast_statement",
    "feature",
    "fields_for",
    "get_district_names",
    "get_facility",
    "has_compiled_shape",
    "parse_bbox",
    "parse_condition",
    "parse_filter",
    "parse_geojson_polygon",
    "parse_int",
    "parse_kinds",
    "parse_lonlat",
    "parse_metres",
    "parse_params",
    "properties",
    "run",
    "run_districts",
    "run_features",
    "to_csv",
]
