"""Every spatial SQL expression of the application lives here.

``select_*`` / ``update_*`` functions *build* SQLAlchemy statements; callers
execute them.  Distances are exact metres on the WGS-84 spheroid
(``geography``), served by the functional GiST indexes on
``geography(geom)`` created by the initial migration.
"""

from __future__ import annotations

from collections.abc import Sequence

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    JSON,
    ColumnElement,
    FromClause,
    Select,
    Update,
    and_,
    func,
    literal,
    select,
    update,
)

from registry.models import METRIC_SRID, SRID, CensusUnit, District, Facility


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


# --------------------------------------------------------------------------- query layer (registry.query)
# Builders used by :mod:`registry.query` for radius, nearest and area queries.
# Geodesic metres use ``geography`` (spheroid, served by the functional GiST
# index on ``geography(geom)``); projected metres use EPSG:4547
# (CGCS2000 / 3-degree Gauss-Kruger CM 114E), pre-filtered by the geography
# index: on a transverse Mercator grid with scale factor 1 on the central
# meridian, projected distances are never shorter than geodesic ones, so the
# geodesic circle of the same radius is a superset of the projected one.

class QueryPoint:
    """A query's point, from two SQL values (usually named bind parameters, so one statement text serves
    every point), in the forms the builders below need.

    Each form is a one-row sub-select: PostgreSQL computes it once per execution (an InitPlan) instead
    of once per candidate row, and PostGIS's per-call caches see the same value every time.
    """

    __slots__ = ("geography", "geometry", "projected")

    def __init__(self, lon: ColumnElement | float, lat: ColumnElement | float) -> None:
        pt = func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)
        self.geometry: ColumnElement = select(pt).scalar_subquery()
        self.geography: ColumnElement = select(func.geography(pt)).scalar_subquery()
        self.projected: ColumnElement = select(func.ST_Transform(pt, METRIC_SRID)).scalar_subquery()


def query_point(lon: ColumnElement | float, lat: ColumnElement | float) -> QueryPoint:
    """The :class:`QueryPoint` at (lon, lat), WGS-84."""
    return QueryPoint(lon, lat)


def within_metres_of(geom: ColumnElement, pt: QueryPoint, metres: ColumnElement | float) -> ColumnElement:
    """``geom`` within ``metres`` of the query point: exact geodesic metres, written like
    :func:`within_distance` so the functional GiST index on ``geography(geom)`` serves it."""
    return func.ST_DWithin(geography(geom), pt.geography, metres)


def metres_to(geom: ColumnElement, pt: QueryPoint) -> ColumnElement:
    """Geodesic distance in metres (spheroid) from ``geom`` to the query point."""
    return func.ST_Distance(geography(geom), pt.geography)


def knn_to(geom: ColumnElement, pt: QueryPoint) -> ColumnElement:
    """KNN ordering operator on geography towards the query point (uses the GiST index)."""
    return geography(geom).op("<->")(pt.geography)


def in_lonlat_box(geom: ColumnElement, minx: ColumnElement | float, miny: ColumnElement | float,
                  maxx: ColumnElement | float, maxy: ColumnElement | float) -> ColumnElement:
    """``geom`` intersects a lon/lat box given as SQL values (bind parameters); same SQL as :func:`in_bbox`."""
    return and_(geom.op("&&")(func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)))


def projected(geom: ColumnElement, srid: int = METRIC_SRID) -> ColumnElement:
    """``ST_Transform(geom, srid)`` (EPSG:4547 metres by default)."""
    return func.ST_Transform(geom, srid, type_=Geometry)


def within_projected_distance(geom: ColumnElement, pt: QueryPoint, metres: ColumnElement | float,
                              prefilter_metres: ColumnElement | float) -> ColumnElement:
    """``geom`` within ``metres`` of the point ``pt`` in EPSG:4547 metres (index-assisted through geography).

    ``prefilter_metres`` is the geodesic radius of the index pre-filter: ``metres + 0.01`` (a projected
    distance is never shorter than the geodesic one here, see above).
    """
    return and_(
        within_metres_of(geom, pt, prefilter_metres),
        func.ST_DWithin(projected(geom), pt.projected, metres),
    )


def projected_distance_m(geom: ColumnElement, pt: QueryPoint) -> ColumnElement:
    """Planar distance in EPSG:4547 metres from ``geom`` to the query point."""
    return func.ST_Distance(projected(geom), pt.projected)


