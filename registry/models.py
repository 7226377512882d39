"""Typed ORM models (SQLAlchemy 2.0 + GeoAlchemy2).

One shared :class:`Facility` row per facility (joined-table inheritance with
``kind`` as discriminator) and one table per kind with its real, typed
attribute columns.  Geometries are stored in EPSG:4326 (WGS-84; CGCS2000
differs by centimetres).  Metric distances are computed on ``geography`` and
served by a functional GiST index on ``geography(geom)`` (see the initial
migration), so radius and nearest queries are both exact and index-assisted.

Attribute names equal the field names in :mod:`registry.kinds`; the test
``tests/unit/test_kinds.py`` keeps the two in step.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB as JSONB_TYPE
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326
"""Storage CRS of every geometry column (WGS-84)."""

METRIC_SRID = 4547
"""CGCS2000 / 3-degree Gauss-Kruger CM 114E: the metric projection covering Zhengzhou."""

PG_INTEGER_MAX = 2**31 - 1
"""Largest value of a PostgreSQL ``integer``, the type of every id column."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Column aliases (nullable unless said otherwise: missing data is "unknown").
intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
opt_str = Annotated[str | None, mapped_column(Text)]
opt_int = Annotated[int | None, mapped_column(Integer)]
opt_float = Annotated[float | None, mapped_column(Float)]
opt_bool = Annotated[bool | None, mapped_column(Boolean)]
opt_date = Annotated[dt.date | None, mapped_column(Date)]
opt_time = Annotated[dt.time | None, mapped_column(Time)]
enum_str = Annotated[str | None, mapped_column(String(32))]
created_ts = Annotated[dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now())]


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable Alembic names)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _facility_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("facility.id", ondelete="CASCADE"), primary_key=True)


# --------------------------------------------------------------------------- reference layers
class District(Base):
    """A county-level administrative unit (12) or the city outline (level ``city``)."""

    __tablename__ = "district"

    adcode: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    level: Mapped[str] = mapped_column(String(16))  # city | county
    unit_type: Mapped[str | None] = mapped_column(String(16))  # urban_district | county | county_city
    area_km2: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class CensusUnit(Base):
    """One of the 15 county-level statistical units of the 2020 census, with its population."""

    __tablename__ = "census_unit"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    unit_type: Mapped[str] = mapped_column(String(32))  # admin_county | functional_zone
    pop_2020: Mapped[int] = mapped_column(BigInteger)
    male: Mapped[opt_int]
    female: Mapped[opt_int]
    urban_pop: Mapped[opt_int]
    rural_pop: Mapped[opt_int]
    households: Mapped[opt_int]
    pct_0_14: Mapped[opt_float]
    pct_15_64: Mapped[opt_float]
    pct_65plus: Mapped[opt_float]
    area_km2: Mapped[opt_float]
    source: Mapped[opt_str]
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class PopulationLayer(Base):
    """A named population layer (census totals, a modelled grid, an imported raster...)."""

    __tablename__ = "population_layer"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(Text, unique=True)
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    crs: Mapped[str] = mapped_column(Text, default="EPSG:4326")
    geometry_kind: Mapped[str] = mapped_column(String(16))  # cells | points
    cell_size_m: Mapped[opt_float]
    is_modelled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[opt_str]
    created_at: Mapped[created_ts]

    cells: Mapped[list[PopulationCell]] = relationship(back_populates="layer", cascade="all, delete-orphan",
                                                       passive_deletes=True)


class PopulationCell(Base):
    """A cell (or point) of a population layer: its centre point, optional polygon and count."""

    __tablename__ = "population_cell"
    __table_args__ = (
        Index("ix_population_cell_layer_id", "layer_id"),
        Index("ix_population_cell_geom_geog", text("geography(geom)"), postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("population_layer.id", ondelete="CASCADE"))
    population: Mapped[float] = mapped_column(Float)
    census_code: Mapped[str | None] = mapped_column(String(6))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))
    cell: Mapped[Any | None] = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=False), nullable=True)

    layer: Mapped[PopulationLayer] = relationship(back_populates="cells")


