"""District and city rules over aggregated plain data: MUS-1 … MUS-5, SR-15 and the 2019 city targets.

Counts are three-valued too: a facility whose counted attribute (status,
category, ownership...) is blank is *uncertain*.  A target passes when the
confirmed count reaches it, fails when even counting every uncertain facility
cannot reach it (once its deadline has passed), and is unknown otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from registry.rules.base import (
    Outcome,
    Progress,
    Rule,
    Scope,
    Severity,
    failed,
    get,
    not_applicable,
    num,
    passed,
    unknown,
)
from registry.rules.quotes import QUOTES

Facility = Mapping[str, Any]
Tri = Callable[[Facility], bool | None]

MUS_DOC, SR_DOC, TARGETS_DOC = "郑政文〔2019〕89号", "郑政文〔2019〕92号", "郑政〔2019〕6号"
CITY_ADCODE = "410100"
PLAN_END = dt.date(2021, 12, 31)  # 89号: three-year plan 2019—2021
STUDY_ROOMS_DUE = dt.date(2019, 11, 30)  # 92号 六(四): trial operation by the end of November
YEAR_2019_END = dt.date(2019, 12, 31)  # 6号: 2019 livelihood targets

ZHENGZHOU_UNITS: dict[str, tuple[str, str]] = {
    "410102": ("中原区", "urban_district"),
    "410103": ("二七区", "urban_district"),
    "410104": ("管城回族区", "urban_district"),
    "410105": ("金水区", "urban_district"),
    "410106": ("上街区", "urban_district"),
    "410108": ("惠济区", "urban_district"),
    "410122": ("中牟县", "county"),
    "410171": ("郑州经济技术开发区", "functional_zone"),
    "410172": ("郑州高新技术产业开发区", "functional_zone"),
    "410173": ("郑州航空港经济综合实验区", "functional_zone"),
    "410181": ("巩义市", "county_city"),
    "410182": ("荥阳市", "county_city"),
    "410183": ("新密市", "county_city"),
    "410184": ("新郑市", "county_city"),
    "410185": ("登封市", "county_city"),
}
"""The 15 county-level census units with their unit type (郑东新区 has no census code)."""
COUNTY_TYPES = ("county", "county_city")
DISTRICT_TYPES = ("urban_district", "functional_zone")
CITY_PARKING_SCOPE = frozenset(
    {"410102", "410103", "410104", "410105", "410108", "410171", "410172", "410173"}
)
"""市区 for the berth target (135号 二): 中原、二七、金水、管城、惠济 and the zones."""


@dataclass(slots=True)
class UnitData:
    """One county-level unit with its population and its facilities grouped by kind."""

    adcode: str
    name: str
    unit_type: str | None
    population: float | None
    facilities: dict[str, list[Facility]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Facility]:
        """Facilities of ``kind`` in the unit."""
        return self.facilities.get(kind, [])


@dataclass(slots=True)
class CityData:
    """The whole city: population, every facility by kind and the supplied baselines."""

    population: float | None
    facilities: dict[str, list[Facility]]
    baselines: Mapping[str, float] = field(default_factory=dict)
    parking_scope: frozenset[str] = CITY_PARKING_SCOPE

    def of(self, kind: str) -> list[Facility]:
        """Facilities of ``kind`` in the city."""
        return self.facilities.get(kind, [])


# --------------------------------------------------------------------------- three-valued counting
def both(a: bool | None, b: bool | None) -> bool | None:
    """Three-valued AND."""
    if a is False or b is False:
        return False
    return True if a and b else None


def status_in(f: Facility, yes: Sequence[str]) -> bool | None:
    """Whether the facility's status is one of ``yes`` (None when blank)."""
    status = get(f, "status")
    return None if status is None else status in yes


def value_in(f: Facility, name: str, yes: Sequence[str]) -> bool | None:
    """Whether ``f[name]`` is one of ``yes`` (None when blank)."""
    value = get(f, name)
    return None if value is None else value in yes


def tri_count(items: Iterable[Facility], pred: Tri) -> tuple[int, int]:
    """Return (confirmed, uncertain) counts of ``pred``."""
    confirmed = uncertain = 0
    for item in items:
        answer = pred(item)
        if answer is True:
            confirmed += 1
        elif answer is None:
            uncertain += 1
    return confirmed, uncertain


def tri_sum(items: Iterable[Facility], pred: Tri, name: str) -> tuple[float, float | None]:
    """Return (confirmed sum, upper bound or None if unbounded) of ``f[name]`` over ``pred``."""
    total, upper = 0.0, 0.0
    for item in items:
        answer, value = pred(item), get(item, name)
        if answer is False:
            continue
        if value is None:
            upper = math.inf
            continue
        upper += value
        total += value if answer else 0
    return total, (None if math.isinf(upper) else upper)