def select_nearest(
    source: FromClause,
    geom: ColumnElement,
    key: ColumnElement,
    where: Sequence[ColumnElement],
    pt: QueryPoint,
    k: int,
    max_distance_m: ColumnElement | float | None = None,
) -> Select:
    """The ``k`` rows of ``source`` nearest to the point ``pt``, exactly ordered on the spheroid.

    The GiST index answers ``<->`` on geography with *sphere* distances, which
    can order two candidates differently from the spheroid (by up to ~0.3 %
    in Zhengzhou, depending on direction).  So the index first yields ``k``
    candidates; the largest exact (spheroid) distance among them bounds the
    k-th nearest distance (any ``k`` rows are at least as far as the true
    ``k`` nearest), and an index-assisted ``ST_DWithin`` within that bound,
    ordered by exact ``ST_Distance``, gives the exact answer.

    ``pt`` and ``max_distance_m`` may be bind parameters; ``k`` is written
    into the SQL as a number: with ``LIMIT $1`` a prepared statement's generic
    plan assumes 10 % of the table is wanted and sorts all of it instead of
    walking the KNN index.  Returns a statement with columns ``key`` (as
    ``id``) and ``distance_m``.
    """
    # local import: this section only adds lines to the file
    from sqlalchemy import Integer, literal_column

    limit = literal_column(str(int(k)), Integer)
    dist = metres_to(geom, pt)
    limits = list(where)
    if max_distance_m is not None:
        limits.append(within_metres_of(geom, pt, max_distance_m))
    candidates = (
        select(dist.label("d")).select_from(source).where(*limits)
        .order_by(knn_to(geom, pt)).limit(limit).subquery("knn_candidates")
    )
    # a hair above the largest candidate distance: ST_DWithin's own arithmetic may land a few
    # nanometres above ST_Distance's for the same pair, and extra rows are cut by the final LIMIT
    bound = select(func.max(candidates.c.d) * (1 + 1e-12) + 1e-6).scalar_subquery()
    return (
        select(key.label("id"), dist.label("distance_m")).select_from(source)
        .where(*limits, within_metres_of(geom, pt, bound))
        .order_by(dist, key).limit(limit)
    )


def in_geometry_wkt(geom: ColumnElement, wkt: str, srid: int = SRID) -> ColumnElement:
    """``geom`` intersects a WKT geometry given in ``srid`` (transformed to 4326 when needed)."""
    shape = func.ST_GeomFromText(literal(wkt), srid, type_=Geometry)
    if srid != SRID:
        shape = func.ST_Transform(shape, SRID, type_=Geometry)
    return func.ST_Intersects(geom, shape)


def in_district(geom: ColumnElement, adcode: str) -> ColumnElement:
    """``geom`` lies in the boundary of the district ``adcode`` (point-in-polygon, index-assisted)."""
    boundary = select(District.geom).where(District.adcode == adcode).scalar_subquery()
    return func.ST_Intersects(geom, boundary)


def in_census_unit(geom: ColumnElement, code: str) -> ColumnElement:
    """``geom`` lies in the boundary of the census unit ``code`` (districts and functional zones)."""
    boundary = select(CensusUnit.geom).where(CensusUnit.code == code).scalar_subquery()
    return func.ST_Intersects(geom, boundary)


def in_bbox_crs(geom: ColumnElement, bbox: tuple[float, float, float, float], srid: int) -> ColumnElement:
    """``geom`` (EPSG:4326) lies in a box given as (minx, miny, maxx, maxy) in the x/y of ``srid``.

    Geographic CRSs (4326, 4490: equal within centimetres) use the box as it
    is.  A projected box is tested exactly in its own CRS, after an
    index-assisted pre-filter on the envelope of the (densified) box
    transformed to 4326.
    """
    if srid in (SRID, 4490):
        return in_bbox(geom, bbox)
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    box = func.ST_MakeEnvelope(minx, miny, maxx, maxy, srid, type_=Geometry)
    densified = func.ST_Segmentize(box, max((maxx - minx), (maxy - miny)) / 64.0 or 1.0, type_=Geometry)
    envelope = func.ST_Expand(func.ST_Envelope(func.ST_Transform(densified, SRID, type_=Geometry)), 1e-6)
    return and_(geom.op("&&")(envelope), func.ST_Intersects(func.ST_Transform(geom, srid, type_=Geometry), box))