class ImportBatch(Base):
    """One import of a facility file (or the sample load): provenance and counts."""

    __tablename__ = "import_batch"

    id: Mapped[intpk]
    source: Mapped[str] = mapped_column(Text)
    filename: Mapped[opt_str]
    checksum: Mapped[str | None] = mapped_column(String(64))
    encoding: Mapped[str | None] = mapped_column(String(32))
    crs: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[opt_str]
    created_at: Mapped[created_ts]
    n_created: Mapped[int] = mapped_column(Integer, default=0)
    n_updated: Mapped[int] = mapped_column(Integer, default=0)
    n_rejected: Mapped[int] = mapped_column(Integer, default=0)
    n_flagged: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="committed")  # committed | rolled_back
    note: Mapped[opt_str]
    # Added by the importer (migration 0004_import).
    n_rows: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    n_needs_coordinates: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    n_warnings: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    mode: Mapped[str | None] = mapped_column(String(16))  # reject-file | import-valid
    file_format: Mapped[str | None] = mapped_column(String(8))  # csv | xlsx
    rolled_back_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    rolled_back_by: Mapped[opt_str]


# --------------------------------------------------------------------------- facilities
class Facility(Base):
    """The record every facility shares, whatever its kind."""

    __tablename__ = "facility"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_facility_source_external_id"),
        Index("ix_facility_kind", "kind"),
        Index("ix_facility_district_code", "district_code"),
        Index("ix_facility_geom_geog", text("geography(geom)"), postgresql_using="gist"),
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text, default="manual")
    external_id: Mapped[opt_str]
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[opt_str]
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.adcode"))
    declared_district: Mapped[opt_str]
    status: Mapped[enum_str]
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))
    is_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="SET NULL"))
    created_at: Mapped[created_ts]
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                    onupdate=func.now())
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # soft delete (0006)
    # compliant | non_compliant | unknown; NULL until first checked (0003, registry.compliance_db)
    compliance_status: Mapped[str | None] = mapped_column(String(16))

    district: Mapped[District | None] = relationship(lazy="joined")
    batch: Mapped[ImportBatch | None] = relationship()

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "facility"}


class Museum(Facility):
    """博物馆 — attributes of 郑政文〔2019〕89号."""

    __tablename__ = "museum"
    __mapper_args__ = {"polymorphic_identity": "museum"}

    id: Mapped[int] = _facility_fk()
    ownership: Mapped[enum_str]
    category: Mapped[enum_str]
    grade: Mapped[enum_str]
    free_admission: Mapped[opt_bool]
    cluster: Mapped[opt_str]
    opened_year: Mapped[opt_int]
    annual_exhibitions: Mapped[opt_int]
    annual_visitors: Mapped[opt_int]
    fire_security_ok: Mapped[opt_bool]
    storage_equipment_ok: Mapped[opt_bool]
    environment_monitoring_ok: Mapped[opt_bool]
    display_ok: Mapped[opt_bool]


class StudyRoom(Facility):
    """城市书房 — attributes of 郑政文〔2019〕92号 and its 建设导则."""

    __tablename__ = "study_room"
    __mapper_args__ = {"polymorphic_identity": "study_room"}

    id: Mapped[int] = _facility_fk()
    city_number: Mapped[opt_str]
    floor_area_m2: Mapped[opt_float]
    seats: Mapped[opt_int]
    volumes: Mapped[opt_int]
    opens_at: Mapped[opt_time]
    closes_at: Mapped[opt_time]
    open_every_day: Mapped[opt_bool]
    opened_date: Mapped[opt_date]
    annual_renewal_pct: Mapped[opt_float]
    video_surveillance: Mapped[opt_bool]
    access_control: Mapped[opt_bool]
    security_networked: Mapped[opt_bool]
    rfid: Mapped[opt_bool]
    self_service_machine: Mapped[opt_bool]
    ebook_machine: Mapped[opt_bool]
    library_interop: Mapped[opt_bool]
    bandwidth_mbps: Mapped[opt_int]
    wifi: Mapped[opt_bool]
    has_water: Mapped[opt_bool]
    has_power: Mapped[opt_bool]
    has_network: Mapped[opt_bool]
    glass_box: Mapped[opt_bool]
    own_toilet: Mapped[opt_bool]
    tenure: Mapped[enum_str]
    title_clear: Mapped[opt_bool]
    lease_years: Mapped[opt_float]
    air_conditioning: Mapped[opt_bool]
    drinking_water: Mapped[opt_bool]
    first_aid_kit: Mapped[opt_bool]
    reading_glasses: Mapped[opt_bool]
    umbrellas: Mapped[opt_bool]
    accessible: Mapped[opt_bool]
    damp_fire_protection: Mapped[opt_bool]
    occupies_road_space: Mapped[opt_bool]
    unified_logo: Mapped[opt_bool]
    annual_visits: Mapped[opt_int]
    loans_per_reader: Mapped[opt_float]
    activities_per_year: Mapped[opt_int]
    satisfaction_pct: Mapped[opt_float]