def reach(progress: Progress, as_of: dt.date, unit: tuple[str, str] = ("", "")) -> Outcome:
    """Verdict of a :class:`Progress`: pass when reached; fail after the deadline when unreachable."""
    p, (uzh, uen) = progress, unit
    text_zh = f"{p.label_zh} {num(p.value)}{uzh} / 目标 {num(p.target)}{uzh}（{p.ratio:.0%}）"
    text_en = f"{p.label_en} {num(p.value)}{uen} / target {num(p.target)}{uen} ({p.ratio:.0%})"
    if p.value >= p.target:
        return passed(f"{text_zh}，已达到", f"{text_en}: reached", progress=p)
    if p.upper is None or p.upper >= p.target:
        more = "数据不全，上限不定" if p.upper is None else f"计入数据不全的设施最多 {num(p.upper)}"
        more_en = (
            "incomplete data, no upper bound"
            if p.upper is None
            else f"at most {num(p.upper)} counting incomplete records"
        )
        return unknown(f"{text_zh}；{more}", f"{text_en}; {more_en}", progress=p)
    if p.deadline is not None and as_of <= p.deadline:
        return unknown(
            f"{text_zh}；进行中，期限 {p.deadline}", f"{text_en}; in progress, due {p.deadline}", progress=p
        )
    return failed(f"{text_zh}，未达到", f"{text_en}: not reached", progress=p)


def _count(
    label: tuple[str, str], counts: tuple[int, int], target: float, deadline: dt.date | None
) -> Progress:
    confirmed, uncertain = counts
    return Progress(label[0], label[1], confirmed, target, confirmed + uncertain, deadline)


# --------------------------------------------------------------------------- predicates
def museum_exists(f: Facility) -> bool | None:
    """Open or renovating museums count; planned or under construction do not."""
    return status_in(f, ("open", "renovating"))


def study_room_built(f: Facility) -> bool | None:
    """Study rooms in trial operation or open count."""
    return status_in(f, ("trial", "open"))


def museum_of(name: str, values: Sequence[str]) -> Tri:
    """Predicate: an existing museum whose ``name`` attribute is one of ``values``."""
    return lambda f: both(museum_exists(f), value_in(f, name, values))


# --------------------------------------------------------------------------- per-unit checks
def _unit_type(unit: UnitData) -> str | None:
    return unit.unit_type or ZHENGZHOU_UNITS.get(unit.adcode, ("", None))[1]


def check_mus1(unit: UnitData | CityData, as_of: dt.date) -> Outcome:
    """MUS-1: ≤ 100,000 residents per museum (baseline 300,000)."""
    population = unit.population
    counts = tri_count(unit.of("museum"), museum_exists)
    if population is None:
        return unknown(
            f"人口未提供；现有博物馆 {counts[0]} 家", f"population not supplied; {counts[0]} museums"
        )
    needed = math.ceil(population / 100_000)
    per = f"{num(round(population / counts[0]))}" if counts[0] else "∞"
    base = "已达到" if counts[0] >= math.ceil(population / 300_000) else "未达到"
    base_en = "met" if base == "已达到" else "not met"
    result = reach(_count(("博物馆", "museums"), counts, needed, PLAN_END), as_of, (" 家", ""))
    return result._replace(
        zh=f"常住人口 {num(population)}，每 {per} 人拥有 1 家博物馆（要求 ≤ 100,000，即 ≥ {needed} 家；"
        f"基线 300,000 {base}）；{result.zh}",
        en=f"population {num(population)}: {per} residents per museum (required ≤ 100,000, i.e. ≥ {needed} "
        f"museums; 300,000 baseline {base_en}); {result.en}",
    )


def _typed(unit: UnitData, wanted: Sequence[str]) -> Outcome | None:
    kind = _unit_type(unit)
    if kind is None:
        return unknown("行政区类型未提供", "unit type not supplied")
    if kind not in wanted:
        return not_applicable(
            f"{unit.name}（{kind}）不适用本条", f"{unit.name} ({kind}): rule does not apply"
        )
    return None


