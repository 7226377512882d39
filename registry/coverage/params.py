"""Parameters of a coverage or site-selection analysis: parsing and validation.

Framework-neutral: the API, the pages and the CLI hand over plain mappings of
strings (query arguments, form fields, options) and get a frozen request or a
:class:`CoverageInputError` naming the parameter at fault.  Requests turn into
plain dicts (``to_params``) and back (``from_params``) so that a saved run can
be re-run exactly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry import localtime
from registry.coverage.layers import DEFAULT_LAYER
from registry.coverage.standards import standard_for
from registry.kinds import FacilityKind, FieldType, spec_for
from registry.kinds.values import parse_canonical

MAX_RADIUS_M = 50_000.0
MAX_RADII = 5
MAX_HOT_SPOTS = 5_000
MAX_K = 500
MAX_SITES_WHATIF = 500
SOLVERS = ("greedy", "exact", "both")
NULL_WORDS = ("unknown", "null", "未知")


class CoverageInputError(ValueError):
    """Bad analysis input; ``parameter`` names the field at fault."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


# --------------------------------------------------------------------------- small parsers
def parse_kind(raw: str | None) -> str:
    """A facility kind value (required)."""
    if raw is None or not str(raw).strip():
        raise CoverageInputError("kind is required (museum, study_room, parking_lot, elevator, kindergarten)", "kind")
    try:
        return FacilityKind(str(raw).strip()).value
    except ValueError:
        allowed = ", ".join(k.value for k in FacilityKind)
        raise CoverageInputError(f"unknown kind {raw!r}; expected one of: {allowed}", "kind") from None