class Kindergarten(Facility):
    """幼儿园 — attributes of 郑政办〔2019〕31号 and 郑政办〔2018〕69号."""

    __tablename__ = "kindergarten"
    __table_args__ = (Index("ix_kindergarten_entrance_geog", text("geography(entrance)"), postgresql_using="gist"),)
    __mapper_args__ = {"polymorphic_identity": "kindergarten"}

    id: Mapped[int] = _facility_fk()
    operator_type: Mapped[enum_str]
    residential_supporting: Mapped[opt_bool]
    supporting_stage: Mapped[enum_str]
    handed_over_date: Mapped[opt_date]
    licensed: Mapped[opt_bool]
    disposition: Mapped[enum_str]
    disposition_date: Mapped[opt_date]
    operating_licence: Mapped[opt_bool]
    legal_person_registered: Mapped[opt_bool]
    serves_meals: Mapped[opt_bool]
    food_licence: Mapped[opt_bool]
    health_evaluation: Mapped[opt_bool]
    places: Mapped[opt_int]
    enrolment: Mapped[opt_int]
    guards: Mapped[opt_bool]
    anti_ramming: Mapped[opt_bool]
    anti_ramming_installable: Mapped[opt_bool]
    entrance_video: Mapped[opt_bool]
    closed_management: Mapped[opt_bool]
    alarm_linked: Mapped[opt_bool]
    entrance: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=True)


class Elevator(Facility):
    """电梯 — attributes of 市政府令第221号."""

    __tablename__ = "elevator"
    __mapper_args__ = {"polymorphic_identity": "elevator"}

    id: Mapped[int] = _facility_fk()
    registration_code: Mapped[opt_str]
    registered: Mapped[opt_bool]
    modified: Mapped[opt_bool]
    re_registered: Mapped[opt_bool]
    elevator_type: Mapped[enum_str]
    owner: Mapped[opt_str]
    user_unit: Mapped[opt_str]
    maintenance_unit: Mapped[opt_str]
    maintenance_qualified: Mapped[opt_bool]
    maintenance_subcontracted: Mapped[opt_bool]
    records_kept_years: Mapped[opt_float]
    records_confirmed: Mapped[opt_bool]
    last_inspection_date: Mapped[opt_date]
    inspection_result: Mapped[enum_str]
    installation_date: Mapped[opt_date]
    design_life_years: Mapped[opt_int]
    faults_12m: Mapped[opt_int]
    disaster_exposure: Mapped[opt_str]
    disaster_date: Mapped[opt_date]
    last_assessment_date: Mapped[opt_date]
    assessment_posted: Mapped[opt_bool]
    monitoring_device: Mapped[opt_bool]
    platform_connected: Mapped[opt_bool]
    emergency_alarm_ok: Mapped[opt_bool]
    notices_posted: Mapped[opt_bool]
    liability_insurance: Mapped[opt_bool]
    safety_manager_on_duty: Mapped[opt_bool]
    suspension_reason_posted: Mapped[opt_bool]
    building_type: Mapped[opt_str]
    public_gathering: Mapped[opt_bool]
    private_single_family: Mapped[opt_bool]


class ParkingLot(Facility):
    """停车场 — attributes of 郑政〔2019〕7号 and the 135号 checklist."""

    __tablename__ = "parking_lot"
    __mapper_args__ = {"polymorphic_identity": "parking_lot"}

    id: Mapped[int] = _facility_fk()
    parking_type: Mapped[enum_str]
    structure: Mapped[enum_str]
    operator: Mapped[opt_str]
    spaces: Mapped[opt_int]
    ev_spaces: Mapped[opt_int]
    ev_chargers: Mapped[opt_int]
    accessible_spaces: Mapped[opt_int]
    operating: Mapped[opt_bool]
    licence_date: Mapped[opt_date]
    filing_date: Mapped[opt_date]
    fees: Mapped[opt_str]
    hours: Mapped[opt_str]
    platform_connected: Mapped[opt_bool]
    has_sign: Mapped[opt_bool]
    hard_surface: Mapped[opt_bool]
    markings: Mapped[opt_bool]
    wheel_stops: Mapped[opt_bool]
    ventilation_lighting_drainage: Mapped[opt_bool]
    entrances_compliant: Mapped[opt_bool]
    cctv: Mapped[opt_bool]
    access_control: Mapped[opt_bool]
    plate_recognition: Mapped[opt_bool]
    fire_equipment: Mapped[opt_bool]
    fire_lanes_clear: Mapped[opt_bool]
    closure_notice_given: Mapped[opt_bool]
    entrance_sign_complete: Mapped[opt_bool]
    mechanical_inspected: Mapped[opt_bool]
    mechanical_inspection_date: Mapped[opt_date]
    fees_displayed: Mapped[opt_bool]
    tax_invoices: Mapped[opt_bool]
    mixed_parking: Mapped[opt_bool]
    road_class: Mapped[enum_str]
    on_sidewalk_or_green: Mapped[opt_bool]
    near_manhole: Mapped[opt_bool]
    on_fire_or_emergency_lane: Mapped[opt_bool]
    entrances: Mapped[Any | None] = mapped_column(Geometry("MULTIPOINT", srid=SRID, spatial_index=True),
                                                  nullable=True)


