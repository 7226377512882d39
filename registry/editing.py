"""Creating, editing, deleting (softly), restoring and reverting facilities — every write audited.

Framework-neutral: the web layer (:mod:`registry.web.facility_edit`) and the
CLI hand plain mappings in and get :class:`EditError` (naming the field) out.

Input values are either typed JSON values (API) or strings in the canonical
text form of :mod:`registry.kinds.values` (HTML forms); an empty value or
``None`` means "unknown".  Field names are those of :data:`registry.kinds.COMMON_FIELDS`
(``external_id``, ``name``, ``address``, ``district``, ``lon``, ``lat``, ``status``)
and of the facility's kind; anything else is refused.

Every write also re-checks the compliance rules of the facility and of the
cross-kind neighbours it touches (:func:`registry.compliance_db.recheck`, in the
same transaction, trigger ``create``/``edit``/``delete``/``restore``), so its
``compliance_status`` and findings are current when the caller commits.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import audit
from registry.audit import Actor
from registry.kinds import COMMON_FIELDS, FacilityKind, FieldSpec, FieldType, spec_for
from registry.kinds.values import parse_canonical, points_ewkt
from registry.models import KIND_MODELS, AuditEvent, Facility, User
from registry.softdelete import INCLUDE_DELETED
from registry.spatial import update_facility_districts

MANUAL_SOURCE = "manual"
MAX_TEXT = 500
_COMMON = {f.name: f for f in COMMON_FIELDS}
_COLUMN_OF = {"district": "declared_district"}  # input name -> model attribute
_NOT_REVERTIBLE = {"kind", "source", "district_code", "is_synthetic", "batch_id", "deleted_at"}

DistrictGuard = Callable[[str | None], bool]


class EditError(ValueError):
    """A refused write: what is wrong, the field at fault and the HTTP status to answer with."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


# --------------------------------------------------------------------------- validation
def editable_fields(kind: str) -> dict[str, FieldSpec]:
    """Every input field of ``kind``: the common ones, then the kind's own."""
    return {**_COMMON, **{f.name: f for f in spec_for(kind).fields}}


def _kind(kind: Any) -> str:
    try:
        return FacilityKind(kind).value
    except ValueError:
        allowed = ", ".join(k.value for k in FacilityKind)
        raise EditError(f"unknown kind {kind!r}; expected one of: {allowed}", "kind") from None


