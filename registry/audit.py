"""The audit trail: who changed what, when, and why — per field, before and after.

Other modules call three functions, inside the same transaction as the change:

* :func:`record_change` — one facility created, updated, deleted, restored,
  imported or rolled back.  Take ``before = snapshot(facility)`` *before*
  changing the row; pass the facility (or a later snapshot) as ``after``::

      before = audit.snapshot(fac)
      fac.name = "新名称"
      session.flush()
      audit.record_change(session, actor, "update", before, fac, comment="typo")

* :func:`record_changes` — the same for many facilities at once (an import),
  written with one multi-row INSERT;
* :func:`record_batch_event` — an event about a whole import batch (``import``,
  ``rollback``), with counts.

Values are stored in a JSON-ready canonical form (:func:`snapshot`): strings,
numbers and booleans as they are, dates ISO, times ``HH:MM``, point lists
``lon,lat;lon,lat``, coordinates as ``lon``/``lat`` rounded to 1e-7 degree.
``changes`` maps each changed field to ``[before, after]`` (``None`` = unknown
or absent).  This module is framework-neutral: the web layer builds the
:class:`Actor` from the request (:func:`registry.auth.identity.request_actor`).
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from registry.kinds import KIND_SPECS, FacilityKind, FieldType
from registry.kinds.values import format_canonical
from registry.models import AuditEvent, Facility, ImportBatch, User

ACTIONS = ("create", "update", "delete", "restore", "import", "rollback", "revert")
"""Facility and batch actions (user administration adds ``user.*`` actions)."""

Snapshot = Mapping[str, Any]

COMMON_KEYS = ("kind", "source", "external_id", "name", "address", "declared_district", "district_code",
               "status", "lon", "lat", "is_synthetic", "batch_id", "deleted_at")
"""Fields of the shared facility record kept in a snapshot (kind fields follow)."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a user name (or ``system``/``cli:<os user>``), the user's id, and through what.

    Parameters
    ----------
    name : str
        Shown in the history.
    user_id : int or None
        The :class:`~registry.models.User` row, when the actor is one.
    via : str
        ``web`` (session), ``api`` (bearer token), ``cli`` or ``system``.
    remote_addr : str or None
        Client address of a web/API request.
    """

    name: str
    user_id: int | None = None
    via: str = "system"
    remote_addr: str | None = None

    @classmethod
    def of(cls, user: User, via: str, remote_addr: str | None = None) -> Actor:
        """The actor for a signed-in ``user``."""
        return cls(name=user.username, user_id=user.id, via=via, remote_addr=remote_addr)

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        """A non-human actor (sample loader, migrations)."""
        return cls(name=what, via="system")

    @classmethod
    def local_operator(cls) -> Actor:
        """The operating-system account running a CLI command without ``--as``."""
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # pragma: no cover - no passwd entry
            who = "unknown"
        return cls(name=f"cli:{who}", via="cli")


def _as_actor(actor: Actor | User | str) -> Actor:
    if isinstance(actor, Actor):
        return actor
    if isinstance(actor, User):
        return Actor.of(actor, "system")
    return Actor(name=str(actor))


# --------------------------------------------------------------------------- snapshots
def _lonlat(geom: Any) -> tuple[float | None, float | None]:
    shape = _shape(geom)
    if shape is None:
        return None, None
    return round(shape.x, 7), round(shape.y, 7)


def _shape(geom: Any) -> Any:
    if geom is None:
        return None
    if isinstance(geom, str):
        from shapely import wkt

        return wkt.loads(geom.split(";", 1)[-1])
    from geoalchemy2.shape import to_shape

    return to_shape(geom)


def _points_text(geom: Any) -> str | None:
    shape = _shape(geom)
    if shape is None:
        return None
    points = [shape] if shape.geom_type == "Point" else list(shape.geoms)
    return ";".join(f"{p.x:.6f},{p.y:.6f}" for p in points)


def json_value(value: Any, field_type: FieldType | None = None) -> Any:
    """A value in the canonical JSON form used by snapshots."""
    if value is None:
        return None
    if field_type is FieldType.POINTS:
        return _points_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        if field_type is not None:
            from registry.kinds.base import FieldSpec

            return format_canonical(FieldSpec("v", field_type, "", ""), value)
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 9)
    return value


def snapshot(facility: Facility) -> dict[str, Any]:
    """Every audited value of ``facility`` in canonical JSON form (common fields, then its kind's)."""
    lon, lat = _lonlat(facility.geom)
    snap: dict[str, Any] = {"id": facility.id}
    for key in COMMON_KEYS:
        if key == "lon":
            snap[key] = lon
        elif key == "lat":
            snap[key] = lat
        else:
            snap[key] = json_value(getattr(facility, key))
    spec = KIND_SPECS.get(FacilityKind(facility.kind)) if facility.kind in FacilityKind._value2member_map_ else None
    if spec is not None:
        for field in spec.fields:
            snap[field.name] = json_value(getattr(facility, field.name), field.type)
    return snap


def diff(before: Snapshot | None, after: Snapshot | None) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field whose value differs (``id`` excluded).

    >>> diff({"id": 1, "name": "a", "seats": 10}, {"id": 1, "name": "b", "seats": 10})
    {'name': ['a', 'b']}
    >>> diff(None, {"id": 2, "name": "x", "address": None})
    {'name': [None, 'x']}
    """
    before = before or {}
    after = after or {}
    keys = [k for k in (*before.keys(), *(k for k in after if k not in before)) if k != "id"]
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def _snap(value: Facility | Snapshot | None) -> Snapshot | None:
    if value is None:
        return None
    if isinstance(value, Facility):
        return snapshot(value)
    return value


# --------------------------------------------------------------------------- writing
def _event_row(actor: Actor, action: str, before: Snapshot | None, after: Snapshot | None,
               comment: str | None, batch_id: int | None) -> dict[str, Any] | None:
    changes = diff(before, after)
    if action == "update" and not changes:
        return None
    ref = after or before or {}
    facility_id = ref.get("id")
    return {
        "actor": actor.name,
        "actor_id": actor.user_id,
        "via": actor.via,
        "remote_addr": actor.remote_addr,
        "action": action,
        "entity_type": "facility",
        "entity_id": facility_id,
        "facility_id": facility_id,
        "kind": ref.get("kind"),
        "batch_id": batch_id,
        "changes": changes,
        "comment": (comment or "").strip() or None,
    }


def record_change(session: Session, actor: Actor | User | str, action: str,
                  facility_before: Facility | Snapshot | None, facility_after: Facility | Snapshot | None,
                  comment: str | None = None, *, batch_id: int | None = None) -> AuditEvent | None:
    """Record one change of one facility; return the event (``None`` for an update that changed nothing).

    Parameters
    ----------
    actor : Actor, User or str
        Who acts (see :class:`Actor`).
    action : str
        ``create``, ``update``, ``delete`` (soft), ``restore``, ``import``,
        ``rollback`` or ``revert``.
    facility_before, facility_after : Facility, snapshot mapping or None
        The state before (``None`` for a creation) and after (``None`` when the
        row is gone).  A :class:`Facility` is snapshotted now, so snapshot the
        *before* state yourself before changing the row.
    comment : str, optional
        Why (free text).
    batch_id : int, optional
        The import batch this change belongs to (only when the change is part
        of that import or of its rollback; manual edits carry none).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; expected one of {ACTIONS}")
    row = _event_row(_as_actor(actor), action, _snap(facility_before), _snap(facility_after), comment, batch_id)
    if row is None:
        return None
    event = AuditEvent(**row)
    session.add(event)
    session.flush()
    return event


def record_changes(session: Session, actor: Actor | User | str, action: str,
                   pairs: Iterable[tuple[Facility | Snapshot | None, Facility | Snapshot | None]],
                   comment: str | None = None, *, batch_id: int | None = None) -> int:
    """Record many facility changes with one INSERT (imports); return how many events were written."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; expected one of {ACTIONS}")
    who = _as_actor(actor)
    rows = [r for before, after in pairs
            if (r := _event_row(who, action, _snap(before), _snap(after), comment, batch_id)) is not None]
    if rows:
        session.execute(insert(AuditEvent), rows)
    return len(rows)


def record_batch_event(session: Session, actor: Actor | User | str, action: str, batch: ImportBatch | int,
                       comment: str | None = None, *, changes: Mapping[str, tuple[Any, Any] | list[Any]] | None = None
                       ) -> AuditEvent:
    """Record an event about a whole import batch (``import`` or ``rollback``).

    Parameters
    ----------
    batch : ImportBatch or int
        The batch (or its id).  With an :class:`ImportBatch` and no
        ``changes``, its status and counts are recorded as the "after" values.
    changes : mapping, optional
        ``{field: (before, after)}`` to record, e.g.
        ``{"status": ("committed", "rolled_back"), "n_deleted": (None, 120)}``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; expected one of {ACTIONS}")
    who = _as_actor(actor)
    batch_id = batch if isinstance(batch, int) else batch.id
    if changes is None and isinstance(batch, ImportBatch):
        changes = {key: (None, json_value(getattr(batch, key)))
                   for key in ("status", "source", "filename", "kind", "n_created", "n_updated", "n_rejected",
                               "n_flagged")}
    event = AuditEvent(
        actor=who.name, actor_id=who.user_id, via=who.via, remote_addr=who.remote_addr, action=action,
        entity_type="import_batch", entity_id=batch_id, batch_id=batch_id,
        kind=None if isinstance(batch, int) else batch.kind,
        changes={k: [json_value(v[0]), json_value(v[1])] for k, v in (changes or {}).items()},
        comment=(comment or "").strip() or None,
    )
    session.add(event)
    session.flush()
    return event


def record_event(session: Session, actor: Actor | User | str, action: str, entity_type: str,
                 entity_id: int | None, changes: Mapping[str, tuple[Any, Any] | list[Any]] | None = None,
                 comment: str | None = None) -> AuditEvent:
    """Record any other audited action (user administration, tokens, backups...)."""
    who = _as_actor(actor)
    event = AuditEvent(
        actor=who.name, actor_id=who.user_id, via=who.via, remote_addr=who.remote_addr, action=action,
        entity_type=entity_type, entity_id=entity_id,
        changes={k: [json_value(v[0]), json_value(v[1])] for k, v in (changes or {}).items()},
        comment=(comment or "").strip() or None,
    )
    session.add(event)
    session.flush()
    return event


# --------------------------------------------------------------------------- reading
def facility_history(session: Session, facility_id: int) -> list[AuditEvent]:
    """Every event of one facility, oldest first."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.facility_id == facility_id)
                                .order_by(AuditEvent.created_at, AuditEvent.id)))


def batch_events(session: Session, batch_id: int) -> list[AuditEvent]:
    """Every event of one import batch (facility events and batch events), oldest first.

    An import rollback can read the ``before`` values of each ``import``
    event here to put updated facilities back as they were.
    """
    return list(session.scalars(select(AuditEvent).where(AuditEvent.batch_id == batch_id)
                                .order_by(AuditEvent.created_at, AuditEvent.id)))


# --------------------------------------------------------------------------- imports, set-based
# An import writes up to millions of rows with set-based SQL (registry.importer); its audit events are
# written the same way.  Each field is rendered in SQL in the same canonical form as :func:`snapshot`
# (lon/lat rounded to 1e-7, floats to 1e-9, dates ISO, times HH:MM, point lists "lon,lat;..." with 6
# decimals) and ``changes`` is built per row as one ``jsonb_build_object`` of
# ``CASE WHEN before IS DISTINCT FROM after THEN [before, after] END`` with the nulls stripped: no
# intermediate snapshot, no per-key subquery.  "Before" is a typed row (``NULL`` row for a creation).
def _points_sql(col: str) -> str:
    return (f"(SELECT string_agg(round(ST_X(d.geom)::numeric, 6)::text || ',' || round(ST_Y(d.geom)::numeric, 6)::text,"
            f" ';' ORDER BY d.path) FROM ST_DumpPoints({col}) d)")


def _value_sql(col: str, field_type: FieldType | None) -> str:
    if field_type is FieldType.POINTS:
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE {_points_sql(col)} END"
    if field_type is FieldType.FLOAT:
        return f"round({col}::numeric, 9)"
    if field_type is FieldType.DATE:
        return f"to_char({col}, 'YYYY-MM-DD')"
    if field_type is FieldType.TIME:
        return f"to_char({col}, 'HH24:MI')"
    return col


def _field_sql(kind: str, f: str, k: str) -> list[tuple[str, str]]:
    """``[(key, SQL value)]`` of every audited field of a facility row ``f`` joined to its kind row ``k``."""
    pairs: list[tuple[str, str]] = []
    for key in COMMON_KEYS:
        if key == "lon":
            pairs.append((key, f"round(ST_X({f}.geom)::numeric, 7)"))
        elif key == "lat":
            pairs.append((key, f"round(ST_Y({f}.geom)::numeric, 7)"))
        else:
            pairs.append((key, f"{f}.{key}"))
    for field in KIND_SPECS[FacilityKind(kind)].fields:
        pairs.append((field.name, _value_sql(f"{k}.{field.name}", field.type)))
    return pairs


def _objects(pairs: list[tuple[str, str]]) -> str:
    parts = []
    for start in range(0, len(pairs), 40):  # jsonb_build_object takes at most 100 arguments
        args = ", ".join(f"'{name}', {expr}" for name, expr in pairs[start:start + 40])
        parts.append(f"jsonb_build_object({args})")
    return " || ".join(parts)


def snapshot_sql(kind: str, f: str = "f", k: str = "k") -> str:
    """SQL ``jsonb`` expression: the :func:`snapshot` of a facility row ``f`` joined to its kind row ``k`` (no ``id``)."""
    return _objects(_field_sql(kind, f, k))


def changes_sql(kind: str, before: tuple[str, str], after: tuple[str, str]) -> str:
    """SQL ``jsonb``: ``{field: [before, after]}`` for every field that differs (like :func:`diff`).

    ``before`` and ``after`` are (facility alias, kind-table alias); an all-``NULL`` row stands for
    "absent" (a creation's before, a removal's after).
    """
    pairs = []
    for (key, b), (_, a) in zip(_field_sql(kind, *before), _field_sql(kind, *after), strict=True):
        pairs.append((key, f"CASE WHEN ({b}) IS DISTINCT FROM ({a}) THEN jsonb_build_array({b}, {a}) END"))
    return f"jsonb_strip_nulls({_objects(pairs)})"


def _actor_params(actor: Actor | User | str, comment: str | None) -> dict[str, Any]:
    who = _as_actor(actor)
    return {"actor": who.name, "actor_id": who.user_id, "via": who.via, "addr": who.remote_addr,
            "comment": (comment or "").strip() or None}


_ACTOR_SQL = "%(actor)s::text, %(actor_id)s::integer, %(via)s::text, %(addr)s::text"
_EVENT_COLUMNS = "actor, actor_id, via, remote_addr, action, entity_type, entity_id, facility_id, kind, batch_id, " \
                 "changes, comment"


def _batch_event_sql(conn: Any, params: dict[str, Any], action: str, batch_id: int, kind: str | None,
                     changes: Mapping[str, tuple[Any, Any]]) -> None:
    import json

    conn.exec_driver_sql(
        f"INSERT INTO audit_event ({_EVENT_COLUMNS}) VALUES (%(actor)s, %(actor_id)s, %(via)s, %(addr)s, %(action)s, "
        "'import_batch', %(b)s, NULL, %(kind)s, %(b)s, %(changes)s::jsonb, %(comment)s)",
        {**params, "action": action, "b": batch_id, "kind": kind,
         "changes": json.dumps({k: [json_value(v[0]), json_value(v[1])] for k, v in changes.items()},
                               ensure_ascii=False)})


def record_import(conn: Any, actor: Actor | User | str, batch_id: int, comment: str | None = None) -> int:
    """Audit a committed import batch: one ``import`` event per facility it created or updated, plus one batch event.

    Call it on the import's connection after the batch is written (same transaction).  Created
    facilities get ``[null, value]`` for every known field; updated ones ``[before, after]`` for the
    fields that changed, the *before* values read from the batch's before-images (``import_change``).
    Returns the number of facility events written.
    """
    from registry.models import KIND_MODELS

    params = {**_actor_params(actor, comment), "b": batch_id}
    written = 0
    kinds = [row[0] for row in conn.exec_driver_sql(
        "SELECT DISTINCT kind FROM facility WHERE batch_id = %(b)s", {"b": batch_id})]
    for kind in kinds:
        table = KIND_MODELS[kind].__table__.name
        written += conn.exec_driver_sql(f"""
            INSERT INTO audit_event ({_EVENT_COLUMNS})
            SELECT {_ACTOR_SQL}, 'import', 'facility', f.id, f.id, %(kind)s::text, %(b)s::integer,
                   {changes_sql(kind, ("bf", "bk"), ("f", "k"))}, %(comment)s::text
            FROM facility f JOIN {table} k ON k.id = f.id
            LEFT JOIN import_change c ON c.batch_id = %(b)s AND c.facility_id = f.id
            CROSS JOIN LATERAL jsonb_populate_record(NULL::facility, c.before_facility) bf
            CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, c.before_detail) bk
            WHERE f.batch_id = %(b)s AND f.kind = %(kind)s
            ORDER BY f.id
        """, {**params, "kind": kind}).rowcount
    batch = conn.exec_driver_sql(
        "SELECT status, source, filename, kind, n_created, n_updated, n_rejected, n_flagged FROM import_batch "
        "WHERE id = %(b)s", {"b": batch_id}).mappings().first()
    if batch is not None:
        _batch_event_sql(conn, params, "import", batch_id, batch["kind"], {k: (None, v) for k, v in batch.items()})
    return written


_PRE = "audit_rollback_before"


class RollbackAudit:
    """Audit an import rollback: copy the batch's rows before, write the events after.

    ::

        with audit.RollbackAudit(conn, actor, batch_id) as audited:
            rollback_batch(conn, batch_id, user)
        audited.written   # facility events

    Facilities the batch created end as ``[value, null]`` (they are gone), facilities it updated as
    ``[value written by the import, value restored]``; a batch event records the status change.
    Nothing is written when the block raises (the caller's savepoint rolls the copies back).
    """

    def __init__(self, conn: Any, actor: Actor | User | str, batch_id: int, comment: str | None = None) -> None:
        self.conn, self.batch_id = conn, batch_id
        self.params = {**_actor_params(actor, comment), "b": batch_id}
        self.written = 0
        self.kinds: list[str] = []

    def __enter__(self) -> Self:
        from registry.models import KIND_MODELS

        conn = self.conn
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_PRE}_facility")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {_PRE}_facility ON COMMIT DROP AS "
                             "SELECT * FROM facility WHERE batch_id = %(b)s", {"b": self.batch_id})
        self.kinds = [row[0] for row in conn.exec_driver_sql(f"SELECT DISTINCT kind FROM {_PRE}_facility")]
        for kind in self.kinds:
            table = KIND_MODELS[kind].__table__.name
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_PRE}_{table}")
            conn.exec_driver_sql(f"CREATE TEMP TABLE {_PRE}_{table} ON COMMIT DROP AS SELECT k.* FROM {table} k "
                                 f"JOIN {_PRE}_facility p ON p.id = k.id")
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            return
        from registry.models import KIND_MODELS

        conn = self.conn
        for kind in self.kinds:
            table = KIND_MODELS[kind].__table__.name
            self.written += conn.exec_driver_sql(f"""
                INSERT INTO audit_event ({_EVENT_COLUMNS})
                SELECT {_ACTOR_SQL}, 'rollback', 'facility', bf.id, bf.id, %(kind)s::text,
                       %(b)s::integer, {changes_sql(kind, ("bf", "bk"), ("f", "k"))}, %(comment)s::text
                FROM {_PRE}_facility bf JOIN {_PRE}_{table} bk ON bk.id = bf.id
                LEFT JOIN facility f ON f.id = bf.id LEFT JOIN {table} k ON k.id = bf.id
                WHERE bf.kind = %(kind)s
                ORDER BY bf.id
            """, {**self.params, "kind": kind}).rowcount
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_PRE}_{table}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_PRE}_facility")
        counts = conn.exec_driver_sql(
            "SELECT kind FROM import_batch WHERE id = %(b)s", {"b": self.batch_id}).first()
        _batch_event_sql(conn, self.params, "rollback", self.batch_id, counts[0] if counts else None,
                         {"status": ("committed", "rolled_back"), "n_facilities": (None, self.written)})
