"""JSON API (version 1, mounted at ``/api``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from registry.db import get_session
from registry.facilities import get_features
from registry.kinds import FacilityKind
from registry.web.errors import ApiError

bp = Blueprint("api", __name__)

MAX_LIMIT = 10_000


def _kind_arg() -> str | None:
    kind = request.args.get("kind")
    if kind is None or kind == "":
        return None
    try:
        return FacilityKind(kind).value
    except ValueError:
        allowed = ", ".join(k.value for k in FacilityKind)
        raise ApiError(f"unknown kind {kind!r}; expected one of: {allowed}", "kind") from None


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(f"{name} must be an integer, got {raw!r}", name) from None
    if not lo <= value <= hi:
        raise ApiError(f"{name} must be between {lo} and {hi}, got {value}", name)
    return value


@bp.get("/facilities")
def facilities() -> Response:
    """Facilities as a GeoJSON FeatureCollection (``kind``, ``limit``, ``offset``)."""
    kind = _kind_arg()
    limit = _int_arg("limit", 1000, 1, MAX_LIMIT)
    offset = _int_arg("offset", 0, 0, 10**9)
    features, matched = get_features(get_session(), kind=kind, limit=limit, offset=offset)
    return jsonify({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
    })