KIND_MODELS: dict[str, type[Facility]] = {
    "museum": Museum,
    "study_room": StudyRoom,
    "parking_lot": ParkingLot,
    "elevator": Elevator,
    "kindergarten": Kindergarten,
}
"""Model class per kind identifier (the values of :class:`registry.kinds.FacilityKind`)."""


# --------------------------------------------------------------------------- import history (0004_import)
class ImportChange(Base):
    """Before-image of a facility that an import batch *updated*, so a rollback restores it exactly.

    ``before_facility`` / ``before_detail`` are ``to_jsonb`` of the ``facility`` and kind-table rows with
    geometries as hex EWKB.  Facilities a batch *created* carry its ``batch_id`` and need no image.
    """

    __tablename__ = "import_change"

    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), primary_key=True)
    facility_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    before_facility: Mapped[dict[str, Any]] = mapped_column(JSONB_TYPE)
    before_detail: Mapped[dict[str, Any]] = mapped_column(JSONB_TYPE)
    previous_batch_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ImportReport(Base):
    """The error report of a batch (gzip of the CSV the clerk downloads), and its issues as JSON."""

    __tablename__ = "import_report"

    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), primary_key=True)
    report_csv_gz: Mapped[bytes | None] = mapped_column(LargeBinary)
    issues: Mapped[list[Any]] = mapped_column(JSONB_TYPE, default=list)


class ReviewFlag(Base):
    """A record to look at: a near-duplicate of another facility, or a point outside Zhengzhou."""

    __tablename__ = "review_flag"
    __table_args__ = (Index("ix_review_flag_status", "status"),)

    id: Mapped[intpk]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id", ondelete="CASCADE"), index=True)
    other_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))  # near_duplicate | outside_city
    similarity: Mapped[opt_float]
    distance_m: Mapped[opt_float]
    detail: Mapped[opt_str]
    status: Mapped[str] = mapped_column(String(16), default="open", server_default=text("'open'"))
    created_at: Mapped[created_ts]


# --------------------------------------------------------------------------- accounts and audit (0006)
class User(Base):
    """A person who signs in: role from :mod:`registry.auth.permissions`, password hashed (argon2id)."""

    __tablename__ = "app_user"  # "user" is a reserved word in PostgreSQL

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)  # stored lower-case
    display_name: Mapped[opt_str]
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))  # viewer | analyst | clerk | admin
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.adcode"))  # clerk limited to a district
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[created_ts]
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token of the API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created_ts]
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """One sign-in attempt (kept a day) for throttling across worker processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_created_at", "username", "created_at"),
        Index("ix_login_attempt_remote_addr_created_at", "remote_addr", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[created_ts]


class AuditEvent(Base):
    """Who changed what, when and why: per-field before/after values in ``changes``.

    ``facility_id`` and ``batch_id`` carry no foreign key on purpose: the trail
    outlives the rows it describes (a rolled-back import removes its facilities).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_facility_id_created_at", "facility_id", "created_at"),
        Index("ix_audit_event_batch_id", "batch_id"),
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(8))  # web | api | cli | system
    action: Mapped[str] = mapped_column(String(32))  # create | update | delete | restore | import | rollback | ...
    entity_type: Mapped[str] = mapped_column(String(32))  # facility | import_batch | user | api_token
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    facility_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(32))
    batch_id: Mapped[int | None] = mapped_column(Integer)
    # {field: [before, after]} in the canonical form of registry.audit.snapshot
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB_TYPE, default=dict, server_default=text("'{}'::jsonb"))
    comment: Mapped[opt_str]
    remote_addr: Mapped[str | None] = mapped_column(String(64))


from registry import softdelete as _softdelete  # noqa: E402,F401  (hides soft-deleted facilities from ORM reads)


# --------------------------------------------------------------------------- coverage runs (0005)
from sqlalchemy.dialects.postgresql import JSONB as _COVERAGE_JSONB  # noqa: E402


