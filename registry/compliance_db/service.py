"""Evaluating the registry and keeping the stored verdicts current.

:func:`run_check` evaluates every facility (or every facility of some kinds),
the census units and the city, and replaces the stored findings;
:func:`recheck` re-evaluates some facilities *and the cross-kind neighbours
they touch* — the berths and elevators near a kindergarten's new position
(queried in PostGIS) and those whose stored findings name it (its old
position, or a deleted kindergarten) — plus the district and city rules when
a counted kind changed.  Both run inside the caller's transaction (nothing is
committed here) behind an advisory lock, and record a
:class:`~registry.models.ComplianceRun` with the as-of date and the time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from registry import localtime
from registry.compliance import (
    Finding,
    build_contexts,
    evaluate_city,
    evaluate_districts,
    evaluate_facility,
    facility_status,
)
from registry.compliance_db import load, neighbours, store
from registry.compliance_db.load import KINDS
from registry.rules.base import SpatialContext
from registry.spatial import select_facility_kinds

COUNTED_KINDS = frozenset(load.DISTRICT_COLUMNS)
"""Kinds the district and city rules count: a change to one of them re-evaluates those rules."""

SLICE = 25_000
"""Facilities evaluated and written per slice in bulk checks (bounds memory to a few hundred MB)."""

FULL_RECHECK_SHARE = 0.25
"""A recheck touching more than this share of the registry runs as a full check (cheaper in bulk)."""

Bind = Session | Connection


@dataclass
class CheckReport:
    """What a check or recheck did."""

    run_id: int
    scope: str
    as_of: dt.date
    kinds: list[str]
    n_facilities: int = 0
    n_findings: int = 0
    n_changed: int = 0
    duration_s: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    tally: Counter[tuple[str, str]] = field(default_factory=Counter)
    facility_ids: list[int] = field(default_factory=list)
    layers: dict[str, int] = field(default_factory=dict)

    def count(self, finding: Finding) -> None:
        """Add one finding to the per-rule tally."""
        self.tally[(finding.rule_id, finding.verdict.value)] += 1

    @property
    def verdicts(self) -> dict[str, Counter[str]]:
        """Verdict counts per rule ID."""
        out: dict[str, Counter[str]] = {}
        for (rule_id, verdict), n in self.tally.items():
            out.setdefault(rule_id, Counter())[verdict] = n
        return out


def connection_of(bind: Bind) -> Connection:
    """The connection of a session (or the connection itself)."""
    return bind.connection() if isinstance(bind, Session) else bind


# --------------------------------------------------------------------------- evaluation (no writes)
@dataclass
class FacilityResult:
    """The findings of one facility and where it is."""

    id: int
    kind: str
    district_code: str | None
    findings: list[Finding]

    @property
    def status(self) -> str:
        return facility_status(self.findings)


def evaluate_kind(
    conn: Connection, kind: str, as_of: dt.date, layers: Collection[str], ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> Iterator[FacilityResult]:
    """Evaluate the live facilities of ``kind`` (all, ``ids`` or an id slice) with their neighbours from PostGIS.

    Queries run before the first result is yielded, so a caller may stream the
    results into a ``COPY`` on the same connection.
    """
    facilities = load.load_facilities(conn, kind, ids, id_range)
    if not facilities:
        return iter(())
    pairs, searched = neighbours.pairs_for(conn, kind, layers, ids, id_range)
    contexts = build_contexts(pairs, searched)
    empty = SpatialContext((), dict(searched)) if searched is not None else None

    def results() -> Iterator[FacilityResult]:
        for facility in facilities:
            fid = facility["id"]
            findings = evaluate_facility(facility, as_of, contexts.get(fid, empty))
            yield FacilityResult(fid, kind, facility["admin_district"], findings)

    return results()


def evaluate_slices(
    conn: Connection, kind: str, as_of: dt.date, layers: Collection[str], ids: Sequence[int] | None = None
) -> Iterator[Iterator[FacilityResult]]:
    """:func:`evaluate_kind` slice by slice (:data:`SLICE` facilities), so memory stays bounded.

    Each slice's queries run when it is produced; write it (``COPY``) before
    asking for the next one.
    """
    if ids is not None:
        yield evaluate_kind(conn, kind, as_of, layers, ids)
        return
    for id_range in load.id_slices(conn, kind, SLICE):
        yield evaluate_kind(conn, kind, as_of, layers, id_range=id_range)


def evaluate_areas(conn: Connection, as_of: dt.date) -> list[Finding]:
    """District findings per census unit (MUS-1, MUS-2, MUS-3, SR-15) and the city findings."""
    units = load.load_units(conn)
    counted = load.load_counted(conn)
    return evaluate_districts(units, counted, as_of) + evaluate_city(units, counted, as_of)


# --------------------------------------------------------------------------- writing
def _write_results(conn: Connection, run_id: int, results: Iterable[FacilityResult], as_of: dt.date,
                   report: CheckReport, statuses: list[tuple[int, str]]) -> None:
    def lines() -> Iterator[str]:
        for result in results:
            status = result.status
            statuses.append((result.id, status))
            report.statuses[status] += 1
            report.facility_ids.append(result.id)
            for finding in result.findings:
                report.count(finding)
                yield store.copy_line(run_id, finding, 0, result.id, result.district_code, as_of)

    report.n_findings += store.copy_lines(conn, lines())


def area_lines(findings: Iterable[Finding], run_id: int, as_of: dt.date,
               report: CheckReport | None = None) -> Iterator[str]:
    """``COPY`` lines of district and city findings (``seq`` numbers several findings of one rule)."""
    seq: Counter[tuple[str, Any, str]] = Counter()
    for finding in findings:
        key = (finding.subject_type, finding.subject_id, finding.rule_id)
        if report is not None:
            report.count(finding)
        yield store.copy_line(run_id, finding, seq[key], None, str(finding.subject_id), as_of)
        seq[key] += 1


def _write_areas(conn: Connection, run_id: int, as_of: dt.date, report: CheckReport) -> None:
    store.delete_areas(conn)
    findings = evaluate_areas(conn, as_of)
    report.n_findings += store.copy_lines(conn, area_lines(findings, run_id, as_of, report))


def _finish(conn: Connection, report: CheckReport, started: float) -> CheckReport:
    report.duration_s = time.perf_counter() - started
    report.n_facilities = len(report.facility_ids)
    store.finish_run(conn, report.run_id, report.n_facilities, report.n_findings, report.duration_s)
    return report


def run_check(
    bind: Bind, as_of: dt.date | None = None, kinds: Sequence[str] | None = None, trigger: str = "cli"
) -> CheckReport:
    """Evaluate every live facility (or those of ``kinds``) and store the findings and statuses.

    District and city rules are re-evaluated too unless ``kinds`` names only
    kinds they do not count (elevators).  Runs in the caller's transaction.

    Parameters
    ----------
    bind : Session or Connection
        Where to read and write (nothing is committed here).
    as_of : datetime.date, optional
        Date the time rules are judged at; today by default.
    kinds : sequence of str, optional
        Only these kinds.
    trigger : str
        Recorded with the run (``cli``, ``sample``, ``import``, ``reference`` ...).

    Raises
    ------
    ValueError
        If a kind is unknown.
    """
    started = time.perf_counter()
    conn = connection_of(bind)
    chosen = list(KINDS) if not kinds else [k for k in KINDS if k in set(kinds)]
    unknown_kinds = sorted(set(kinds or ()) - set(KINDS))
    if unknown_kinds:
        raise ValueError(f"unknown facility kind(s): {', '.join(unknown_kinds)}; expected one of: {', '.join(KINDS)}")
    full = len(chosen) == len(KINDS)
    day = as_of or localtime.today()
    store.lock(conn)
    layers = load.loaded_layers(conn)
    run_id = store.start_run(conn, "full" if full else "kinds", chosen, trigger, day, layers)
    report = CheckReport(run_id, "full" if full else "kinds", day, chosen, layers=layers)
    if full:
        store.delete_all(conn)
    else:
        store.delete_kinds(conn, chosen)
    statuses: list[tuple[int, str]] = []
    for kind in chosen:
        for results in evaluate_slices(conn, kind, day, layers):
            _write_results(conn, run_id, results, day, report, statuses)
    report.n_changed = store.write_statuses(conn, statuses)
    store.clear_statuses(conn, kinds=None if full else chosen)
    if full or COUNTED_KINDS & set(chosen):
        _write_areas(conn, run_id, day, report)
    return _finish(conn, report, started)


def affected_by(conn: Connection, ids: Collection[int]) -> tuple[dict[int, tuple[str, bool]], set[int]]:
    """The facilities a change of ``ids`` affects: themselves and their cross-kind neighbours.

    Returns ``(kind and liveness of every affected facility that exists, ids
    that no longer exist)``.  Neighbours are those near a live kindergarten
    among ``ids`` now (PostGIS) and those whose stored findings name one of
    ``ids`` (where it was before, or before it was deleted).
    """
    ids = sorted({int(i) for i in ids})
    info = {fid: (kind, live) for fid, kind, live in conn.execute(select_facility_kinds(ids))}
    kindergartens = [fid for fid, (kind, live) in info.items() if kind == "kindergarten" and live]
    extra = (neighbours.touched_by_kindergartens(conn, kindergartens) | store.referencing(conn, ids)) - set(info)
    if extra:
        info.update({fid: (kind, live) for fid, kind, live in conn.execute(select_facility_kinds(sorted(extra)))})
    gone = set(ids) - set(info)
    return info, gone


def _registry_size(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT count(*) FROM facility WHERE deleted_at IS NULL").scalar_one())


def recheck(
    bind: Bind, facility_ids: Iterable[int] | None, as_of: dt.date | None = None, trigger: str = "edit"
) -> CheckReport:
    """Re-evaluate facilities after they were created, edited, moved or deleted, and their neighbours.

    Call it after the write, in the same transaction (the caller commits).
    ``facility_ids=None`` re-checks the whole registry (:func:`run_check`).
    Ids of deleted facilities (soft or hard) are welcome: their findings go,
    and the neighbours their stored findings named are re-evaluated.

    Parameters
    ----------
    bind : Session or Connection
        The session or connection that made the change.
    facility_ids : iterable of int or None
        Facilities created, changed or deleted.
    as_of : datetime.date, optional
        Date for the time rules; today by default.
    trigger : str
        Recorded with the run (``edit``, ``import``, ``delete`` ...).

    Returns
    -------
    CheckReport
        ``facility_ids`` lists every facility re-evaluated (neighbours included).

    Examples
    --------
    >>> # after moving kindergarten 42 in a session:
    >>> # recheck(session, [42])   # also re-checks berths within 50 m of its old and new entrance
    """
    if isinstance(bind, Session):
        bind.flush()
    conn = connection_of(bind)
    if facility_ids is None:
        report = run_check(conn, as_of, trigger=trigger)
    else:
        started = time.perf_counter()
        ids = {int(i) for i in facility_ids}
        day = as_of or localtime.today()
        store.lock(conn)
        info, gone = affected_by(conn, ids)
        if len(info) > FULL_RECHECK_SHARE * max(_registry_size(conn), 1) and len(info) > 1000:
            report = run_check(conn, day, trigger=trigger)
        else:
            with store.without_jit(conn):
                report = _recheck(conn, info, gone, day, trigger, started)
    if isinstance(bind, Session):
        _expire_statuses(bind, report.facility_ids if facility_ids is not None else None)
    return report


def _expire_statuses(session: Session, ids: Sequence[int] | None) -> None:
    """Make loaded facilities re-read ``compliance_status`` (it was updated with SQL behind the ORM)."""
    from registry.models import Facility

    wanted = None if ids is None else set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Facility) and (wanted is None or obj.id in wanted):
            session.expire(obj, ["compliance_status"])


def _recheck(conn: Connection, info: dict[int, tuple[str, bool]], gone: set[int], day: dt.date, trigger: str,
             started: float) -> CheckReport:
    layers = load.loaded_layers(conn)
    kinds = sorted({kind for kind, _ in info.values()})
    run_id = store.start_run(conn, "recheck", kinds, trigger, day, layers)
    report = CheckReport(run_id, "recheck", day, kinds, layers=layers)
    store.delete_facilities(conn, sorted(set(info) | gone))
    statuses: list[tuple[int, str]] = []
    for kind in KINDS:
        live = [fid for fid, (k, alive) in info.items() if k == kind and alive]
        if live:
            _write_results(conn, run_id, evaluate_kind(conn, kind, day, layers, live), day, report, statuses)
    report.n_changed = store.write_statuses(conn, statuses)
    store.clear_statuses(conn, ids=sorted(info))
    if gone or COUNTED_KINDS & set(kinds):
        _write_areas(conn, run_id, day, report)
    return _finish(conn, report, started)


def recheck_layers(bind: Bind, layers: Iterable[str], as_of: dt.date | None = None,
                   trigger: str = "reference") -> CheckReport | None:
    """Re-check the kinds whose spatial rules read the reference ``layers`` (after an import)."""
    from registry.reference_layers import LAYERS

    rules = {rule for layer in layers for rule in LAYERS[layer].rules}
    kinds = sorted({"PK-7": "parking_lot", "KG-7": "kindergarten", "SR-16": "study_room"}[r] for r in rules)
    if not kinds:
        return None
    return run_check(bind, as_of, kinds, trigger=trigger)


def after_sample_load(bind: Bind, sample_dir: Path, as_of: dt.date | None = None) -> CheckReport:
    """Load the shipped synthetic reference layer (if present) and run a full check (end of ``load_sample``)."""
    from registry.reference_layers import load_sample_points

    points = Path(sample_dir) / "reference_points.csv"
    if points.exists():
        load_sample_points(bind, points)
    return run_check(bind, as_of, trigger="sample")


def evaluate_live(bind: Bind, as_of: dt.date, kinds: Sequence[str] | None = None) -> int:
    """Evaluate the registry at ``as_of`` into the temporary tables of :mod:`.store` (nothing stored).

    Used to show verdicts at another date than the stored ones.  Returns the
    number of findings; the caller reads the temporary tables and drops them.
    """
    conn = connection_of(bind)
    store.create_live_tables(conn)
    layers = load.loaded_layers(conn)
    statuses: list[tuple[int, str, str | None, str]] = []

    def lines(results: Iterator[FacilityResult]) -> Iterator[str]:
        for result in results:
            statuses.append((result.id, result.kind, result.district_code, result.status))
            for finding in result.findings:
                yield store.copy_line(0, finding, 0, result.id, result.district_code, as_of)

    n = 0
    for kind in kinds or KINDS:
        for results in evaluate_slices(conn, kind, as_of, layers):
            n += store.copy_lines(conn, lines(results), table=store.LIVE_FINDINGS)
            store.copy_live_statuses(conn, statuses)
            statuses.clear()
    areas = evaluate_areas(conn, as_of)
    return n + store.copy_lines(conn, area_lines(areas, 0, as_of), table=store.LIVE_FINDINGS)


def batch_facility_ids(bind: Bind, batch_id: int) -> list[int]:
    """Facilities an import batch wrote: created or updated by it (``facility.batch_id``), or before-imaged."""
    conn = connection_of(bind)
    rows = conn.exec_driver_sql(
        "SELECT id FROM facility WHERE batch_id = %(b)s UNION SELECT facility_id FROM import_change WHERE batch_id = %(b)s",
        {"b": int(batch_id)},
    )
    return sorted(r[0] for r in rows)


def recheck_batch(bind: Bind, batch_id: int, as_of: dt.date | None = None) -> CheckReport:
    """Re-check the facilities an import batch wrote and their neighbours (call before committing it)."""
    return recheck(bind, batch_facility_ids(bind, batch_id), as_of, trigger="import")