def xy_in(geom: ColumnElement, srid: int = SRID) -> tuple[ColumnElement, ColumnElement]:
    """x and y of ``geom`` in ``srid`` (traditional GIS order: easting/longitude first)."""
    target = geom if srid == SRID else func.ST_Transform(geom, srid, type_=Geometry)
    return func.ST_X(target).label("x"), func.ST_Y(target).label("y")


def as_geojson(geom: ColumnElement, srid: int = SRID, decimals: int = 7) -> ColumnElement:
    """``ST_AsGeoJSON`` of ``geom`` (in ``srid``) as a JSON value, easting/longitude first."""
    target = geom if srid == SRID else func.ST_Transform(geom, srid, type_=Geometry)
    return func.ST_AsGeoJSON(target, decimals, type_=JSON)


def select_districts(level: str = "county") -> Select:
    """Districts of a level with name, type, area and their boundary as GeoJSON-ready columns."""
    return select(District.adcode, District.name, District.unit_type, District.area_km2).where(
        District.level == level
    )


def district_bbox(adcode: str) -> Select:
    """Bounding box (xmin, ymin, xmax, ymax) of one district's boundary."""
    geom = District.geom
    return select(func.ST_XMin(geom), func.ST_YMin(geom), func.ST_XMax(geom), func.ST_YMax(geom)).where(
        District.adcode == adcode
    )


def extent_of(geom: ColumnElement) -> ColumnElement:
    """``ST_Extent`` aggregate of a geometry column (box2d)."""
    return func.ST_Extent(geom)


def box_coordinates(box: ColumnElement) -> tuple[ColumnElement, ...]:
    """xmin, ymin, xmax, ymax of a box expression."""
    return func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)


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


def select_unit_geometries() -> Select:
    """County districts and functional zones as WKB (``code``, ``level`` county|zone, ``wkb``), by code.

    The importer tests its points against these in the client (prepared
    geometries, vectorised) while the rows stream to the server.
    """
    from sqlalchemy import union_all
    from sqlalchemy.types import LargeBinary

    from registry.models import CensusUnit

    counties = select(District.adcode.label("code"), literal("county").label("level"),
                      func.ST_AsBinary(District.geom, type_=LargeBinary).label("wkb")).where(District.level == "county")
    zones = select(CensusUnit.code.label("code"), literal("zone").label("level"),
                   func.ST_AsBinary(CensusUnit.geom, type_=LargeBinary).label("wkb")).where(
        CensusUnit.unit_type == "functional_zone")
    return select(union_all(counties, zones).subquery()).order_by("level", "code")


