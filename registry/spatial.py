"""Every spatial SQL expression of the application lives here.

``select_*`` / ``update_*`` functions *build* SQLAlchemy statements; callers
execute them.  Distances are exact metres on the WGS-84 spheroid
(``geography``), served by the functional GiST indexes on
``geography(geom)`` created by the initial migration.
"""

from __future__ import annotations

from collections.abc import Sequence

from geoalchemy2 import Geography
from sqlalchemy import ColumnElement, Select, Update, and_, func, literal, select, update

from registry.models import SRID, District, Facility


def point(lon: float, lat: float) -> ColumnElement:
    """A WGS-84 point literal (``ST_SetSRID(ST_MakePoint(lon, lat), 4326)``)."""
    return func.ST_SetSRID(func.ST_MakePoint(literal(float(lon)), literal(float(lat))), SRID)


def geography(expr: ColumnElement) -> ColumnElement:
    """``geography(expr)``: written exactly like the functional indexes so the planner uses them."""
    return func.geography(expr, type_=Geography)


def select_district_at(lon: float, lat: float) -> Select:
    """The county-level district containing a point (point-in-polygon)."""
    return (
        select(District.adcode, District.name)
        .where(District.level == "county", func.ST_Intersects(District.geom, point(lon, lat)))
        .limit(1)
    )


def update_facility_districts(ids: Sequence[int] | None = None) -> Update:
    """Assign each facility (or those in ``ids``) the county-level district containing it.

    Facilities outside every district get ``NULL``.
    """
    containing = (
        select(District.adcode)
        .where(District.level == "county", func.ST_Intersects(District.geom, Facility.geom))
        .limit(1)
        .scalar_subquery()
    )
    stmt = update(Facility).values(district_code=containing)
    if ids is not None:
        stmt = stmt.where(Facility.id.in_(list(ids)))
    return stmt.execution_options(synchronize_session=False)


def select_counts_by_kind_and_district() -> Select:
    """Number of facilities per (kind, district code)."""
    return (
        select(Facility.kind, Facility.district_code, func.count().label("n"))
        .group_by(Facility.kind, Facility.district_code)
    )


def facility_lonlat() -> tuple[ColumnElement, ColumnElement]:
    """Longitude and latitude columns of :class:`Facility` geometry."""
    return func.ST_X(Facility.geom).label("lon"), func.ST_Y(Facility.geom).label("lat")


def within_distance(geom: ColumnElement, lon: float, lat: float, metres: float) -> ColumnElement:
    """``geom`` lies within ``metres`` of a point (exact, index-assisted on geography)."""
    return func.ST_DWithin(geography(geom), geography(point(lon, lat)), float(metres))


def distance_m(geom: ColumnElement, lon: float, lat: float) -> ColumnElement:
    """Geodesic distance in metres from ``geom`` to a point (spheroid)."""
    return func.ST_Distance(geography(geom), geography(point(lon, lat)))


def knn_order(geom: ColumnElement, lon: float, lat: float) -> ColumnElement:
    """KNN ordering operator on geography (uses the GiST index)."""
    return geography(geom).op("<->")(geography(point(lon, lat)))


def in_bbox(geom: ColumnElement, bbox: tuple[float, float, float, float]) -> ColumnElement:
    """``geom`` intersects a lon/lat bounding box (minx, miny, maxx, maxy)."""
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    return and_(geom.op("&&")(func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)))