def check_mus2(unit: UnitData, as_of: dt.date) -> list[Outcome]:
    """MUS-2: a county or county-level city has ≥ 1 comprehensive and ≥ 2 thematic museums ("1+2+N")."""
    skip = _typed(unit, COUNTY_TYPES)
    if skip:
        return [skip]
    museums = unit.of("museum")
    comp = tri_count(museums, museum_of("category", ("comprehensive",)))
    them = tri_count(museums, museum_of("category", ("thematic",)))
    return [
        reach(_count(("综合性博物馆", "comprehensive museums"), comp, 1, PLAN_END), as_of, (" 家", "")),
        reach(_count(("专题（特色）博物馆", "thematic museums"), them, 2, PLAN_END), as_of, (" 家", "")),
    ]


def check_mus3(unit: UnitData, as_of: dt.date) -> list[Outcome]:
    """MUS-3: an urban district or development zone has ≥ 2 thematic museums ("2+N")."""
    skip = _typed(unit, DISTRICT_TYPES)
    if skip:
        return [skip]
    them = tri_count(unit.of("museum"), museum_of("category", ("thematic",)))
    return [reach(_count(("专题（特色）博物馆", "thematic museums"), them, 2, PLAN_END), as_of, (" 家", ""))]


def check_sr15(unit: UnitData, as_of: dt.date) -> Outcome:
    """SR-15: every county, district and zone builds ≥ 3 study rooms."""
    counts = tri_count(unit.of("study_room"), study_room_built)
    return reach(
        _count(("已建成城市书房", "study rooms built"), counts, 3, STUDY_ROOMS_DUE), as_of, (" 个", "")
    )


# --------------------------------------------------------------------------- city checks
def city_mus1(city: CityData, as_of: dt.date) -> list[Outcome]:
    """MUS-1 for the whole city."""
    return [check_mus1(city, as_of)]


def city_sr15(city: CityData, as_of: dt.date) -> list[Outcome]:
    """SR-15 city target: 50 study rooms in 2019."""
    counts = tri_count(city.of("study_room"), study_room_built)
    return [
        reach(
            _count(("全市已建成城市书房", "study rooms built city-wide"), counts, 50, STUDY_ROOMS_DUE),
            as_of,
            (" 个", ""),
        )
    ]


def _new_in_plan(f: Facility) -> bool | None:
    year = get(f, "opened_year")
    return both(museum_exists(f), None if year is None else 2019 <= int(year) <= 2021)


def city_mus4(city: CityData, as_of: dt.date) -> list[Outcome]:
    """MUS-4: the 2021 city totals of the museum plan."""
    museums, unit = city.of("museum"), (" 家", "")
    counts = (
        (("2019—2021年新增博物馆", "new museums 2019–2021"), _new_in_plan, 100),
        (("国有（行业）博物馆", "state/industry museums"), museum_of("ownership", ("state", "industry")), 50),
        (("非国有博物馆", "non-state museums"), museum_of("ownership", ("non_state",)), 50),
        (
            ("国家三级以上博物馆", "museums of national grade 3 or better"),
            museum_of("grade", ("grade1", "grade2", "grade3")),
            30,
        ),
    )
    out = [
        reach(_count(label, tri_count(museums, pred), target, PLAN_END), as_of, unit)
        for label, pred, target in counts
    ]
    for label, name, target in (
        (("年展览数量", "exhibitions per year"), "annual_exhibitions", 300),
        (("年观众量", "visitors per year"), "annual_visitors", 20_000_000),
    ):
        total, upper = tri_sum(museums, museum_exists, name)
        out.append(reach(Progress(label[0], label[1], total, target, upper, PLAN_END), as_of))
    return out


CLUSTERS = (
    ("绿博", "中牟县绿博片区（中原文化博物馆小镇）", "Lübo area museum town, Zhongmu", "410122", 20),
    ("古荥", "惠济区古荥大运河文化片区博物馆聚落", "Guxing Grand Canal cluster, Huiji", "410108", 20),
    ("苑陵", "航空港区苑陵故城博物馆聚落", "Yuanling ancient city cluster, Airport zone", "410173", 10),
    ("双湖", "高新区双湖片区博物馆聚落", "Shuanghu cluster, High-tech zone", "410172", 10),
)
"""89号 四(五): keyword in the ``cluster`` field, labels, the unit that hosts it, museums "左右" (about)."""


def _in_cluster(keyword: str, adcode: str) -> Tri:
    def pred(f: Facility) -> bool | None:
        cluster = get(f, "cluster")
        if cluster is not None:
            member: bool | None = keyword in str(cluster)
        else:
            member = None if get(f, "district_code") in (adcode, None) else False
        return both(museum_exists(f), member)

    return pred


def city_mus5(city: CityData, as_of: dt.date) -> list[Outcome]:
    """MUS-5: the four museum clusters reach about their stated sizes."""
    museums = city.of("museum")
    return [
        reach(
            _count((zh, en), tri_count(museums, _in_cluster(key, code)), size, PLAN_END), as_of, (" 家", "")
        )
        for key, zh, en, code, size in CLUSTERS
    ]