def parse_radii(raw: str | Iterable[Any] | None, parameter: str = "radius") -> tuple[float, ...] | None:
    """Radii in metres from ``"300"``, ``"500,1000"`` or a list; ``None`` when not given (standard defaults)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, (int, float)):
        raw = [raw]
    parts = [p for p in str(raw).replace("，", ",").split(",")] if isinstance(raw, str) else list(raw)
    radii = []
    for part in parts:
        text = str(part).strip().lower().removesuffix("m").strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise CoverageInputError(f"{parameter} must be metres (e.g. 300 or 500,1000), got {part!r}",
                                     parameter) from None
        if not math.isfinite(value) or value <= 0 or value > MAX_RADIUS_M:
            raise CoverageInputError(f"{parameter} must be between 0 and {MAX_RADIUS_M:,.0f} metres, got {part!r}",
                                     parameter)
        radii.append(value)
    if len(set(radii)) > MAX_RADII:
        raise CoverageInputError(f"at most {MAX_RADII} radii at once", parameter)
    return tuple(sorted(set(radii))) if radii else None


def parse_int(raw: Any, parameter: str, default: int, lo: int, hi: int) -> int:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise CoverageInputError(f"{parameter} must be an integer, got {raw!r}", parameter) from None
    if not lo <= value <= hi:
        raise CoverageInputError(f"{parameter} must be between {lo} and {hi}, got {value}", parameter)
    return value


def parse_float(raw: Any, parameter: str, lo: float, hi: float) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise CoverageInputError(f"{parameter} must be a number, got {raw!r}", parameter) from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise CoverageInputError(f"{parameter} must be between {lo:g} and {hi:g}, got {raw!r}", parameter)
    return value


def parse_date(raw: Any, parameter: str = "as_of") -> dt.date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise CoverageInputError(f"{parameter} must be a date YYYY-MM-DD, got {raw!r}", parameter) from None


def _listify(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        items = raw.replace("，", ",").split(",")
    else:
        items = [str(x) for item in raw for x in (item.split(",") if isinstance(item, str) else [item])]
    return [s.strip() for s in items if str(s).strip()]


# --------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class FacilityFilter:
    """Which facilities of the kind take part.

    Attributes
    ----------
    statuses : tuple of str
        Keep these statuses only (empty: every status).
    equals : tuple of (field, value)
        Attribute equality (``("operator_type", "public")``); value ``None`` = unknown.
    district : str or None
        Administrative district adcode.
    """

    statuses: tuple[str, ...] = ()
    equals: tuple[tuple[str, Any], ...] = ()
    district: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": list(self.statuses),
                "where": {k: (v.isoformat() if isinstance(v, (dt.date, dt.time)) else v) for k, v in self.equals},
                "district": self.district}

    def describe(self) -> str:
        parts = []
        if self.statuses:
            parts.append("status=" + ",".join(self.statuses))
        parts += [f"{k}={'unknown' if v is None else v}" for k, v in self.equals]
        if self.district:
            parts.append(f"district={self.district}")
        return "; ".join(parts) or "all"


def parse_filter(kind: str, statuses: Any = None, where: Any = None, district: Any = None) -> FacilityFilter:
    """Validate status values and ``field:value`` conditions against the kind's fields.

    ``where`` is a list (or comma-separated text) of ``field:value`` or
    ``field=value``; enumeration values may be given by their Chinese term
    (``operator_type:公办``); ``unknown`` matches missing values.
    """
    spec = spec_for(kind)
    allowed = {c.value: c for c in spec.statuses}
    by_term = {term: c.value for c in spec.statuses for term in (c.zh, c.en, *c.aliases)}
    chosen = []
    for raw in _listify(statuses):
        value = raw if raw in allowed else by_term.get(raw)
        if value is None:
            raise CoverageInputError(f"status {raw!r} is not a status of {kind}; expected one of: "
                                     f"{', '.join(allowed)}", "status")
        chosen.append(value)
    equals: list[tuple[str, Any]] = []
    if isinstance(where, Mapping):
        items = [f"{k}:{v}" for k, v in where.items()]
    else:
        items = _listify(where)
    for item in items:
        sep = ":" if ":" in item else "=" if "=" in item else None
        if sep is None:
            raise CoverageInputError(f"filter {item!r} must read field:value (e.g. operator_type:public)", "where")
        name, raw = (s.strip() for s in item.split(sep, 1))
        try:
            fspec = spec.field(name)
        except KeyError:
            names = ", ".join(f.name for f in spec.fields if f.type is not FieldType.POINTS)
            raise CoverageInputError(f"{kind} has no field {name!r}; fields: {names}", "where") from None
        if fspec.type is FieldType.POINTS:
            raise CoverageInputError(f"cannot filter on the point field {name!r}", "where")
        if raw.lower() in NULL_WORDS or raw in NULL_WORDS:
            equals.append((name, None))
            continue
        if fspec.type is FieldType.ENUM:
            raw = next((c.value for c in fspec.choices if raw in (c.value, c.zh, c.en, *c.aliases)), raw)
        if fspec.type is FieldType.BOOL:
            raw = {"是": "true", "否": "false", "yes": "true", "no": "false", "1": "true", "0": "false"}.get(
                raw.lower(), raw.lower())
        try:
            equals.append((name, parse_canonical(fspec, raw)))
        except ValueError as exc:
            raise CoverageInputError(f"filter {item!r}: {exc}", "where") from None
    district_code = str(district).strip() if district not in (None, "") else None
    if district_code is not None and not (district_code.isdigit() and len(district_code) == 6):
        raise CoverageInputError(f"district must be a 6-digit adcode, got {district!r}", "district")
    return FacilityFilter(tuple(dict.fromkeys(chosen)), tuple(equals), district_code)


# --------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class CoverageRequest:
    """One coverage analysis.

    Attributes
    ----------
    kind : str
        Facility kind.
    radii_m : tuple of float or None
        Service radii; ``None`` takes the standard's defaults (none for museums).
    layer : str
        Population layer name (``modelled_grid_250m``, ``census_2020``, an imported one).
    filters : FacilityFilter
        Facilities taking part.
    as_of : date or None
        Only facilities recorded up to this date (default: today).
    hot_spots : int
        Hot-spot cells kept per radius.
    """

    kind: str
    radii_m: tuple[float, ...] | None = None
    layer: str = DEFAULT_LAYER
    filters: FacilityFilter = field(default_factory=FacilityFilter)
    as_of: dt.date | None = None
    hot_spots: int = 200

    @property
    def radii(self) -> tuple[float, ...]:
        """The radii used: the given ones or the standard's defaults."""
        return self.radii_m if self.radii_m is not None else standard_for(self.kind).radii_m

    @property
    def as_of_date(self) -> dt.date:
        return self.as_of or localtime.today()

    def to_params(self) -> dict[str, Any]:
        """Plain parameters (radii resolved, so a re-run uses exactly the same ones)."""
        return {"kind": self.kind, "radius_m": list(self.radii), "layer": self.layer,
                "filters": self.filters.to_dict(), "as_of": self.as_of_date.isoformat(),
                "hot_spots": self.hot_spots}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CoverageRequest:
        """Inverse of :meth:`to_params` (validated again)."""
        kind = parse_kind(params.get("kind"))
        f = params.get("filters") or {}
        radii = params.get("radius_m")
        return cls(kind=kind, radii_m=(parse_radii(radii) or ()) if radii is not None else None,
                   layer=str(params.get("layer") or DEFAULT_LAYER),
                   filters=parse_filter(kind, f.get("status"), f.get("where"), f.get("district")),
                   as_of=parse_date(params.get("as_of")),
                   hot_spots=parse_int(params.get("hot_spots"), "hot_spots", 200, 0, MAX_HOT_SPOTS))


