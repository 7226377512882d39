"""Canonical text form of attribute values (sample files, exports, API properties).

The canonical form is what the registry itself writes: enums as their stored
value, booleans ``true``/``false``, ISO dates, ``HH:MM`` times, points as
``lon,lat`` separated by ``;``.  Messy clerk input (是/否, 2019年6月30日, GBK...)
is the importer's job; this module only reads and writes the canonical form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from registry.kinds.base import FieldSpec, FieldType


def parse_canonical(spec: FieldSpec, raw: str | None) -> Any:
    """Parse the canonical text of a value of ``spec``; empty text is ``None`` (unknown).

    Raises
    ------
    ValueError
        If ``raw`` is not the canonical form of a value of this field.

    Examples
    --------
    >>> from registry.kinds import spec_for
    >>> parse_canonical(spec_for("study_room").field("seats"), "15")
    15
    >>> parse_canonical(spec_for("study_room").field("wifi"), "") is None
    True
    """
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    kind = spec.type
    if kind is FieldType.STR:
        return text
    if kind is FieldType.INT:
        return int(text)
    if kind is FieldType.FLOAT:
        return float(text)
    if kind is FieldType.BOOL:
        if text not in ("true", "false"):
            raise ValueError(f"{spec.name}: expected true/false, got {text!r}")
        return text == "true"
    if kind is FieldType.DATE:
        return dt.date.fromisoformat(text)
    if kind is FieldType.TIME:
        return dt.time.fromisoformat(text)
    if kind is FieldType.ENUM:
        if spec.choices and spec.choice(text) is None:
            raise ValueError(f"{spec.name}: {text!r} is not one of {[c.value for c in spec.choices]}")
        return text
    if kind is FieldType.POINTS:
        return parse_points(text)
    raise ValueError(f"{spec.name}: unsupported field type {kind}")  # pragma: no cover


def parse_points(text: str) -> list[tuple[float, float]]:
    """Parse ``"lon,lat;lon,lat"`` into a list of (lon, lat) tuples.

    >>> parse_points("113.6,34.7; 113.61,34.71")
    [(113.6, 34.7), (113.61, 34.71)]
    """
    points = []
    for part in text.split(";"):
        if not part.strip():
            continue
        lon, lat = (float(v) for v in part.split(","))
        points.append((lon, lat))
    if not points:
        raise ValueError(f"no point in {text!r}")
    return points


def format_canonical(spec: FieldSpec, value: Any) -> str:
    """Canonical text of ``value`` (``""`` for ``None``)."""
    if value is None:
        return ""
    if spec.type is FieldType.BOOL:
        return "true" if value else "false"
    if spec.type is FieldType.TIME:
        return value.strftime("%H:%M")
    if spec.type is FieldType.POINTS:
        return ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def points_ewkt(points: list[tuple[float, float]], multi: bool) -> str:
    """EWKT of a point list as POINT (first point) or MULTIPOINT, SRID 4326."""
    if not multi:
        lon, lat = points[0]
        return f"SRID=4326;POINT({lon!r} {lat!r})"
    return "SRID=4326;MULTIPOINT(" + ",".join(f"({lon!r} {lat!r})" for lon, lat in points) + ")"