def _delta(
    city: CityData,
    rule_id: str,
    label: tuple[str, str],
    now: tuple[float, float | None],
    target: float,
    as_of: dt.date,
) -> list[Outcome]:
    """Progress of a 'new in 2019' target: current total minus the supplied end-2018 baseline."""
    baseline = city.baselines.get(rule_id)
    if baseline is None:
        return [
            unknown(
                f"{label[0]}现有 {num(now[0])}；未提供2018年底基数，无法计算新增（目标 {num(target)}）",
                f"{label[1]} now {num(now[0])}; no end-2018 baseline supplied, cannot compute the increase "
                f"(target {num(target)})",
            )
        ]
    upper = None if now[1] is None else now[1] - baseline
    progress = Progress(f"新增{label[0]}", f"new {label[1]}", now[0] - baseline, target, upper, YEAR_2019_END)
    return [reach(progress, as_of)]


def city_kindergartens(city: CityData, as_of: dt.date) -> list[Outcome]:
    """KG-TARGET: 100 new public kindergartens in 2019."""
    confirmed, uncertain = tri_count(
        city.of("kindergarten"),
        lambda f: both(status_in(f, ("open",)), value_in(f, "operator_type", ("public",))),
    )
    return _delta(
        city,
        "KG-TARGET",
        ("公办幼儿园", "public kindergartens"),
        (confirmed, confirmed + uncertain),
        100,
        as_of,
    )


def _public_berth(city: CityData) -> Tri:
    def pred(f: Facility) -> bool | None:
        code = get(f, "district_code")
        inside = None if code is None else str(code) in city.parking_scope
        public = both(
            value_in(f, "parking_type", ("public", "temporary", "on_street")), status_in(f, ("open",))
        )
        return both(public, inside)

    return pred


def city_berths(city: CityData, as_of: dt.date) -> list[Outcome]:
    """PK-TARGET-BERTHS: ≥ 50,000 new public berths in the city districts in 2019."""
    now = tri_sum(city.of("parking_lot"), _public_berth(city), "spaces")
    return _delta(city, "PK-TARGET-BERTHS", ("公共停车泊位", "public berths"), now, 50_000, as_of)


def city_chargers(city: CityData, as_of: dt.date) -> list[Outcome]:
    """PK-TARGET-EV: 5,000 EV chargers built in 2019 (only those in registered lots are seen)."""
    now = tri_sum(city.of("parking_lot"), lambda f: status_in(f, ("open",)), "ev_chargers")
    return _delta(city, "PK-TARGET-EV", ("充电桩", "EV chargers"), now, 5_000, as_of)


UNIT_CHECKS: tuple[tuple[str, Callable[[UnitData, dt.date], Outcome | list[Outcome]]], ...] = (
    ("MUS-1", check_mus1),
    ("MUS-2", check_mus2),
    ("MUS-3", check_mus3),
    ("SR-15", check_sr15),
)
CITY_CHECKS: tuple[tuple[str, Callable[[CityData, dt.date], list[Outcome]]], ...] = (
    ("MUS-1", city_mus1),
    ("MUS-4", city_mus4),
    ("MUS-5", city_mus5),
    ("SR-15", city_sr15),
    ("KG-TARGET", city_kindergartens),
    ("PK-TARGET-BERTHS", city_berths),
    ("PK-TARGET-EV", city_chargers),
)


# --------------------------------------------------------------------------- registry
def _rule(
    rule_id: str,
    kind: str,
    scope: Scope,
    check: Any,
    citation: str,
    req: str,
    reads: tuple[str, ...],
    method: str,
    severity: Severity = "medium",
) -> Rule:
    return Rule(
        id=rule_id,
        kind=kind,
        scope=scope,
        severity=severity,
        check=check,
        citation=citation,
        requirement_zh=QUOTES[rule_id],
        requirement_en=req,
        reads=reads,
        method=method,
        per_facility=False,
    )