def _number(spec: FieldSpec, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EditError(f"{spec.name} must be a number, got {value!r}", spec.name)
    if spec.type is FieldType.INT:
        if isinstance(value, float):
            if not value.is_integer():
                raise EditError(f"{spec.name} must be a whole number, got {value!r}", spec.name)
            value = int(value)
    elif not math.isfinite(value):
        raise EditError(f"{spec.name} must be a finite number", spec.name)
    below = spec.min_value is not None and (
        value < spec.min_value or (spec.min_exclusive and value == spec.min_value))
    if below:
        sign = ">" if spec.min_exclusive else "≥"
        raise EditError(f"{spec.name} must be {sign} {spec.min_value:g}, got {value!r}", spec.name)
    return float(value) if spec.type is FieldType.FLOAT else value


def _points(spec: FieldSpec, value: Any) -> list[tuple[float, float]]:
    if isinstance(value, str):
        text = value
        try:
            points = parse_canonical(spec, text)
        except ValueError:
            raise EditError(f"{spec.name} must be 'lon,lat' pairs separated by ';', got {value!r}",
                            spec.name) from None
    elif isinstance(value, list):
        try:
            points = [(float(p[0]), float(p[1])) for p in value]
        except (TypeError, ValueError, IndexError):
            raise EditError(f"{spec.name} must be a list of [lon, lat] pairs", spec.name) from None
    else:
        raise EditError(f"{spec.name} must be 'lon,lat;lon,lat' or a list of [lon, lat]", spec.name)
    if not points:
        raise EditError(f"{spec.name} has no point", spec.name)
    for lon, lat in points:
        _check_lonlat(spec.name, lon, lat)
    return points


def _check_lonlat(name: str, lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise EditError(f"{name}: longitude {lon!r} is outside -180..180", name)
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise EditError(f"{name}: latitude {lat!r} is outside -90..90", name)


def clean_value(kind: str, spec: FieldSpec, value: Any) -> Any:
    """One input value checked and converted to what the model stores (``None``: unknown)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if spec.name == "status":
        allowed = [c.value for c in spec_for(kind).statuses]
        if not isinstance(value, str) or value.strip() not in allowed:
            raise EditError(f"status {value!r} is not one of {allowed}", "status")
        return value.strip()
    if spec.type is FieldType.POINTS:
        return _points(spec, value)
    if isinstance(value, str) and spec.type is not FieldType.STR:
        try:
            value = parse_canonical(spec, value)
        except ValueError as exc:
            raise EditError(f"{spec.name}: {exc}", spec.name) from None
    if spec.type is FieldType.STR:
        if not isinstance(value, str):
            raise EditError(f"{spec.name} must be text, got {value!r}", spec.name)
        value = value.strip()
        if len(value) > MAX_TEXT:
            raise EditError(f"{spec.name} is longer than {MAX_TEXT} characters", spec.name)
        return value
    if spec.type in (FieldType.INT, FieldType.FLOAT):
        return _number(spec, value)
    if spec.type is FieldType.BOOL:
        if not isinstance(value, bool):
            raise EditError(f"{spec.name} must be true or false, got {value!r}", spec.name)
        return value
    if spec.type is FieldType.ENUM:
        allowed = [c.value for c in spec.choices]
        if not isinstance(value, str) or (allowed and value not in allowed):
            raise EditError(f"{spec.name} {value!r} is not one of {allowed}", spec.name)
        return value
    if spec.type is FieldType.DATE:
        if not isinstance(value, dt.date):
            raise EditError(f"{spec.name} must be a date YYYY-MM-DD, got {value!r}", spec.name)
        return value
    if spec.type is FieldType.TIME:
        if not isinstance(value, dt.time):
            raise EditError(f"{spec.name} must be a time HH:MM, got {value!r}", spec.name)
        return value
    raise EditError(f"{spec.name}: unsupported field type", spec.name)  # pragma: no cover


def validate(kind: str, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Check ``data`` against the kind's field specs; return ``{input name: clean value}``.

    Raises
    ------
    EditError
        Naming the first unknown field or bad value (``status`` 400).
    """
    kind = _kind(kind)
    fields = editable_fields(kind)
    for name in data:
        if name not in fields:
            raise EditError(f"unknown field {name!r} for kind {kind}", name)
    clean = {name: clean_value(kind, fields[name], value) for name, value in data.items()}
    if creating:
        for required in ("name", "lon", "lat"):
            if clean.get(required) is None:
                raise EditError(f"{required} is required", required)
    elif "name" in clean and clean["name"] is None:
        raise EditError("name cannot be empty", "name")
    for coord in ("lon", "lat"):
        if coord in clean and clean[coord] is None:
            raise EditError(f"{coord} cannot be empty (a facility needs a location)", coord)
    if clean.get("lon") is not None:
        _check_lonlat("lon", clean["lon"], 0.0)
    if clean.get("lat") is not None:
        _check_lonlat("lat", 0.0, clean["lat"])
    return clean


# --------------------------------------------------------------------------- applying
def _is_multi(model: type[Facility], name: str) -> bool:
    return getattr(model.__table__.c[name].type, "geometry_type", "") == "MULTIPOINT"


def _apply(facility: Facility, clean: Mapping[str, Any]) -> None:
    model = type(facility)
    kind_fields = {f.name: f for f in spec_for(facility.kind).fields}
    for name, value in clean.items():
        if name in ("lon", "lat"):
            continue
        spec = kind_fields.get(name)
        if spec is not None and spec.type is FieldType.POINTS:
            value = None if value is None else points_ewkt(value, multi=_is_multi(model, name))
        setattr(facility, _COLUMN_OF.get(name, name), value)
    if "lon" in clean or "lat" in clean:
        old_lon, old_lat = audit._lonlat(facility.geom)
        lon = clean.get("lon", old_lon)
        lat = clean.get("lat", old_lat)
        facility.geom = WKTElement(f"POINT({lon!r} {lat!r})", srid=4326)


def _check_external_id(session: Session, facility: Facility) -> None:
    if not facility.external_id:
        return
    clash = session.scalar(
        select(Facility.id).where(Facility.source == facility.source, Facility.external_id == facility.external_id,
                                  Facility.id != (facility.id or -1))
        .execution_options(**{INCLUDE_DELETED: True})
    )
    if clash is not None:
        raise EditError(f"external_id {facility.external_id!r} is already used by facility {clash} "
                        f"(source {facility.source!r})", "external_id", 409)


def _locate(session: Session, facility: Facility) -> None:
    session.flush()
    session.execute(update_facility_districts([facility.id]))
    session.refresh(facility)


def _guard(district_guard: DistrictGuard | None, district_code: str | None) -> None:
    if district_guard is not None and not district_guard(district_code):
        raise EditError(f"you may only edit facilities of your own district (this one: {district_code or 'none'})",
                        "district", 403)


def recheck_compliance(session: Session, facility: Facility, trigger: str) -> None:
    """Re-evaluate the compliance rules for ``facility`` (and its neighbours) after a write."""
    from registry.compliance_db import recheck

    recheck(session, [facility.id], trigger=trigger)


_TRIGGER = {"update": "edit", "revert": "edit"}


def get_facility(session: Session, facility_id: int, include_deleted: bool = False) -> Facility | None:
    """The facility with ``facility_id`` (soft-deleted ones only when asked)."""
    return session.get(Facility, facility_id, execution_options={INCLUDE_DELETED: include_deleted})


def create_facility(session: Session, actor: Actor, kind: str, data: Mapping[str, Any], comment: str | None = None,
                    district_guard: DistrictGuard | None = None) -> Facility:
    """Create a facility of ``kind`` from ``data`` (source ``manual``) and audit it."""
    kind = _kind(kind)
    clean = validate(kind, data, creating=True)
    facility = KIND_MODELS[kind](kind=kind, source=MANUAL_SOURCE, is_synthetic=False)
    _apply(facility, clean)
    _check_external_id(session, facility)
    session.add(facility)
    _locate(session, facility)
    _guard(district_guard, facility.district_code)
    audit.record_change(session, actor, "create", None, facility, comment)
    recheck_compliance(session, facility, "create")
    return facility


def update_facility(session: Session, actor: Actor, facility: Facility, data: Mapping[str, Any],
                    comment: str | None = None, district_guard: DistrictGuard | None = None,
                    action: str = "update") -> AuditEvent | None:
    """Change the given fields of ``facility``; return the audit event (``None``: nothing changed)."""
    if facility.deleted_at is not None:
        raise EditError("the facility is deleted; restore it first", "id", 409)
    _guard(district_guard, facility.district_code)
    clean = validate(facility.kind, data, creating=False)
    before = audit.snapshot(facility)
    _apply(facility, clean)
    _check_external_id(session, facility)
    _locate(session, facility)
    _guard(district_guard, facility.district_code)
    event = audit.record_change(session, actor, action, before, facility, comment)
    if event is not None:
        recheck_compliance(session, facility, _TRIGGER.get(action, action))
    return event


def delete_facility(session: Session, actor: Actor, facility: Facility, comment: str | None = None,
                    district_guard: DistrictGuard | None = None) -> AuditEvent:
    """Soft-delete ``facility`` (it disappears from every read; :func:`restore_facility` brings it back)."""
    if facility.deleted_at is not None:
        raise EditError("the facility is already deleted", "id", 409)
    _guard(district_guard, facility.district_code)
    before = audit.snapshot(facility)
    facility.deleted_at = dt.datetime.now(dt.UTC)
    session.flush()
    event = audit.record_change(session, actor, "delete", before, facility, comment)
    assert event is not None
    recheck_compliance(session, facility, "delete")
    return event


def restore_facility(session: Session, actor: Actor, facility: Facility, comment: str | None = None,
                     district_guard: DistrictGuard | None = None) -> AuditEvent:
    """Undo a soft delete."""
    if facility.deleted_at is None:
        raise EditError("the facility is not deleted", "id", 409)
    _guard(district_guard, facility.district_code)
    before = audit.snapshot(facility)
    facility.deleted_at = None
    session.flush()
    event = audit.record_change(session, actor, "restore", before, facility, comment)
    assert event is not None
    recheck_compliance(session, facility, "restore")
    return event


def revert_event(session: Session, actor: Actor, facility: Facility, event: AuditEvent, comment: str | None = None,
                 district_guard: DistrictGuard | None = None) -> AuditEvent | None:
    """Put back the *before* values of one update (or import) event of ``facility``.

    A deletion is undone with :func:`restore_facility`, a restore with
    :func:`delete_facility`; a creation by deleting the facility.
    """
    if event.facility_id != facility.id:
        raise EditError(f"event {event.id} is not about facility {facility.id}", "event_id", 404)
    if event.action not in ("update", "import", "revert"):
        raise EditError(f"a {event.action!r} event cannot be reverted field by field; "
                        "use delete or restore instead", "event_id", 409)
    data: dict[str, Any] = {}
    fields = editable_fields(facility.kind)
    reverse_columns = {v: k for k, v in _COLUMN_OF.items()}
    for key, (before, _after) in event.changes.items():
        name = reverse_columns.get(key, key)
        if key in _NOT_REVERTIBLE or name not in fields:
            continue
        if before is None and name in ("name", "lon", "lat"):
            continue
        data[name] = before
    why = comment or f"revert of event {event.id}"
    return update_facility(session, actor, facility, data, why, district_guard, action="revert")


def district_guard_for(user: User | None) -> DistrictGuard | None:
    """The district limit of ``user`` as a guard function (``None``: no limit)."""
    from registry.auth.permissions import can_edit_district

    if user is None or user.role == "admin" or not user.district_code:
        return None
    return lambda code: can_edit_district(user, code)


def district_limit_of(user: User | None) -> str | None:
    """The district a user's writes are limited to (``None``: anywhere; admins are never limited)."""
    if user is None or user.role == "admin" or not user.district_code:
        return None
    return user.district_code


def batch_outside_district(conn: Any, batch_id: int, district_code: str) -> int:
    """How many facilities an import batch wrote (or, for updates, took over) outside ``district_code``.

    Counts the batch's facilities whose district is not ``district_code`` now, and
    those it updated whose district *before* the import was another one — a clerk
    limited to one district may neither import into nor pull records out of others.
    """
    from sqlalchemy import text

    return int(conn.execute(text("""
        SELECT (SELECT count(*) FROM facility WHERE batch_id = :b AND district_code IS DISTINCT FROM :d)
             + (SELECT count(*) FROM import_change WHERE batch_id = :b
                 AND (before_facility ->> 'district_code') IS DISTINCT FROM :d)"""),
        {"b": batch_id, "d": district_code}).scalar_one())


def district_refusal(n: int, district_code: str) -> tuple[str, str]:
    """The (zh, en) message refusing a batch with ``n`` facilities outside the user's district."""
    zh = f"您只能导入或回滚本区县（{district_code}）的设施，本批次有 {n} 条记录在其他区县或未定位。"
    en = (f"you may only import or roll back facilities of your district {district_code}: "
          f"{n} record(s) of this batch are in another district or none")
    return zh, en