def coverage_request(args: Mapping[str, Any]) -> CoverageRequest:
    """Build a :class:`CoverageRequest` from query/form/option values.

    Keys: ``kind`` (required), ``radius`` (``300`` or ``500,1000``; ``none``
    for by-population only), ``layer``, ``status``, ``where``
    (``field:value``, repeatable), ``district``, ``as_of``, ``hot_spots``.
    """
    kind = parse_kind(args.get("kind"))
    raw_radius = args.get("radius")
    if isinstance(raw_radius, str) and raw_radius.strip().lower() in ("none", "0", "无"):
        radii: tuple[float, ...] | None = ()
    else:
        radii = parse_radii(raw_radius)
    layer = str(args.get("layer") or DEFAULT_LAYER).strip()
    filters = parse_filter(kind, args.get("status"), args.get("where"), args.get("district"))
    as_of = parse_date(args.get("as_of"))
    if as_of is not None and as_of > localtime.today():
        raise CoverageInputError(f"as_of {as_of} is in the future", "as_of")
    hot = parse_int(args.get("hot_spots"), "hot_spots", 200, 0, MAX_HOT_SPOTS)
    return CoverageRequest(kind, radii, layer, filters, as_of, hot)


# --------------------------------------------------------------------------- site selection
MAX_CANDIDATE_POINTS = 100_000


@dataclass(frozen=True)
class Candidates:
    """Where new sites may go.

    Attributes
    ----------
    type : str
        ``grid`` (a lattice over the city), ``points`` (the planner's list) or
        ``parcels`` (polygons; their representative points).
    spacing_m : float
        Lattice spacing for ``grid``.
    lonlat : tuple of (lon, lat)
        WGS-84 positions for ``points`` and ``parcels``.
    names : tuple of str
        Names of those positions.
    """

    type: str = "grid"
    spacing_m: float = 250.0
    lonlat: tuple[tuple[float, float], ...] = ()
    names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.type == "grid":
            out["spacing_m"] = self.spacing_m
        else:
            out["points"] = [[lon, lat, name] for (lon, lat), name in zip(self.lonlat, self.names)]
        return out