def intersects(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """``ST_Intersects(a, b)`` (planar, index-assisted)."""
    return func.ST_Intersects(a, b)


def within_metres(a: ColumnElement, b: ColumnElement, metres: float) -> ColumnElement:
    """``a`` within ``metres`` of ``b`` (geodesic, served by the geography GiST indexes)."""
    return func.ST_DWithin(geography(a), geography(b), float(metres))


def distance_between_m(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """Geodesic distance in metres between two geometry columns."""
    return func.ST_Distance(geography(a), geography(b))


def extent_expanded(geom: ColumnElement, dx: float, dy: float) -> ColumnElement:
    """Aggregate: the extent of a point column grown by ``dx``/``dy`` degrees, as a 4326 polygon."""
    box = func.ST_Expand(func.ST_Extent(geom), literal(float(dx)), literal(float(dy)))
    return func.ST_SetSRID(func.geometry(box), SRID)


def overlaps_box(geom: ColumnElement, box: ColumnElement) -> ColumnElement:
    """``geom && box`` (bounding boxes overlap; served by the planar GiST index)."""
    return geom.op("&&")(box)


def ewkb_hex(geom: ColumnElement) -> ColumnElement:
    """Hex EWKB text of a geometry (exact, SRID included: used for before-images)."""
    return func.encode(func.ST_AsEWKB(geom), "hex")


def lonlat_of(geom: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """Longitude and latitude (``ST_X``, ``ST_Y``) of a point column."""
    return func.ST_X(geom), func.ST_Y(geom)


# --- coverage
# Builders used by registry.coverage (population layers, facility supply,
# census units).  Distances themselves are computed in Python on EPSG:4547
# coordinates (KD-tree); these statements only read and write the layers.
# Imports are local so that this section only adds lines to the file.

def select_population_layers() -> Select:
    """Every population layer with its number of cells and total population."""
    from registry.models import PopulationCell, PopulationLayer

    stats = (
        select(PopulationCell.layer_id, func.count().label("n_cells"),
               func.coalesce(func.sum(PopulationCell.population), 0).label("total_population"))
        .group_by(PopulationCell.layer_id).subquery("layer_stats")
    )
    return (
        select(PopulationLayer, func.coalesce(stats.c.n_cells, 0).label("n_cells"),
               func.coalesce(stats.c.total_population, 0).label("total_population"))
        .outerjoin(stats, stats.c.layer_id == PopulationLayer.id)
        .order_by(PopulationLayer.name)
    )


def select_population_layer(name: str) -> Select:
    """The population layer called ``name``."""
    from registry.models import PopulationLayer

    return select(PopulationLayer).where(PopulationLayer.name == name)


def select_layer_cells_copy(layer_id: int) -> Select:
    """Cells of a layer as fixed-width columns for a binary ``COPY``.

    Columns: ``id`` (bigint), ``lon``, ``lat``, ``population`` (float8) and
    ``census_code`` as an integer (0 when unknown), so every row has the same
    width and the client can read the binary stream with one numpy call.
    """
    from sqlalchemy import BigInteger, Float, Integer, cast

    from registry.models import PopulationCell as C

    return (
        select(cast(C.id, BigInteger).label("id"), cast(func.ST_X(C.geom), Float).label("lon"),
               cast(func.ST_Y(C.geom), Float).label("lat"), cast(C.population, Float).label("population"),
               func.coalesce(cast(func.nullif(C.census_code, ""), Integer), 0).label("census_code"))
        .where(C.layer_id == int(layer_id))
        .order_by(C.id)
    )


def select_layer_cells(layer_id: int, ids: Sequence[int] | None = None) -> Select:
    """Cells of a layer: id, lon, lat, population, census code, and the cell polygon as GeoJSON if stored."""
    from registry.models import PopulationCell as C

    stmt = select(C.id, func.ST_X(C.geom).label("lon"), func.ST_Y(C.geom).label("lat"), C.population,
                  C.census_code, func.ST_AsGeoJSON(C.cell, 7).label("cell_geojson")).where(C.layer_id == int(layer_id))
    if ids is not None:
        stmt = stmt.where(C.id.in_([int(i) for i in ids]))
    return stmt.order_by(C.id)


def update_layer_census_codes(layer_id: int) -> Update:
    """Give each cell of a layer the code of the census unit containing its centre (NULL outside)."""
    from registry.models import CensusUnit
    from registry.models import PopulationCell as C

    containing = (
        select(CensusUnit.code).where(func.ST_Intersects(CensusUnit.geom, C.geom))
        .order_by(CensusUnit.code).limit(1).scalar_subquery()
    )
    return (update(C).values(census_code=containing).where(C.layer_id == int(layer_id))
            .execution_options(synchronize_session=False))


def select_census_units() -> Select:
    """The census units (code, name, type, 2020 population) with their polygon as WKB."""
    from registry.models import CensusUnit

    return select(CensusUnit.code, CensusUnit.name, CensusUnit.unit_type, CensusUnit.pop_2020,
                  func.ST_AsBinary(CensusUnit.geom).label("wkb")).order_by(CensusUnit.code)


def select_coverage_facilities(kind: str, statuses: Sequence[str] | None = None,
                               equals: dict[str, object] | None = None, capacity_field: str | None = None,
                               created_before: object | None = None, district: str | None = None) -> Select:
    """Facilities of one kind for a coverage analysis: id, name, status, lon, lat, capacity.

    Parameters
    ----------
    kind : str
        Facility kind (its model is joined).
    statuses : sequence of str, optional
        Keep these ``status`` values only.
    equals : dict, optional
        Attribute equality filters (``{"operator_type": "public"}``); ``None``
        as a value matches unknown (NULL).
    capacity_field : str, optional
        Attribute returned as ``capacity`` (NULL when absent).
    created_before : datetime, optional
        Only facilities recorded before this instant (as-of date).
    district : str, optional
        Administrative district adcode (``facility.district_code``).
    """
    from sqlalchemy import Float, cast, null

    from registry.models import KIND_MODELS

    model = KIND_MODELS[kind]
    capacity = cast(getattr(model, capacity_field), Float) if capacity_field else cast(null(), Float)
    stmt = select(model.id, model.name, model.status, func.ST_X(model.geom).label("lon"),
                  func.ST_Y(model.geom).label("lat"), capacity.label("capacity")).where(Facility.kind == kind)
    if hasattr(Facility, "deleted_at"):
        stmt = stmt.where(Facility.deleted_at.is_(None))
    if statuses:
        stmt = stmt.where(Facility.status.in_(list(statuses)))
    for name, value in (equals or {}).items():
        column = getattr(model, name)
        stmt = stmt.where(column.is_(None) if value is None else column == value)
    if created_before is not None:
        stmt = stmt.where(Facility.created_at < created_before)
    if district:
        stmt = stmt.where(Facility.district_code == district)
    return stmt.order_by(model.id)



# --- map data
# Builders used by :mod:`registry.mapdata` for the web maps: one light row per
# facility (no kind attributes), district outlines, and a cheap "data version"
# that changes whenever anything drawn on a map changes.
def _live_facility(stmt: Select) -> Select:
    """Leave soft-deleted facilities out (column added by migration 0006)."""
    if hasattr(Facility, "deleted_at"):
        stmt = stmt.where(Facility.deleted_at.is_(None))
    return stmt


def select_map_facilities(kinds: Sequence[str] = (), ids: Sequence[int] = ()) -> Select:
    """Facilities to draw: id, kind, name, address, district name, status, compliance, lon, lat.

    ``compliance_status`` is NULL (shown as unknown) until the compliance
    column exists (migration 0003).
    """
    from sqlalchemy import String, null

    compliance = getattr(Facility, "compliance_status", None)
    lon, lat = facility_lonlat()
    stmt = (
        select(
            Facility.id, Facility.kind, Facility.name, Facility.address, Facility.district_code,
            District.name.label("district_name"), Facility.status,
            (compliance if compliance is not None else null().cast(String)).label("compliance_status"),
            lon, lat,
        )
        .select_from(Facility)
        .outerjoin(District, District.adcode == Facility.district_code)
        .order_by(Facility.id)
    )
    if kinds:
        stmt = stmt.where(Facility.kind.in_(list(kinds)))
    if ids:
        stmt = stmt.where(Facility.id.in_([int(i) for i in ids]))
    return _live_facility(stmt)


def select_map_districts(level: str = "county", tolerance_deg: float | None = None) -> Select:
    """District outlines as WKB (optionally simplified by ``tolerance_deg`` degrees) with name and type."""
    geom: ColumnElement = District.geom
    if tolerance_deg:
        geom = func.ST_SimplifyPreserveTopology(District.geom, float(tolerance_deg), type_=Geometry)
    return (
        select(District.adcode, District.name, District.unit_type, func.ST_AsBinary(geom).label("wkb"))
        .where(District.level == level)
        .order_by(District.adcode)
    )


def select_map_data_version() -> Select:
    """Count, last change and compliance mix of the live facilities, and the number of districts.

    Any create, edit, soft delete, restore, import or compliance re-run
    changes at least one of these numbers.
    """
    compliance = getattr(Facility, "compliance_status", None)
    columns: list[ColumnElement] = [func.count(Facility.id), func.max(Facility.updated_at), func.max(Facility.id)]
    if compliance is not None:
        columns += [func.count(Facility.id).filter(compliance == code) for code in ("compliant", "non_compliant")]
    districts = select(func.count()).select_from(District).scalar_subquery()
    return _live_facility(select(*columns, districts.label("districts")).select_from(Facility))


def select_compliance_counts() -> Select:
    """Live facilities per (kind, compliance status); the status is NULL until migration 0003."""
    from sqlalchemy import String, null

    compliance = getattr(Facility, "compliance_status", None)
    status = (compliance if compliance is not None else null().cast(String)).label("compliance_status")
    stmt = select(Facility.kind, status, func.count().label("n")).group_by(Facility.kind, status)
    return _live_facility(stmt)


def select_census_populations() -> Select:
    """Census units (districts and functional zones) with their 2020 population."""
    return select(CensusUnit.code, CensusUnit.name, CensusUnit.unit_type, CensusUnit.pop_2020).order_by(
        CensusUnit.code)


# --- compliance
# Builders used by :mod:`registry.compliance_db`: each kind's facilities as flat
# rows for the rule engine (one statement per kind), and the cross-kind
# neighbour pairs of the spatial rules (PK-7, EL-10, KG-7, SR-16) in exact
# geodesic metres, written so the geography GiST indexes serve them.  Every
# statement is Core (no ORM entity): soft-deleted facilities are left out
# explicitly.
def _restrict(stmt: Select, column: ColumnElement, ids: Sequence[int] | None,
              id_range: tuple[int, int] | None) -> Select:
    """Only rows whose ``column`` is in ``ids`` and/or in the half-open range ``id_range`` (lo, hi)."""
    if ids is not None:
        stmt = stmt.where(column.in_(list(ids)))
    if id_range is not None:
        stmt = stmt.where(column >= id_range[0], column < id_range[1])
    return stmt


def _compliance_tables(kind: str) -> tuple[FromClause, FromClause]:
    from registry.models import KIND_MODELS

    return Facility.__table__, KIND_MODELS[kind].__table__


def select_compliance_rows(kind: str, ids: Sequence[int] | None = None, *, census: bool = False,
                           columns: Sequence[str] | None = None, id_range: tuple[int, int] | None = None) -> Select:
    """Live facilities of ``kind`` (or only ``ids``) as flat rows: common columns plus the attributes.

    Every attribute of the kind, or only ``columns``; geometry attributes
    (entrances) are left out.  With ``census`` a column ``census_code`` gives
    the census unit containing the point (NULL outside all of them).
    ``id_range`` (lo, hi) reads one slice of ids (bulk checks go slice by slice).
    """
    f, k = _compliance_tables(kind)
    attrs = [c for c in k.c if c.name != "id" and not isinstance(c.type, Geometry)
             and (columns is None or c.name in columns)]
    cols: list[ColumnElement] = [f.c.id, f.c.kind, f.c.name, f.c.address, f.c.status, f.c.district_code,
                                 f.c.declared_district, f.c.compliance_status, *attrs]
    if census:
        cols.append(
            select(CensusUnit.code).where(func.ST_Intersects(CensusUnit.geom, f.c.geom))
            .order_by(CensusUnit.code).limit(1).scalar_subquery().label("census_code")
        )
    stmt = (select(*cols).select_from(f.join(k, k.c.id == f.c.id))
            .where(f.c.kind == kind, f.c.deleted_at.is_(None)).order_by(f.c.id))
    return _restrict(stmt, f.c.id, ids, id_range)


def _kindergarten_point(use_entrance: bool) -> tuple[ColumnElement, ColumnElement]:
    """The kindergarten point measured to (entrance, else facility point) and whether it is the entrance."""
    from registry.models import Kindergarten

    kg = Kindergarten.__table__
    f = Facility.__table__
    if not use_entrance:
        return f.c.geom, literal(False)
    return func.coalesce(kg.c.entrance, f.c.geom, type_=Geometry), kg.c.entrance.isnot(None)


def select_kindergarten_pairs(
    subject_kind: str,
    metres: float,
    *,
    use_entrance: bool,
    subject_ids: Sequence[int] | None = None,
    kindergarten_ids: Sequence[int] | None = None,
    subject_where: Sequence[ColumnElement] = (),
    id_range: tuple[int, int] | None = None,
) -> Select:
    """Facilities of ``subject_kind`` within ``metres`` of a live kindergarten.

    PK-7 measures to the kindergarten's ``entrance`` (``use_entrance``), falling
    back to the facility point when none is recorded; EL-10 to the facility
    point.  Columns: ``subject_id``, ``neighbour_id``, ``neighbour_name``,
    ``distance_m``, ``at_entrance``.  ``subject_ids`` / ``kindergarten_ids``
    restrict either side (rechecks); ``subject_where`` adds conditions on the
    subject's kind table (e.g. on-street berths only).
    """
    from registry.models import KIND_MODELS, Kindergarten

    f, kg = Facility.__table__, Kindergarten.__table__
    s = Facility.__table__.alias("s")
    sk = KIND_MODELS[subject_kind].__table__
    target, at_entrance = _kindergarten_point(use_entrance)
    stmt = (
        select(
            s.c.id.label("subject_id"), f.c.id.label("neighbour_id"), f.c.name.label("neighbour_name"),
            distance_between_m(s.c.geom, target).label("distance_m"), at_entrance.label("at_entrance"),
        )
        .select_from(f.join(kg, kg.c.id == f.c.id))
        .join(s, within_metres(s.c.geom, target, metres))
        .join(sk, sk.c.id == s.c.id)
        .where(f.c.kind == "kindergarten", f.c.deleted_at.is_(None),
               s.c.kind == subject_kind, s.c.deleted_at.is_(None), *subject_where)
    )
    if kindergarten_ids is not None:
        stmt = stmt.where(f.c.id.in_(list(kindergarten_ids)))
    return _restrict(stmt, s.c.id, subject_ids, id_range)


def select_reference_pairs(
    subject_kind: str,
    layers: Sequence[str],
    metres: float,
    *,
    subject_ids: Sequence[int] | None = None,
    subject_where: Sequence[ColumnElement] = (),
    id_range: tuple[int, int] | None = None,
) -> Select:
    """Facilities of ``subject_kind`` within ``metres`` of a point of the reference ``layers``.

    Columns: ``subject_id``, ``layer``, ``category``, ``neighbour_id`` (the
    reference point), ``neighbour_name``, ``distance_m``.
    """
    from registry.models import KIND_MODELS, ReferencePoint

    r = ReferencePoint.__table__
    s = Facility.__table__.alias("s")
    sk = KIND_MODELS[subject_kind].__table__
    stmt = (
        select(
            s.c.id.label("subject_id"), r.c.layer, r.c.category, r.c.id.label("neighbour_id"),
            r.c.name.label("neighbour_name"), distance_between_m(s.c.geom, r.c.geom).label("distance_m"),
        )
        .select_from(r)
        .join(s, within_metres(s.c.geom, r.c.geom, metres))
        .join(sk, sk.c.id == s.c.id)
        .where(r.c.layer.in_(list(layers)), s.c.kind == subject_kind, s.c.deleted_at.is_(None),
               *subject_where)
    )
    return _restrict(stmt, s.c.id, subject_ids, id_range)


def select_nearest_reference(subject_kind: str, layer: str, subject_ids: Sequence[int] | None = None,
                             id_range: tuple[int, int] | None = None) -> Select:
    """For each live facility of ``subject_kind``, the nearest point of reference ``layer`` (KNN on geography).

    Columns as :func:`select_reference_pairs`.
    """
    from sqlalchemy import true

    from registry.models import ReferencePoint

    r = ReferencePoint.__table__
    s = Facility.__table__.alias("s")
    nearest = (
        select(r.c.id, r.c.layer, r.c.category, r.c.name, r.c.geom)
        .where(r.c.layer == layer)
        .order_by(geography(r.c.geom).op("<->")(geography(s.c.geom)))
        .limit(1)
        .lateral("nearest")
    )
    stmt = (
        select(
            s.c.id.label("subject_id"), nearest.c.layer, nearest.c.category, nearest.c.id.label("neighbour_id"),
            nearest.c.name.label("neighbour_name"),
            distance_between_m(s.c.geom, nearest.c.geom).label("distance_m"),
        )
        .select_from(s.join(nearest, true()))
        .where(s.c.kind == subject_kind, s.c.deleted_at.is_(None))
    )
    return _restrict(stmt, s.c.id, subject_ids, id_range)


def select_reference_layer_counts() -> Select:
    """Points per reference layer (``layer``, ``category``, ``n``, ``synthetic`` points among them)."""
    from registry.models import ReferencePoint

    r = ReferencePoint.__table__
    return (
        select(r.c.layer, r.c.category, func.count().label("n"),
               func.count().filter(r.c.is_synthetic).label("synthetic"))
        .group_by(r.c.layer, r.c.category)
        .order_by(r.c.layer, r.c.category)
    )


def select_facility_kinds(ids: Sequence[int]) -> Select:
    """``id``, ``kind`` and whether it is live, for the facilities in ``ids`` that exist."""
    f = Facility.__table__
    return select(f.c.id, f.c.kind, f.c.deleted_at.is_(None).label("live")).where(f.c.id.in_(list(ids)))


def select_kind_ids(kind: str) -> Select:
    """Ids of the live facilities of ``kind``, ascending (to cut bulk checks into slices)."""
    f = Facility.__table__
    return select(f.c.id).where(f.c.kind == kind, f.c.deleted_at.is_(None)).order_by(f.c.id)
