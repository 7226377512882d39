"""Small hand-checkable fixtures for the compliance tests: facilities at metre offsets from an empty spot.

The spot (新密市, 113.40 E 34.60 N) holds no sample facility and no reference
point within 1.5 km; :func:`assert_empty_around` checks that at run time so a
change of the sample cannot silently break the hand computations.
"""

from __future__ import annotations

from typing import Any

from pyproj import Geod
from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.models import KIND_MODELS, Facility

GEOD = Geod(ellps="WGS84")
SPOT = (113.40, 34.60)


def offset(point: tuple[float, float], north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    """``point`` moved by metres north and east (geodesic)."""
    lon, lat = point
    if north_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0 if north_m > 0 else 180.0, abs(north_m))
    if east_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 90.0 if east_m > 0 else 270.0, abs(east_m))
    return lon, lat


def ewkt(point: tuple[float, float]) -> str:
    return f"SRID=4326;POINT({point[0]!r} {point[1]!r})"


def assert_empty_around(session: Session, point: tuple[float, float] = SPOT, metres: float = 1000.0) -> None:
    n = session.execute(text(
        "SELECT (SELECT count(*) FROM facility WHERE ST_DWithin(geography(geom), geography(ST_GeomFromEWKT(:p)), :m))"
        " + (SELECT count(*) FROM reference_point WHERE ST_DWithin(geography(geom), geography(ST_GeomFromEWKT(:p)), :m))"
    ), {"p": ewkt(point), "m": metres}).scalar_one()
    assert n == 0, f"the fixture spot {point} is no longer empty: {n} features within {metres} m"


def make(session: Session, kind: str, point: tuple[float, float], name: str | None = None, **attrs: Any) -> Facility:
    """A facility of ``kind`` at ``point`` (source ``test``), flushed."""
    obj = KIND_MODELS[kind](kind=kind, source="test", name=name or f"测试{kind}", geom=ewkt(point), **attrs)
    session.add(obj)
    session.flush()
    return obj


CLEAN_BERTH = {"parking_type": "on_street", "structure": "surface", "status": "open", "operating": True,
               "on_sidewalk_or_green": False, "near_manhole": False, "on_fire_or_emergency_lane": False,
               "road_class": "branch", "operator": "测试停车公司"}
PLAIN_ELEVATOR = {"status": "in_use", "public_gathering": False, "building_type": "住宅", "faults_12m": 0,
                  "private_single_family": False, "user_unit": "测试物业"}


def finding(session: Session, facility_id: int, rule_id: str) -> dict[str, Any]:
    """The stored finding of ``rule_id`` on a facility (exactly one)."""
    rows = session.execute(text(
        "SELECT verdict, message_zh, message_en, related, neighbour_ids, as_of, run_id FROM compliance_finding"
        " WHERE facility_id = :f AND rule_id = :r"), {"f": facility_id, "r": rule_id}).mappings().all()
    assert len(rows) == 1, (facility_id, rule_id, rows)
    return dict(rows[0])


def status(session: Session, facility_id: int) -> str | None:
    return session.execute(text("SELECT compliance_status FROM facility WHERE id = :f"), {"f": facility_id}).scalar()