def parse_candidates(raw: Any) -> Candidates:
    """Candidates from ``{"type": "grid", "spacing": 250}``, ``{"type": "points", "points": [...]}``,
    ``{"type": "parcels", "features": [...]}`` (GeoJSON), or text: ``grid:250`` / lines of ``lon,lat[,name]``.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Candidates()
    if isinstance(raw, str):
        text = raw.strip()
        if text.lower().startswith("grid"):
            spacing = text.split(":", 1)[1] if ":" in text else None
            return Candidates("grid", parse_float(spacing, "candidates", 10, 50_000) or 250.0)
        lines = [ln for ln in text.replace("\r", "\n").replace(";", "\n").split("\n") if ln.strip()]
        return _points([ln.replace("，", ",").split(",") for ln in lines], "points")
    if not isinstance(raw, Mapping):
        raise CoverageInputError("candidates must be an object with a type (grid, points, parcels)", "candidates")
    kind = str(raw.get("type") or "grid")
    if kind == "grid":
        return Candidates("grid", parse_float(raw.get("spacing", raw.get("spacing_m")), "candidates.spacing",
                                              10, 50_000) or 250.0)
    if kind == "points":
        pts = raw.get("points")
        if not isinstance(pts, list) or not pts:
            raise CoverageInputError("candidates.points must be a non-empty list of [lon, lat] or {lon, lat}",
                                     "candidates")
        return _points(pts, "points")
    if kind == "parcels" and isinstance(raw.get("points"), list):  # a saved run: points already derived
        return _points(raw["points"], "parcels")
    if kind == "parcels":
        feats = raw.get("features")
        if isinstance(raw.get("geojson"), Mapping):
            feats = raw["geojson"].get("features")
        if not isinstance(feats, list) or not feats:
            raise CoverageInputError("candidates.features must be a non-empty list of GeoJSON features",
                                     "candidates")
        return parcels_from_features(feats)
    raise CoverageInputError(f"candidates type must be grid, points or parcels, not {kind!r}", "candidates")


def _points(items: list[Any], type_: str) -> Candidates:
    lonlat, names = [], []
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            lon, lat, name = item.get("lon"), item.get("lat"), item.get("name") or ""
        elif isinstance(item, (list, tuple)) and len(item) >= 2:
            lon, lat, name = item[0], item[1], (item[2] if len(item) > 2 else "")
        else:
            raise CoverageInputError(f"candidate {i + 1}: expected lon,lat[,name]", "candidates")
        try:
            lon_f, lat_f = float(str(lon).strip()), float(str(lat).strip())
        except ValueError:
            raise CoverageInputError(f"candidate {i + 1}: {lon!r}, {lat!r} are not numbers", "candidates") from None
        if not (112.0 <= lon_f <= 115.0 and 34.0 <= lat_f <= 35.5):
            raise CoverageInputError(f"candidate {i + 1}: ({lon_f}, {lat_f}) is not in Zhengzhou (WGS-84 lon,lat)",
                                     "candidates")
        lonlat.append((lon_f, lat_f))
        names.append(str(name).strip()[:100])
    if len(lonlat) > MAX_CANDIDATE_POINTS:
        raise CoverageInputError(f"at most {MAX_CANDIDATE_POINTS:,} candidate points", "candidates")
    return Candidates(type_, 0.0, tuple(lonlat), tuple(names))


def parcels_from_features(features: list[Any]) -> Candidates:
    """Representative points of GeoJSON parcel polygons (WGS-84), named by ``name`` when present."""
    import shapely
    from shapely.geometry import shape

    pts = []
    for i, feat in enumerate(features):
        try:
            geom = shape(feat["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException):
            raise CoverageInputError(f"parcel {i + 1} has no valid geometry", "candidates") from None
        if geom.is_empty:
            raise CoverageInputError(f"parcel {i + 1} has an empty geometry", "candidates")
        p = geom.representative_point()
        props = feat.get("properties") or {}
        pts.append([p.x, p.y, props.get("name") or props.get("名称") or ""])
    c = _points(pts, "parcels")
    return c


@dataclass(frozen=True)
class SiteRequest:
    """One site-selection analysis (MCLP)."""

    kind: str
    radius_m: float
    k: int
    layer: str = DEFAULT_LAYER
    filters: FacilityFilter = field(default_factory=FacilityFilter)
    as_of: dt.date | None = None
    candidates: Candidates = field(default_factory=Candidates)
    solver: str = "greedy"
    capacity: float | None = None
    time_limit_s: float = 60.0

    @property
    def as_of_date(self) -> dt.date:
        return self.as_of or localtime.today()

    def to_params(self) -> dict[str, Any]:
        return {"kind": self.kind, "radius_m": self.radius_m, "k": self.k, "layer": self.layer,
                "filters": self.filters.to_dict(), "as_of": self.as_of_date.isoformat(),
                "candidates": self.candidates.to_dict(), "solver": self.solver, "capacity": self.capacity,
                "time_limit_s": self.time_limit_s}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SiteRequest:
        """Inverse of :meth:`to_params` (validated again)."""
        return site_request(params)


def site_request(args: Mapping[str, Any]) -> SiteRequest:
    """Build a :class:`SiteRequest` from JSON/form/option values.

    Keys: ``kind``, ``radius`` (one radius; default the standard's first),
    ``k``, ``layer``, ``status``/``where``/``district`` or ``filters``,
    ``as_of``, ``candidates``, ``solver`` (greedy | exact | both),
    ``capacity`` (residents one new site may serve), ``time_limit``.
    """
    kind = parse_kind(args.get("kind"))
    radii = parse_radii(args.get("radius", args.get("radius_m")))
    if radii is not None and len(radii) != 1:
        raise CoverageInputError("site selection takes one radius", "radius")
    if radii is None:
        std = standard_for(kind).radii_m
        if not std:
            raise CoverageInputError(f"{kind} has no standard radius (planned by population): give radius=",
                                     "radius")
        radii = (std[0],)
    k = parse_int(args.get("k"), "k", 5, 1, MAX_K)
    f = args.get("filters") if isinstance(args.get("filters"), Mapping) else {}
    filters = parse_filter(kind, args.get("status", f.get("status")), args.get("where", f.get("where")),
                           args.get("district", f.get("district")))
    solver = str(args.get("solver") or "greedy").strip()
    if solver not in SOLVERS:
        raise CoverageInputError(f"solver must be one of {', '.join(SOLVERS)}, not {solver!r}", "solver")
    capacity = parse_float(args.get("capacity"), "capacity", 1, 10_000_000)
    time_limit = parse_float(args.get("time_limit", args.get("time_limit_s")), "time_limit", 1, 600) or 60.0
    as_of = parse_date(args.get("as_of"))
    return SiteRequest(kind, radii[0], k, str(args.get("layer") or DEFAULT_LAYER).strip(), filters, as_of,
                       parse_candidates(args.get("candidates")), solver, capacity, time_limit)