COUNT_NOTE = (
    " Counts only existing facilities; a blank counted attribute makes the facility uncertain: "
    "pass when confirmed ≥ target, fail when confirmed + uncertain < target after the deadline, "
    "else unknown (also before the deadline)."
)
RULES: tuple[Rule, ...] = (
    _rule(
        "MUS-1",
        "museum",
        "district",
        check_mus1,
        f"{MUS_DOC} 三(二)",
        "≤ 100,000 residents per museum (from a baseline of 300,000), city-wide and per county-level unit",
        ("population", "museum status"),
        "Per unit and city: open/renovating museums ≥ ceil(population / 100,000); the message also reports "
        "residents per museum and whether the 300,000 baseline is met. Population is the caller's (census "
        "units). Deadline 2021-12-31." + COUNT_NOTE,
    ),
    _rule(
        "MUS-2",
        "museum",
        "district",
        check_mus2,
        f"{MUS_DOC} 三(一)、四(二)",
        "Each county and county-level city: ≥ 1 comprehensive + ≥ 2 thematic museums ('1+2+N')",
        ("unit_type", "museum status, category"),
        "Units of type county/county_city (中牟县 and the five 市): two findings, comprehensive ≥ 1 and "
        "thematic ≥ 2; other units not applicable." + COUNT_NOTE,
    ),
    _rule(
        "MUS-3",
        "museum",
        "district",
        check_mus3,
        f"{MUS_DOC} 三(一)、四(二)",
        "Each urban district and the four zones: ≥ 2 thematic museums ('2+N')",
        ("unit_type", "museum status, category"),
        "Units of type urban_district/functional_zone: thematic ≥ 2. 郑东新区 has no census unit: it is "
        "evaluated only if the caller supplies it as a unit." + COUNT_NOTE,
    ),
    _rule(
        "MUS-4",
        "museum",
        "city",
        city_mus4,
        f"{MUS_DOC} 三(一)(三)(五)",
        (
            "By 2021: ≥ 100 new museums; ≥ 50 state/industry and ≥ 50 non-state; ≥ 300 exhibitions and ≥ 20 "
            "million visits a year; ≥ 30 of national grade 3 or better"
        ),
        ("museum status, opened_year, ownership, grade, annual_exhibitions, annual_visitors",),
        "Six progress findings: new = opened_year 2019–2021; sums of annual_exhibitions/annual_visitors "
        "over existing museums (a blank value makes the upper bound unbounded)." + COUNT_NOTE,
        "low",
    ),
    _rule(
        "MUS-5",
        "museum",
        "city",
        city_mus5,
        f"{MUS_DOC} 四(五)",
        "Clusters: 绿博 ~20, 古荥大运河 ~20, 苑陵故城 ~10, 双湖 ~10 museums",
        ("museum status, cluster, district_code",),
        "Four progress findings; a museum belongs to a cluster when its cluster field contains 绿博/古荥/苑陵/"
        "双湖; a blank cluster is uncertain only inside the host unit. '左右' (about) is read as the stated "
        "number." + COUNT_NOTE,
        "low",
    ),
    _rule(
        "SR-15",
        "study_room",
        "district",
        check_sr15,
        f"{SR_DOC} 二、五",
        "Each county/district/zone builds ≥ 3 study rooms; city target 50 in 2019",
        ("study_room status",),
        "Per unit: study rooms in trial or open ≥ 3; city: ≥ 50. Deadline 2019-11-30." + COUNT_NOTE,
    ),
    _rule(
        "KG-TARGET",
        "kindergarten",
        "city",
        city_kindergartens,
        f"{TARGETS_DOC} 二",
        "100 new public kindergartens in 2019",
        ("kindergarten status, operator_type", "baseline KG-TARGET"),
        "Open public kindergartens minus the end-2018 count the caller supplies as baselines['KG-TARGET'] "
        "(the data model has no opening date); without it, unknown. Deadline 2019-12-31. Not a DOMAIN rule "
        "ID: a city target.",
        "low",
    ),
    _rule(
        "PK-TARGET-BERTHS",
        "parking_lot",
        "city",
        city_berths,
        f"{TARGETS_DOC} 六；郑政文〔2018〕135号 三",
        "≥ 50,000 new public berths in the city districts (2018 and 2019)",
        ("parking_lot status, parking_type, spaces, district_code", "baseline PK-TARGET-BERTHS"),
        "Spaces of open public, temporary and on-street lots inside 市区 (中原, 二七, 金水, 管城, 惠济 and the "
        "zones) minus baselines['PK-TARGET-BERTHS']; without it, unknown. Deadline 2019-12-31.",
        "low",
    ),
    _rule(
        "PK-TARGET-EV",
        "parking_lot",
        "city",
        city_chargers,
        f"{TARGETS_DOC} 六",
        "5,000 EV chargers built in 2019",
        ("parking_lot status, ev_chargers", "baseline PK-TARGET-EV"),
        "ev_chargers of open lots minus baselines['PK-TARGET-EV'] (chargers outside registered lots are not "
        "seen); without a baseline, unknown. Deadline 2019-12-31.",
        "low",
    ),
)