class CoverageRun(Base):
    """A saved coverage, what-if or site-selection analysis: its parameters and results.

    ``params`` holds everything needed to run it again (kind, filters, radii,
    population layer, as-of date, solver, candidates); ``results`` the figures
    as computed then (city, per census unit, hot spots, chosen sites).
    """

    __tablename__ = "coverage_run"
    __table_args__ = (Index("ix_coverage_run_kind_created_at", "kind", "created_at"),)

    id: Mapped[intpk]
    analysis: Mapped[str] = mapped_column(String(16))  # coverage | whatif | site_selection
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[opt_str]
    layer_name: Mapped[str] = mapped_column(Text)
    layer_id: Mapped[int | None] = mapped_column(ForeignKey("population_layer.id", ondelete="SET NULL"))
    radii_m: Mapped[list[float]] = mapped_column(_COVERAGE_JSONB, default=list)
    as_of: Mapped[dt.date] = mapped_column(Date)
    solver: Mapped[str | None] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(_COVERAGE_JSONB)
    results: Mapped[dict[str, Any]] = mapped_column(_COVERAGE_JSONB)
    created_by: Mapped[opt_str]
    created_at: Mapped[created_ts]


# --------------------------------------------------------------------------- compliance (0003)
from sqlalchemy import SmallInteger  # noqa: E402
from sqlalchemy.dialects.postgresql import ARRAY as _ARRAY  # noqa: E402


class ComplianceRun(Base):
    """One evaluation of the compliance rules: a full check, a check of some kinds, or a recheck.

    ``as_of`` is the date the time rules were judged at; ``started_at`` /
    ``finished_at`` when it ran.  ``layers`` lists the reference layers that
    were searched (PK-7, KG-7, SR-16).
    """

    __tablename__ = "compliance_run"

    id: Mapped[intpk]
    scope: Mapped[str] = mapped_column(String(16))  # full | kinds | recheck
    kinds: Mapped[list[str]] = mapped_column(JSONB_TYPE, default=list, server_default=text("'[]'::jsonb"))
    trigger: Mapped[str | None] = mapped_column(String(32))  # cli | import | edit | sample | reference | api
    as_of: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[created_ts]
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[opt_float]
    n_facilities: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    n_findings: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    layers: Mapped[dict[str, Any]] = mapped_column(JSONB_TYPE, default=dict, server_default=text("'{}'::jsonb"))


class ComplianceFinding(Base):
    """The verdict of one rule on one subject, as stored by :mod:`registry.compliance_db`.

    Facility findings carry ``facility_id`` (and the facility's district and
    kind, copied so that summaries need no join); district findings carry the
    census unit code in ``district_code``, city findings ``410100``.
    ``neighbour_ids`` lists the facilities a spatial finding names (the
    kindergartens of PK-7 and EL-10), so that a recheck finds the neighbours
    a moved or deleted facility used to touch.  Citation and severity come
    from the rule catalogue (:data:`registry.compliance.RULES`).
    """

    __tablename__ = "compliance_finding"
    __table_args__ = (
        Index("ix_compliance_finding_facility_id", "facility_id"),
        Index("ix_compliance_finding_rule_id_verdict", "rule_id", "verdict"),
        Index("ix_compliance_finding_neighbour_ids", "neighbour_ids", postgresql_using="gin",
              postgresql_where=text("neighbour_ids IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)  # compliance_run.id (no FK: bulk writes stay cheap)
    subject_type: Mapped[str] = mapped_column(String(16))  # facility | district | city
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id", ondelete="CASCADE"))
    district_code: Mapped[str | None] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str] = mapped_column(String(24))
    seq: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    verdict: Mapped[str] = mapped_column(String(16))  # pass | fail | unknown | not_applicable | flag
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    related: Mapped[list[Any] | None] = mapped_column(JSONB_TYPE)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONB_TYPE)
    neighbour_ids: Mapped[list[int] | None] = mapped_column(_ARRAY(Integer))
    as_of: Mapped[dt.date] = mapped_column(Date)


class ReferencePoint(Base):
    """A point of a reference layer the spatial rules search (PK-7, KG-7, SR-16): a school entrance, a bus stop...

    ``layer`` is one of :data:`registry.reference_layers.LAYERS`; ``category``
    refines it where the layer mixes categories (venues: ``entertainment`` or
    ``internet_cafe``).
    """

    __tablename__ = "reference_point"
    __table_args__ = (
        Index("ix_reference_point_layer", "layer"),
        Index("ix_reference_point_geom_geog", text("geography(geom)"), postgresql_using="gist"),
    )

    id: Mapped[intpk]
    layer: Mapped[str] = mapped_column(String(32))
    name: Mapped[opt_str]
    category: Mapped[str | None] = mapped_column(String(32))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))
    source: Mapped[opt_str]
    is_synthetic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[created_ts]
