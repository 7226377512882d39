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


# --------------------------------------------------------------------------- importer (set-based)
# Builders used by registry.importer on its staging tables: they take column
# expressions so one statement handles every row of a batch.
def point_from_lonlat(lon: ColumnElement, lat: ColumnElement) -> ColumnElement:
    """``ST_SetSRID(ST_MakePoint(lon, lat), 4326)`` of two columns."""
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)


def select_unit_pieces(max_vertices: int = 64) -> Select:
    """County districts and functional zones cut by ``ST_Subdivide`` into small pieces.

    Point-in-polygon against pieces of at most ``max_vertices`` vertices, behind
    a GiST index, is fast and independent of how ragged a boundary is.
    Columns: ``code``, ``level`` (``county`` | ``zone``), ``geom`` (left untyped so the statement can
    feed ``CREATE TABLE … AS`` without GeoAlchemy2 wrapping it in ``ST_AsEWKB``).
    """
    from sqlalchemy import union_all
    from sqlalchemy.types import NullType

    from registry.models import CensusUnit

    counties = select(District.adcode.label("code"), literal("county").label("level"),
                      func.ST_Subdivide(District.geom, max_vertices, type_=NullType).label("geom")).where(District.level == "county")
    zones = select(CensusUnit.code.label("code"), literal("zone").label("level"),
                   func.ST_Subdivide(CensusUnit.geom, max_vertices, type_=NullType).label("geom")).where(
        CensusUnit.unit_type == "functional_zone")
    return union_all(counties, zones)


def intersects(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """``ST_Intersects(a, b)`` (planar, index-assisted)."""
    return func.ST_Intersects(a, b)


def within_metres(a: ColumnElement, b: ColumnElement, metres: float) -> ColumnElement:
    """``a`` within ``metres`` of ``b`` (geodesic, served by the geography GiST indexes)."""
    return func.ST_DWithin(geography(a), geography(b), float(metres))


def distance_between_m(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """Geodesic distance in metres between two geometry columns."""
    return func.ST_Distance(geography(a), geography(b))


def ewkb_hex(geom: ColumnElement) -> ColumnElement:
    """Hex EWKB text of a geometry (exact, SRID included: used for before-images)."""
    return func.encode(func.ST_AsEWKB(geom), "hex")


def spatial_sort_key(geom: ColumnElement) -> ColumnElement:
    """A key that orders points along a space-filling curve (locality for bulk GiST inserts)."""
    return func.ST_GeoHash(geom, 12)


def lonlat_of(geom: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """Longitude and latitude (``ST_X``, ``ST_Y``) of a point column."""
    return func.ST_X(geom), func.ST_Y(geom)
