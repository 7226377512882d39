"""Writing verdicts: the run record, findings by ``COPY``, and ``facility.compliance_status``.

Findings are streamed into ``compliance_finding`` with ``COPY`` (one
statement per kind, not one ``INSERT`` per row); statuses go through a
temporary table and one ``UPDATE`` that only touches rows whose status
changed (so ``updated_at`` and the rows' other columns stay as they were).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, update

from registry.compliance import Finding
from registry.models import ComplianceFinding, ComplianceRun

FINDING_COLUMNS = ("run_id", "subject_type", "facility_id", "district_code", "kind", "rule_id", "seq",
                   "verdict", "message_zh", "message_en", "related", "progress", "neighbour_ids", "as_of")
FACILITY_NEIGHBOUR_CATEGORIES = frozenset({"kindergarten"})
"""Neighbour categories that are facilities of the registry (their ids go into ``neighbour_ids``)."""
LOCK_KEY = "registry.compliance"

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]").search


def lock(conn: Connection) -> None:
    """Serialise compliance writes (transaction-scoped advisory lock)."""
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(k)s))", {"k": LOCK_KEY})


@contextlib.contextmanager
def without_jit(conn: Connection) -> Iterator[None]:
    """Turn PostgreSQL's JIT off for the enclosed statements (then restore the previous setting).

    The per-row census lookups make the planner's cost estimates large enough to
    trigger JIT compilation (~0.3 s per statement), which dominates a small recheck.
    """
    previous = conn.exec_driver_sql("SELECT current_setting('jit')").scalar_one()
    conn.exec_driver_sql("SELECT set_config('jit', 'off', true)")
    try:
        yield
    finally:
        conn.exec_driver_sql("SELECT set_config('jit', %(v)s, true)", {"v": previous})


def _text(value: Any) -> str:
    """A value in ``COPY`` text format (escaped only when it holds a backslash, tab or line break)."""
    if value is None:
        return "\\N"
    text = str(value)
    return text.translate(_ESCAPES) if _SPECIAL(text) else text


def _json(value: Any) -> str:
    return "\\N" if not value else _text(json.dumps(value, ensure_ascii=False))


def copy_line(
    run_id: int, finding: Finding, seq: int, facility_id: int | None, district_code: str | None,
    as_of: dt.date,
) -> str:
    """One finding as a ``COPY`` text line (tab-separated, ``\\N`` for NULL)."""
    related = [r.to_dict() for r in finding.related]
    ids = sorted({int(r.id) for r in finding.related
                  if r.category in FACILITY_NEIGHBOUR_CATEGORIES and r.id is not None})
    values = (  # ids, codes, enum values and dates need no escaping; free text and JSON do
        str(run_id), finding.subject_type, "\\N" if facility_id is None else str(facility_id),
        _text(district_code), finding.kind, finding.rule_id, str(seq), finding.verdict.value,
        _text(finding.message_zh), _text(finding.message_en),
        _json(related), _json(finding.progress.to_dict() if finding.progress else None),
        "{" + ",".join(map(str, ids)) + "}" if ids else "\\N", as_of.isoformat(),
    )
    return "\t".join(values) + "\n"


def copy_lines(conn: Connection, lines: Iterable[str], batch: int = 20_000, table: str = "compliance_finding") -> int:
    """``COPY`` finding lines into ``table`` (``compliance_finding``); return how many were written."""
    raw = conn.connection.driver_connection
    n, buffer = 0, []
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(FINDING_COLUMNS)}) FROM STDIN") as copy:
        for line in lines:
            buffer.append(line)
            if len(buffer) >= batch:
                copy.write("".join(buffer).encode("utf-8"))
                n += len(buffer)
                buffer.clear()
        if buffer:
            copy.write("".join(buffer).encode("utf-8"))
            n += len(buffer)
    return n


# --------------------------------------------------------------------------- runs
def start_run(conn: Connection, scope: str, kinds: Sequence[str], trigger: str | None, as_of: dt.date,
              layers: dict[str, int]) -> int:
    """Insert a :class:`ComplianceRun` and return its id."""
    return int(conn.execute(
        insert(ComplianceRun).values(scope=scope, kinds=list(kinds), trigger=trigger, as_of=as_of,
                                     layers=layers, n_facilities=0, n_findings=0)
        .returning(ComplianceRun.id)
    ).scalar_one())


def finish_run(conn: Connection, run_id: int, n_facilities: int, n_findings: int, duration_s: float) -> None:
    """Record the counts and the duration of a run."""
    conn.execute(
        update(ComplianceRun).where(ComplianceRun.id == run_id).values(
            n_facilities=n_facilities, n_findings=n_findings, duration_s=round(duration_s, 3),
            finished_at=dt.datetime.now(dt.UTC),
        )
    )


# --------------------------------------------------------------------------- deleting
def delete_all(conn: Connection) -> None:
    """Remove every stored finding (a full check replaces them all)."""
    conn.execute(delete(ComplianceFinding))


def delete_kinds(conn: Connection, kinds: Sequence[str]) -> None:
    """Remove the facility findings of ``kinds``."""
    conn.execute(delete(ComplianceFinding).where(ComplianceFinding.subject_type == "facility",
                                                 ComplianceFinding.kind.in_(list(kinds))))


def delete_facilities(conn: Connection, ids: Sequence[int]) -> None:
    """Remove the findings of these facilities."""
    if ids:
        conn.exec_driver_sql("DELETE FROM compliance_finding WHERE facility_id = ANY(%(ids)s)", {"ids": list(ids)})


def delete_areas(conn: Connection) -> None:
    """Remove the district and city findings (recomputed together; the only ones without a facility,
    found through the ``facility_id`` index)."""
    conn.execute(delete(ComplianceFinding).where(ComplianceFinding.facility_id.is_(None)))


def referencing(conn: Connection, ids: Sequence[int]) -> set[int]:
    """Facilities whose stored findings name one of ``ids`` as a neighbour (PK-7, EL-10 kindergartens)."""
    if not ids:
        return set()
    rows = conn.exec_driver_sql(
        "SELECT DISTINCT facility_id FROM compliance_finding "
        "WHERE neighbour_ids IS NOT NULL AND neighbour_ids && %(ids)s::integer[]",
        {"ids": list(ids)},
    )
    return {r[0] for r in rows if r[0] is not None}


# --------------------------------------------------------------------------- statuses
def write_statuses(conn: Connection, statuses: Sequence[tuple[int, str]]) -> int:
    """Set ``facility.compliance_status`` where it changed; return how many rows changed."""
    if not statuses:
        return 0
    conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS compliance_status_tmp "
                         "(id integer PRIMARY KEY, status varchar(16)) ON COMMIT DROP")
    conn.exec_driver_sql("TRUNCATE compliance_status_tmp")
    raw = conn.connection.driver_connection
    body = "".join(f"{fid}\t{status}\n" for fid, status in statuses)
    with raw.cursor() as cur, cur.copy("COPY compliance_status_tmp (id, status) FROM STDIN") as copy:
        copy.write(body.encode("ascii"))
    changed = conn.exec_driver_sql(
        "UPDATE facility f SET compliance_status = t.status FROM compliance_status_tmp t "
        "WHERE f.id = t.id AND f.compliance_status IS DISTINCT FROM t.status"
    ).rowcount
    conn.exec_driver_sql("TRUNCATE compliance_status_tmp")
    return changed


def clear_statuses(conn: Connection, ids: Sequence[int] | None = None, kinds: Sequence[str] | None = None) -> None:
    """Blank the status of soft-deleted facilities (all, of ``kinds``, or among ``ids``)."""
    sql = "UPDATE facility SET compliance_status = NULL WHERE deleted_at IS NOT NULL AND compliance_status IS NOT NULL"
    params: dict[str, Any] = {}
    if ids is not None:
        sql += " AND id = ANY(%(ids)s)"
        params["ids"] = list(ids)
    if kinds is not None:
        sql += " AND kind = ANY(%(kinds)s)"
        params["kinds"] = list(kinds)
    conn.exec_driver_sql(sql, params)


# --------------------------------------------------------------------------- live evaluations (temporary tables)
LIVE_FINDINGS = "compliance_finding_live"
LIVE_STATUSES = "compliance_status_live"


def create_live_tables(conn: Connection) -> None:
    """Temporary tables shaped like the stored ones, for an evaluation at another as-of date (not kept)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {LIVE_FINDINGS}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {LIVE_STATUSES}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {LIVE_FINDINGS} (LIKE compliance_finding INCLUDING DEFAULTS)")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {LIVE_STATUSES} "
                         "(id integer PRIMARY KEY, kind varchar(32), district_code varchar(6), status varchar(16))")


def copy_live_statuses(conn: Connection, rows: Sequence[tuple[int, str, str | None, str]]) -> None:
    """``COPY`` (id, kind, district, status) rows into the temporary status table."""
    if not rows:
        return
    raw = conn.connection.driver_connection
    body = "".join(f"{fid}\t{kind}\t{_text(district)}\t{status}\n" for fid, kind, district, status in rows)
    with raw.cursor() as cur, cur.copy(f"COPY {LIVE_STATUSES} (id, kind, district_code, status) FROM STDIN") as copy:
        copy.write(body.encode("utf-8"))
