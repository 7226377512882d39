"""Compliance rule engine: the rule registry and the functions that evaluate it.

Pure Python over plain data: facilities are mappings with the field names of
:mod:`registry.kinds` plus ``id``, ``kind``, ``name``, ``status``,
``district_code`` and ``declared_district``; ``None`` means unknown and never
yields a PASS.  Distances come precomputed from the caller (PostGIS).

>>> import datetime as dt
>>> room = {"id": 7, "kind": "study_room", "seats": 12}
>>> [f.message_en for f in evaluate_facility(room, dt.date(2020, 1, 1)) if f.rule_id == "SR-2"]
['SR-2 seats 12 < 15']
>>> facility_status(evaluate_facility(room, dt.date(2020, 1, 1)))
'non_compliant'

Verdicts are PASS / FAIL / UNKNOWN / NOT_APPLICABLE, plus FLAG for the
advisory rule EL-10 (priority spot checks).  Findings of advisory rules
(EL-10, EL-11, SR-16) never change a facility's status.  The catalogue is
``docs/RULES.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from registry import localtime
from registry.rules import ALL_RULES
from registry.rules import district as _district
from registry.rules import spatial as _spatial
from registry.rules.base import (
    EvalContext,
    Finding,
    Fine,
    Neighbour,
    NeighbourPair,
    Outcome,
    Progress,
    Related,
    Rule,
    Scope,
    Severity,
    SpatialContext,
    Verdict,
)

__all__ = [
    "RULES",
    "Finding",
    "Fine",
    "Neighbour",
    "NeighbourPair",
    "Outcome",
    "Progress",
    "Related",
    "Rule",
    "Scope",
    "Severity",
    "SpatialContext",
    "Verdict",
    "build_contexts",
    "evaluate_city",
    "evaluate_districts",
    "evaluate_facilities",
    "evaluate_facility",
    "evaluate_residential_areas",
    "facility_status",
    "rules_for",
]

KINDS = ("museum", "study_room", "kindergarten", "elevator", "parking_lot")
_PREFIX_ORDER = {"MUS": 0, "SR": 1, "KG": 2, "EL": 3, "PK": 4}


def _order(rule: Rule) -> tuple[int, int, str]:
    match = re.fullmatch(r"([A-Z]+)-(\d+)", rule.id)
    if match:
        return _PREFIX_ORDER.get(match[1], 9), int(match[2]), ""
    return _PREFIX_ORDER.get(rule.id.split("-")[0], 9), 999, rule.id


RULES: dict[str, Rule] = {rule.id: rule for rule in sorted(ALL_RULES, key=_order)}
"""Every rule by ID, in catalogue order (MUS, SR, KG, EL, PK; then the city targets of each kind)."""

_FACILITY_RULES: dict[str, tuple[Rule, ...]] = {
    kind: tuple(r for r in RULES.values() if r.kind == kind and r.per_facility) for kind in KINDS
}


def rules_for(kind: str) -> list[Rule]:
    """Return every rule about ``kind`` (all scopes), in catalogue order.

    Raises
    ------
    ValueError
        If ``kind`` is not one of the five facility kinds.
    """
    if kind not in _FACILITY_RULES:
        raise ValueError(f"unknown facility kind {kind!r}; expected one of: {', '.join(KINDS)}")
    return [r for r in RULES.values() if r.kind == kind]


def _finding(
    rule: Rule, outcome: Outcome, subject_type: str, subject_id: Any, prefix: tuple[str, str] = ("", "")
) -> Finding:
    return Finding(
        rule.id,
        outcome.verdict,
        f"{rule.id} {prefix[0]}{outcome.zh}",
        f"{rule.id} {prefix[1]}{outcome.en}",
        rule.citation,
        rule.severity,
        rule.scope,
        rule.kind,
        subject_type,
        subject_id,
        outcome.related,
        outcome.progress,
        rule.advisory,
    )


def _run(rule: Rule, facility: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """Run a facility check; malformed values give UNKNOWN instead of stopping a bulk run."""
    try:
        return rule.check(facility, ctx)
    except (TypeError, ValueError, AttributeError) as exc:
        return Outcome(Verdict.UNKNOWN, f"数据格式无法解析：{exc}", f"malformed data: {exc}")


# --------------------------------------------------------------------------- facilities
def evaluate_facility(
    facility: Mapping[str, Any], as_of: dt.date | None = None, context: SpatialContext | None = None
) -> list[Finding]:
    """Evaluate every facility and spatial rule of the facility's kind.

    Parameters
    ----------
    facility : mapping
        Plain attributes, ``kind`` required; ``None`` or a blank string is unknown.
    as_of : datetime.date, optional
        Date the time rules are judged at (EL-2, EL-3, KG-2, KG-3, PK-3...); today by default.
    context : SpatialContext, optional
        Precomputed neighbours; without it the spatial parts of PK-7, EL-10 and KG-7 are unknown.

    Returns
    -------
    list of Finding
        One finding per rule, in catalogue order.

    Raises
    ------
    ValueError
        If ``facility["kind"]`` is not a facility kind.
    """
    kind = facility.get("kind")
    rules = _FACILITY_RULES.get(str(kind))
    if rules is None:
        raise ValueError(f"unknown facility kind {kind!r}; expected one of: {', '.join(KINDS)}")
    ctx = EvalContext(as_of or localtime.today(), context)
    subject = facility.get("id")
    return [_finding(rule, _run(rule, facility, ctx), "facility", subject) for rule in rules]


def facility_status(findings: Iterable[Finding], ignore: Collection[str] = ()) -> str:
    """Summarise findings: ``non_compliant`` if any fails, ``unknown`` if any is unknown, else ``compliant``.

    Not-applicable findings, findings of advisory rules and rules listed in
    ``ignore`` (e.g. ``{"KG-7"}`` when no venue layer exists) are left out.
    """
    status = "compliant"
    for finding in findings:
        if finding.advisory or finding.rule_id in ignore:
            continue
        if finding.verdict is Verdict.FAIL:
            return "non_compliant"
        if finding.verdict is Verdict.UNKNOWN:
            status = "unknown"
    return status


def build_contexts(
    pairs: Iterable[NeighbourPair | tuple[Any, ...]], searched: Mapping[str, float] | None = None
) -> dict[Any, SpatialContext]:
    """Group precomputed neighbour rows by facility id.

    Parameters
    ----------
    pairs : iterable of NeighbourPair or tuple
        ``(facility_id, category, distance_m[, neighbour_id[, neighbour_name]])`` rows,
        e.g. from one PostGIS ``ST_DWithin`` join per category.
    searched : mapping of str to float, optional
        ``category -> radius (m)`` searched for *every* facility; a category
        absent here only counts as "none nearby" when searched far enough.

    Returns
    -------
    dict
        Facility id -> :class:`SpatialContext` (only facilities with at least one row).
    """
    grouped: dict[Any, list[Neighbour]] = defaultdict(list)
    for row in pairs:
        pair = NeighbourPair(*row)
        grouped[pair.facility_id].append(
            Neighbour(pair.category, float(pair.distance_m), pair.neighbour_id, pair.neighbour_name)
        )
    radii = dict(searched or {})
    return {fid: SpatialContext(tuple(ns), radii) for fid, ns in grouped.items()}


def evaluate_facilities(
    facilities: Iterable[Mapping[str, Any]],
    as_of: dt.date | None = None,
    *,
    neighbours: Iterable[NeighbourPair | tuple[Any, ...]] | None = None,
    searched: Mapping[str, float] | None = None,
) -> Iterator[tuple[Any, list[Finding]]]:
    """Evaluate many facilities lazily: yields ``(facility id, findings)``.

    ``neighbours`` and ``searched`` are as in :func:`build_contexts`; a
    facility without neighbour rows gets an empty context with ``searched``
    (so "searched, nothing found" can pass).  Without both, spatial parts are
    unknown.
    """
    day = as_of or localtime.today()
    contexts = build_contexts(neighbours or (), searched)
    empty = SpatialContext((), dict(searched)) if searched is not None else None
    for facility in facilities:
        fid = facility.get("id")
        yield fid, evaluate_facility(facility, day, contexts.get(fid, empty))


# --------------------------------------------------------------------------- districts and city
def _by_kind(facilities: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for facility in facilities:
        grouped[str(facility.get("kind"))].append(facility)
    return grouped


def _units(
    units: Iterable[Mapping[str, Any]], facilities: Iterable[Mapping[str, Any]]
) -> list[_district.UnitData]:
    data = {
        str(u["adcode"]): _district.UnitData(
            str(u["adcode"]), str(u.get("name") or u["adcode"]), u.get("unit_type"), u.get("population")
        )
        for u in units
    }
    for facility in facilities:
        unit = data.get(str(facility.get("district_code")))
        if unit is not None:
            unit.facilities.setdefault(str(facility.get("kind")), []).append(facility)
    return list(data.values())


def evaluate_districts(
    units: Iterable[Mapping[str, Any]], facilities: Iterable[Mapping[str, Any]], as_of: dt.date | None = None
) -> list[Finding]:
    """Evaluate MUS-1, MUS-2, MUS-3 and SR-15 for each county-level unit.

    Parameters
    ----------
    units : iterable of mapping
        ``adcode``, ``name``, ``unit_type`` (urban_district / county / county_city /
        functional_zone; blank falls back to the known Zhengzhou codes) and ``population``.
    facilities : iterable of mapping
        Facilities of any kind with ``kind``, ``district_code`` (matching a unit's
        adcode), ``status`` and the attributes the rules count.
    as_of : datetime.date, optional
        Judgement date (targets not met before their deadline are unknown).

    Returns
    -------
    list of Finding
        ``subject_type="district"``, ``subject_id`` the adcode; MUS-2 gives two
        findings per county (comprehensive, thematic), each with a :class:`Progress`.
    """
    day = as_of or localtime.today()
    findings: list[Finding] = []
    for unit in _units(units, facilities):
        for rule_id, check in _district.UNIT_CHECKS:
            result = check(unit, day)
            for outcome in result if isinstance(result, list) else [result]:
                findings.append(
                    _finding(
                        RULES[rule_id], outcome, "district", unit.adcode, (f"{unit.name}：", f"{unit.name}: ")
                    )
                )
    return findings


def evaluate_city(
    units: Iterable[Mapping[str, Any]],
    facilities: Iterable[Mapping[str, Any]],
    as_of: dt.date | None = None,
    *,
    city_population: float | None = None,
    baselines: Mapping[str, float] | None = None,
    parking_scope: Collection[str] | None = None,
) -> list[Finding]:
    """Evaluate the city-wide rules and targets as progress findings.

    MUS-1 (city), MUS-4 (six totals), MUS-5 (four clusters), SR-15 (50 study
    rooms), KG-TARGET (100 new public kindergartens), PK-TARGET-BERTHS (50,000
    new public berths in 市区) and PK-TARGET-EV (5,000 chargers).

    Parameters
    ----------
    units : iterable of mapping
        As for :func:`evaluate_districts`; their populations are summed when
        ``city_population`` is not given (unknown if any is missing).
    facilities : iterable of mapping
        Every facility of the city.
    as_of : datetime.date, optional
        Judgement date.
    city_population : float, optional
        City population (e.g. 12,600,574 in the 2020 census).
    baselines : mapping, optional
        End-2018 totals keyed by target ID (``KG-TARGET``, ``PK-TARGET-BERTHS``,
        ``PK-TARGET-EV``); the "new in 2019" targets are unknown without them.
    parking_scope : collection of str, optional
        District codes forming 市区 for the berth target (default: 中原, 二七, 金水, 管城, 惠济 and the zones).
    """
    day = as_of or localtime.today()
    if city_population is None:
        pops = [u.get("population") for u in units]
        city_population = sum(float(p) for p in pops if p is not None) if pops and None not in pops else None
    city = _district.CityData(
        city_population,
        _by_kind(facilities),
        dict(baselines or {}),
        frozenset(parking_scope) if parking_scope is not None else _district.CITY_PARKING_SCOPE,
    )
    return [
        _finding(RULES[rule_id], outcome, "city", _district.CITY_ADCODE, ("郑州市：", "Zhengzhou: "))
        for rule_id, check in _district.CITY_CHECKS
        for outcome in check(city, day)
    ]


def evaluate_residential_areas(
    areas: Iterable[Mapping[str, Any]], radius_m: float = _spatial.KG6_RADIUS_M
) -> list[Finding]:
    """Evaluate KG-6 for residential areas (``id``, ``name``, ``population``, ``nearest_kindergarten_m``...).

    ``radius_m`` is the "surrounding area" (default 300 m, the GB 50180-2018
    5-minute life circle); the message names it.
    """
    rule = RULES["KG-6"]
    findings = []
    for area in areas:
        label = area.get("name") or area.get("id")
        prefix = (f"{label}（半径 {radius_m:g} m）：", f"{label} (radius {radius_m:g} m): ")
        findings.append(
            _finding(rule, _spatial.check_kg6(area, radius_m), "residential_area", area.get("id"), prefix)
        )
    return findings
