"""Reading verdicts for pages, the API and exports: stored, or evaluated live at another as-of date.

Every reader takes an optional ``as_of``.  Without it (or when it equals the
date of the stored verdicts) the stored findings are read; otherwise the
registry is evaluated at that date into temporary tables (:func:`source`),
read the same way, and nothing is kept.  Results are plain dicts and lists,
ready for JSON or templates; citations, severities and fines come from the
rule catalogue :data:`registry.compliance.RULES`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    case,
    func,
    select,
)

from registry import localtime
from registry.compliance import RULES, Rule
from registry.compliance_db import store
from registry.compliance_db.load import KINDS
from registry.compliance_db.service import (
    Bind,
    connection_of,
    evaluate_kind,
    evaluate_live,
)
from registry.kinds import KIND_SPECS, FacilityKind
from registry.models import ComplianceFinding, ComplianceRun, District, Facility

LOCAL_TZ = localtime.LOCAL_TZ
"""China Standard Time (no daylight saving): times shown to people."""
VERDICTS = ("pass", "fail", "unknown", "not_applicable", "flag")
STATUSES = ("compliant", "non_compliant", "unknown")
RESPONSIBLE_FIELD = {"elevator": "user_unit", "parking_lot": "operator", "kindergarten": "operator_type"}
"""Kind attribute naming who must rectify (kindergartens: the kindergarten itself, by operator type)."""

_LIVE = Table(
    store.LIVE_FINDINGS, MetaData(),
    *(Column(c.name, c.type) for c in ComplianceFinding.__table__.columns),
)
_LIVE_STATUS = Table(
    store.LIVE_STATUSES, MetaData(),
    Column("id", Integer), Column("kind", String(32)), Column("district_code", String(6)), Column("status", String(16)),
)


# --------------------------------------------------------------------------- where verdicts come from
@dataclass
class Source:
    """The findings table and per-facility statuses to read, and what they are as of."""

    findings: Table
    statuses: Any  # selectable with id, kind, district_code, status
    stored: bool
    as_of: dt.date | None
    as_of_max: dt.date | None = None
    checked_at: dt.datetime | None = None

    def meta(self) -> dict[str, Any]:
        """JSON-ready description: stored or live, as-of date(s), when checked."""
        return {
            "stored": self.stored,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "as_of_max": self.as_of_max.isoformat() if self.as_of_max else None,
            "checked_at": self.checked_at.astimezone(LOCAL_TZ).isoformat() if self.checked_at else None,
        }


def _stored_statuses() -> Any:
    f = Facility.__table__
    return (
        select(f.c.id, f.c.kind, f.c.district_code, func.coalesce(f.c.compliance_status, "unknown").label("status"))
        .where(f.c.deleted_at.is_(None))
        .subquery("statuses")
    )


def stored_dates(conn: Connection) -> tuple[dt.date | None, dt.date | None, dt.datetime | None]:
    """(earliest as-of, latest as-of, latest check time) of the runs since the last full check."""
    r = ComplianceRun.__table__
    last_full = select(func.coalesce(func.max(r.c.id), 0)).where(r.c.scope == "full").scalar_subquery()
    row = conn.execute(
        select(func.min(r.c.as_of), func.max(r.c.as_of), func.max(r.c.finished_at)).where(r.c.id >= last_full)
    ).one()
    return row[0], row[1], row[2]


@contextlib.contextmanager
def source(bind: Bind, as_of: dt.date | None = None) -> Iterator[Source]:
    """The verdicts to read: stored ones, or a live evaluation at ``as_of`` (temporary tables, dropped after)."""
    conn = connection_of(bind)
    first, last, checked = stored_dates(conn)
    if as_of is None or (first is not None and first == last == as_of):
        yield Source(ComplianceFinding.__table__, _stored_statuses(), True, first, last, checked)
        return
    evaluate_live(conn, as_of)
    try:
        yield Source(_LIVE, _LIVE_STATUS, False, as_of, as_of, None)
    finally:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {store.LIVE_FINDINGS}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {store.LIVE_STATUSES}")


def latest_run(bind: Bind) -> dict[str, Any] | None:
    """The most recent compliance run as a dict (``None`` before the first check)."""
    conn = connection_of(bind)
    r = ComplianceRun.__table__
    row = conn.execute(select(r).order_by(r.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["as_of"] = out["as_of"].isoformat()
    for key in ("started_at", "finished_at"):
        out[key] = out[key].astimezone(LOCAL_TZ).isoformat() if out[key] else None
    return out


# --------------------------------------------------------------------------- rules
def rule_dict(rule: Rule) -> dict[str, Any]:
    """A rule of the catalogue as a JSON-ready dict."""
    return {
        "id": rule.id,
        "kind": rule.kind,
        "scope": rule.scope,
        "subject": "facility" if rule.per_facility else ("residential_area" if rule.id == "KG-6" else rule.scope),
        "severity": rule.severity,
        "advisory": rule.advisory,
        "requirement_zh": rule.requirement_zh,
        "requirement_en": rule.requirement_en,
        "citation": rule.citation,
        "fines": [
            {"min_yuan": f.min_yuan, "max_yuan": f.max_yuan, "citation": f.citation,
             "condition_zh": f.condition_zh, "condition_en": f.condition_en, "text": str(f)}
            for f in rule.fines
        ],
        "reads": list(rule.reads),
        "method": rule.method,
    }


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(VERDICTS, 0)


def get_rule_counts(bind: Bind, as_of: dt.date | None = None) -> dict[str, Any]:
    """Every rule with how many findings pass, fail, are unknown, not applicable or flagged.

    Facility rules count facilities; district rules count census units (MUS-2
    two findings per county); city rules count city findings (MUS-4 six,
    MUS-5 four).  KG-6 is evaluated per residential area on demand and has no
    stored findings.
    """
    conn = connection_of(bind)
    with source(conn, as_of) as src:
        t = src.findings
        counts: dict[str, dict[str, int]] = defaultdict(_empty_counts)
        for rule_id, verdict, n in conn.execute(
            select(t.c.rule_id, t.c.verdict, func.count()).group_by(t.c.rule_id, t.c.verdict)
        ):
            counts[rule_id][verdict] = n
        meta = src.meta()
    rules = [{**rule_dict(rule), "counts": dict(counts.get(rule.id, _empty_counts()))} for rule in RULES.values()]
    return {**meta, "rules": rules}


# --------------------------------------------------------------------------- one facility
def _finding_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    rule = RULES.get(row["rule_id"])
    out = {
        "rule_id": row["rule_id"],
        "verdict": row["verdict"],
        "message_zh": row["message_zh"],
        "message_en": row["message_en"],
        "citation": rule.citation if rule else None,
        "severity": rule.severity if rule else None,
        "scope": rule.scope if rule else None,
        "advisory": rule.advisory if rule else False,
        "requirement_zh": rule.requirement_zh if rule else None,
        "requirement_en": rule.requirement_en if rule else None,
        "fines": [str(f) for f in rule.fines] if rule else [],
        "related": row.get("related") or [],
        "progress": row.get("progress"),
        "as_of": row["as_of"].isoformat() if isinstance(row.get("as_of"), dt.date) else row.get("as_of"),
    }
    return out


_ORDER = {rule_id: i for i, rule_id in enumerate(RULES)}


def get_facility_compliance(bind: Bind, facility_id: int, as_of: dt.date | None = None) -> dict[str, Any] | None:
    """Status and findings of one live facility (``None`` if it does not exist or was deleted).

    Stored findings unless ``as_of`` asks for another date than the stored one
    (or the facility was never checked): then it is evaluated live, with its
    neighbours from PostGIS, and ``stored`` is false.
    """
    conn = connection_of(bind)
    f = Facility.__table__
    fac = conn.execute(
        select(f.c.id, f.c.kind, f.c.name, f.c.district_code, f.c.compliance_status)
        .where(f.c.id == int(facility_id), f.c.deleted_at.is_(None))
    ).mappings().first()
    if fac is None:
        return None
    t, r = ComplianceFinding.__table__, ComplianceRun.__table__
    rows = [dict(m) for m in conn.execute(
        select(t.c.rule_id, t.c.verdict, t.c.message_zh, t.c.message_en, t.c.related, t.c.progress, t.c.as_of,
               r.c.finished_at)
        .outerjoin(r, r.c.id == t.c.run_id)
        .where(t.c.facility_id == fac["id"])
    ).mappings()]
    stored_as_of = rows[0]["as_of"] if rows else None
    if rows and (as_of is None or as_of == stored_as_of):
        findings = sorted((_finding_dict(row) for row in rows), key=lambda d: _ORDER.get(d["rule_id"], 999))
        status, checked = fac["compliance_status"] or "unknown", rows[0]["finished_at"]
        stored = True
    else:
        from registry.compliance_db.load import loaded_layers

        day = as_of or localtime.today()
        result = next(iter(evaluate_kind(conn, fac["kind"], day, loaded_layers(conn), [fac["id"]])))
        findings = [_finding_dict({**fd.to_dict(), "as_of": day}) for fd in result.findings]
        status, checked, stored, stored_as_of = result.status, None, False, day
    return {
        "facility_id": fac["id"],
        "kind": fac["kind"],
        "name": fac["name"],
        "district_code": fac["district_code"],
        "status": status,
        "stored": stored,
        "as_of": stored_as_of.isoformat() if stored_as_of else None,
        "checked_at": checked.astimezone(LOCAL_TZ).isoformat() if checked else None,
        "counts": {v: sum(1 for x in findings if x["verdict"] == v) for v in VERDICTS},
        "findings": findings,
    }


def get_facility_findings(bind: Bind, facility_id: int, as_of: dt.date | None = None) -> list[dict[str, Any]] | None:
    """Findings of one facility as dicts (rule_id, verdict, messages, citation, severity, fines, related...).

    For the facility detail page.  ``None`` when the facility does not exist or was deleted.
    """
    result = get_facility_compliance(bind, facility_id, as_of)
    return None if result is None else result["findings"]


# --------------------------------------------------------------------------- summaries
def _status_counts(conn: Connection, src: Source, kind: str | None, district: str | None) -> dict[tuple[str, str], dict[str, int]]:
    s = src.statuses
    stmt = select(s.c.district_code, s.c.kind, s.c.status, func.count()).group_by(s.c.district_code, s.c.kind,
                                                                                  s.c.status)
    if kind:
        stmt = stmt.where(s.c.kind == kind)
    if district:
        stmt = stmt.where(s.c.district_code == district)
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for code, k, status, n in conn.execute(stmt):
        out[(code or "", k)][status if status in STATUSES else "unknown"] += n
    return out


def _rule_district_counts(conn: Connection, src: Source, kind: str | None, district: str | None,
                          facility_only: bool = True) -> dict[tuple[str, str, str], dict[str, int]]:
    t = src.findings
    stmt = select(t.c.district_code, t.c.kind, t.c.rule_id, t.c.verdict, func.count()).group_by(
        t.c.district_code, t.c.kind, t.c.rule_id, t.c.verdict)
    if facility_only:
        stmt = stmt.where(t.c.subject_type == "facility")
    if kind:
        stmt = stmt.where(t.c.kind == kind)
    if district:
        stmt = stmt.where(t.c.district_code == district)
    out: dict[tuple[str, str, str], dict[str, int]] = defaultdict(_empty_counts)
    for code, k, rule_id, verdict, n in conn.execute(stmt):
        out[(code or "", k, rule_id)][verdict] = n
    return out


def district_names(bind: Bind) -> dict[str, str]:
    """Adcode -> name of the county-level districts (and the census units, for district findings)."""
    from registry.models import CensusUnit

    conn = connection_of(bind)
    names = {code: name for code, name in conn.execute(select(CensusUnit.code, CensusUnit.name))}
    names.update({code: name for code, name in conn.execute(select(District.adcode, District.name))})
    return names


def resolve_district(bind: Bind, value: str) -> str | None:
    """Adcode of a county-level district given by adcode or name (``None`` if unknown)."""
    conn = connection_of(bind)
    value = value.strip()
    row = conn.execute(
        select(District.adcode).where(District.level == "county", (District.adcode == value) | (District.name == value))
    ).first()
    return row[0] if row else None


def get_summary(bind: Bind, kind: str | None = None, district: str | None = None,
                as_of: dt.date | None = None) -> dict[str, Any]:
    """Counts per rule and per district (facility statuses and verdicts), optionally for one kind / district.

    ``district`` is an adcode of a county-level district (validated by the
    caller).  District rules (MUS-1 … SR-15) are counted per census unit: with
    a district filter, only that unit's findings.
    """
    conn = connection_of(bind)
    names = district_names(conn)
    with source(conn, as_of) as src:
        statuses = _status_counts(conn, src, kind, district)
        per_rule = _rule_district_counts(conn, src, kind, district, facility_only=False)
        meta = src.meta()
    totals = dict.fromkeys(STATUSES, 0)
    districts: dict[str, dict[str, Any]] = {}
    for (code, k), counts in sorted(statuses.items()):
        entry = districts.setdefault(code, {"district_code": code or None, "name": names.get(code),
                                            "facilities": dict.fromkeys(STATUSES, 0), "kinds": {}, "rules": {}})
        entry["kinds"][k] = dict(counts)
        for status, n in counts.items():
            entry["facilities"][status] += n
            totals[status] += n
    rules: dict[str, dict[str, int]] = defaultdict(_empty_counts)
    for (code, _k, rule_id), counts in per_rule.items():
        entry = districts.setdefault(code, {"district_code": code or None, "name": names.get(code),
                                            "facilities": dict.fromkeys(STATUSES, 0), "kinds": {}, "rules": {}})
        merged = entry["rules"].setdefault(rule_id, _empty_counts())
        for verdict, n in counts.items():
            merged[verdict] += n
            rules[rule_id][verdict] += n
    return {
        **meta,
        "filters": {"kind": kind, "district": district},
        "facilities": {"total": sum(totals.values()), **totals},
        "rules": [{"rule_id": rid, "kind": RULES[rid].kind, "scope": RULES[rid].scope,
                   "severity": RULES[rid].severity, "advisory": RULES[rid].advisory, "citation": RULES[rid].citation,
                   "counts": dict(rules[rid])} for rid in RULES if rid in rules],
        "districts": [districts[c] for c in sorted(districts)],
    }


def get_dashboard(bind: Bind, as_of: dt.date | None = None, worst: int = 3) -> dict[str, Any]:
    """Planner's dashboard: per district and kind the facility statuses and the most-failed rules,
    the district rules per census unit and the city targets.
    """
    conn = connection_of(bind)
    names = district_names(conn)
    with source(conn, as_of) as src:
        statuses = _status_counts(conn, src, None, None)
        per_rule = _rule_district_counts(conn, src, None, None)
        t = src.findings
        areas = [dict(m) for m in conn.execute(
            select(t.c.subject_type, t.c.district_code, t.c.rule_id, t.c.seq, t.c.verdict, t.c.message_zh,
                   t.c.message_en, t.c.progress)
            .where(t.c.facility_id.is_(None))  # district and city findings (served by the facility_id index)
            .order_by(t.c.district_code, t.c.rule_id, t.c.seq)
        ).mappings()]
        meta = src.meta()
    codes = sorted({code for code, _ in statuses} | {code for code, _, _ in per_rule})
    rows = []
    for code in codes:
        cells = {}
        for kind in KINDS:
            counts = dict(statuses.get((code, kind), dict.fromkeys(STATUSES, 0)))
            fails = sorted(
                ((rid, c) for (dc, k, rid), c in per_rule.items() if dc == code and k == kind and c["fail"]),
                key=lambda item: (-item[1]["fail"], _ORDER.get(item[0], 999)),
            )[:worst]
            cells[kind] = {**counts, "total": sum(counts.values()),
                           "worst": [{"rule_id": rid, "fail": c["fail"],
                                      "evaluated": c["pass"] + c["fail"] + c["unknown"]} for rid, c in fails]}
        rows.append({"district_code": code or None, "name": names.get(code), "kinds": cells,
                     "total": {s: sum(cells[k][s] for k in KINDS) for s in (*STATUSES, "total")}})
    totals = {kind: {s: sum(r["kinds"][kind][s] for r in rows) for s in (*STATUSES, "total")} for kind in KINDS}
    worst_by_kind = {}
    for kind in KINDS:
        merged: dict[str, int] = defaultdict(int)
        for (_dc, k, rid), c in per_rule.items():
            if k == kind:
                merged[rid] += c["fail"]
        worst_by_kind[kind] = [{"rule_id": rid, "fail": n} for rid, n in
                               sorted(merged.items(), key=lambda item: (-item[1], _ORDER.get(item[0], 999))) if n][:5]
    units: dict[str, dict[str, Any]] = {}
    city = []
    for row in areas:
        if row["subject_type"] == "city":
            city.append(row)
        else:
            units.setdefault(row["district_code"], {"code": row["district_code"],
                                                    "name": names.get(row["district_code"]), "findings": []})
            units[row["district_code"]]["findings"].append(row)
    return {**meta, "districts": rows, "totals": totals, "worst_by_kind": worst_by_kind,
            "units": [units[c] for c in sorted(units)], "city": city}


# --------------------------------------------------------------------------- rectification list
def _responsible(kind: str, row: Mapping[str, Any]) -> tuple[str, str]:
    """(responsible unit label zh, en) of a facility, from its attributes where the data model records one."""
    if kind == "elevator":
        unit = row.get("user_unit")
        return (f"电梯使用单位：{unit}", f"Elevator user unit: {unit}") if unit else \
            ("电梯使用单位未记录", "Elevator user unit not recorded")
    if kind == "parking_lot":
        unit = row.get("operator")
        return (f"停车场经营者：{unit}", f"Parking operator: {unit}") if unit else \
            ("停车场经营者未记录", "Parking operator not recorded")
    if kind == "kindergarten":
        spec = KIND_SPECS[FacilityKind.KINDERGARTEN].field("operator_type")
        value = row.get("operator_type")
        choice = next((c for c in spec.choices if c.value == value), None)
        zh, en = (choice.zh, choice.en) if choice else ("办园性质未记录", "operator type not recorded")
        return f"幼儿园举办者（{zh}）：{row.get('name')}", f"Kindergarten operator ({en}): {row.get('name')}"
    label = KIND_SPECS[FacilityKind(kind)]
    return f"{label.zh}责任单位未记录", f"{label.en}: responsible unit not recorded"


def get_rectification(bind: Bind, district: str, as_of: dt.date | None = None) -> dict[str, Any]:
    """整改清单 of a county-level district: every failing finding, grouped by responsible unit.

    Responsible units come from the data where recorded: the elevator's user
    unit (使用单位), the parking operator (经营者), the kindergarten itself with
    its operator type; museums and study rooms record none.  District rules
    failing for the census unit of the same code are listed apart (the
    district government is responsible).
    """
    from registry.spatial import select_compliance_rows

    conn = connection_of(bind)
    names = district_names(conn)
    with source(conn, as_of) as src:
        t = src.findings
        fails = [dict(m) for m in conn.execute(
            select(t.c.facility_id, t.c.kind, t.c.rule_id, t.c.message_zh, t.c.message_en, t.c.related,
                   t.c.subject_type, t.c.progress)
            .where(t.c.verdict == "fail", t.c.district_code == district)
            .order_by(t.c.facility_id, t.c.rule_id)
        ).mappings()]
        meta = src.meta()
    by_facility: dict[int, list[dict[str, Any]]] = defaultdict(list)
    area_fails = []
    for row in fails:
        if row["subject_type"] == "facility":
            by_facility[row["facility_id"]].append(row)
        else:
            area_fails.append({**_finding_dict({**row, "verdict": "fail", "as_of": None})})
    facilities: dict[int, dict[str, Any]] = {}
    for kind in KINDS:
        ids = sorted(fid for fid, rows in by_facility.items() if rows[0]["kind"] == kind)
        for start in range(0, len(ids), 10_000):
            stmt = select_compliance_rows(kind, ids[start:start + 10_000],
                                          columns=(RESPONSIBLE_FIELD.get(kind, ""),))
            for m in conn.execute(stmt).mappings():
                facilities[m["id"]] = dict(m)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for fid, rows in by_facility.items():
        fac = facilities.get(fid)
        if fac is None:
            continue
        kind = rows[0]["kind"]
        key = _responsible(kind, fac)
        groups[key].append({
            "facility_id": fid, "kind": kind, "name": fac["name"], "address": fac.get("address"),
            "status": fac.get("status"),
            "findings": sorted((_finding_dict({**r, "verdict": "fail", "as_of": None}) for r in rows),
                               key=lambda d: _ORDER.get(d["rule_id"], 999)),
        })
    ordered = sorted(groups.items(), key=lambda item: (item[0][0].endswith("未记录"), -sum(len(f["findings"]) for f in
                                                                                      item[1]), item[0][0]))
    return {
        **meta,
        "district_code": district,
        "district_name": names.get(district),
        "groups": [{"unit_zh": zh, "unit_en": en, "facilities": sorted(facs, key=lambda f: (f["kind"], f["name"])),
                    "n_findings": sum(len(f["findings"]) for f in facs)} for (zh, en), facs in ordered],
        "district_findings": area_fails,
        "n_facilities": len(by_facility),
        "n_findings": sum(len(v) for v in by_facility.values()),
    }


# --------------------------------------------------------------------------- export
CSV_COLUMNS = ("subject_type", "facility_id", "external_id", "name", "kind", "district_code", "district_name",
               "rule_id", "verdict", "severity", "advisory", "citation", "message_zh", "message_en",
               "related", "as_of")


def _related_text(related: Sequence[Mapping[str, Any]] | None) -> str:
    if not related:
        return ""
    return "; ".join(f"{r.get('category')}:{r.get('name') or r.get('id')}"
                     + (f" {r['distance_m']:.1f} m" if r.get("distance_m") is not None else "") for r in related)


def iter_finding_rows(bind: Bind, as_of: dt.date | None = None, kind: str | None = None,
                      district: str | None = None) -> Iterator[dict[str, Any]]:
    """Every finding as a flat row (:data:`CSV_COLUMNS`), streamed: facility, district and city findings."""
    conn = connection_of(bind)
    names = district_names(conn)
    f = Facility.__table__
    with source(conn, as_of) as src:
        t = src.findings
        stmt = (
            select(t.c.subject_type, t.c.facility_id, f.c.external_id, f.c.name, t.c.kind, t.c.district_code,
                   t.c.rule_id, t.c.verdict, t.c.message_zh, t.c.message_en, t.c.related, t.c.as_of)
            .outerjoin(f, f.c.id == t.c.facility_id)
            .order_by(case((t.c.subject_type == "facility", 0), else_=1), t.c.facility_id, t.c.district_code,
                      t.c.rule_id, t.c.seq)
        )
        if kind:
            stmt = stmt.where(t.c.kind == kind)
        if district:
            stmt = stmt.where(t.c.district_code == district)
        result = conn.execute(stmt.execution_options(yield_per=5000))
        for row in result.mappings():
            rule = RULES.get(row["rule_id"])
            yield {
                **{k: row[k] for k in ("subject_type", "facility_id", "external_id", "name", "kind",
                                       "district_code", "rule_id", "verdict", "message_zh", "message_en")},
                "district_name": names.get(row["district_code"] or ""),
                "severity": rule.severity if rule else "",
                "advisory": rule.advisory if rule else False,
                "citation": rule.citation if rule else "",
                "related": _related_text(row["related"]),
                "as_of": row["as_of"].isoformat() if row["as_of"] else "",
            }


# --------------------------------------------------------------------------- list filters (for the facility list)
RULE_VERDICT_FOR_STATUS = {"non_compliant": "fail", "unknown": "unknown", "compliant": "pass"}
"""With ``rule=<ID>`` in a facility-list URL, ``compliance=<status>`` selects this verdict of that rule."""


def select_facility_ids_for_rule(rule_id: str, verdicts: Sequence[str] = ("fail",)) -> Any:
    """Core ``SELECT facility_id`` of the stored findings of ``rule_id`` with one of ``verdicts``.

    For the facility list's ``rule=SR-2&compliance=non_compliant`` filter:
    ``Facility.id.in_(select_facility_ids_for_rule("SR-2", ["fail"]))``.

    Raises
    ------
    ValueError
        If the rule or a verdict is unknown.
    """
    if rule_id not in RULES:
        raise ValueError(f"unknown rule {rule_id!r}")
    bad = [v for v in verdicts if v not in VERDICTS]
    if bad:
        raise ValueError(f"unknown verdict(s): {', '.join(bad)}; expected: {', '.join(VERDICTS)}")
    t = ComplianceFinding.__table__
    return select(t.c.facility_id).where(t.c.subject_type == "facility", t.c.rule_id == rule_id,
                                         t.c.verdict.in_(list(verdicts)))


__all__ = [
    "CSV_COLUMNS",
    "RULE_VERDICT_FOR_STATUS",
    "STATUSES",
    "VERDICTS",
    "Source",
    "district_names",
    "get_dashboard",
    "get_facility_compliance",
    "get_facility_findings",
    "get_rectification",
    "get_rule_counts",
    "get_summary",
    "iter_finding_rows",
    "latest_run",
    "resolve_district",
    "rule_dict",
    "select_facility_ids_for_rule",
    "source",
    "stored_dates",
]
