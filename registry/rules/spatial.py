"""Cross-kind spatial rules: PK-7, EL-10, KG-7, SR-16 (per facility) and KG-6 (per residential area).

Distances are never computed here: the caller measures them in PostGIS (metres,
geography or EPSG:4547) and passes them in a :class:`SpatialContext`.  The
spatial part of a rule passes only when every category it needs was searched to
at least the rule's distance and nothing was found; a neighbour found inside the
distance fails it whether or not the search was declared complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.rules import elevator
from registry.rules.base import (
    EvalContext,
    Outcome,
    Related,
    Rule,
    SpatialContext,
    Verdict,
    checklist,
    combine,
    failed,
    get,
    not_applicable,
    num,
    passed,
    unknown,
)
from registry.rules.parking_lot import only_types
from registry.rules.quotes import QUOTES

NEIGHBOUR_LABELS: dict[str, tuple[str, str]] = {
    "intersection": ("道路交叉口", "intersection"),
    "bus_stop": ("公交站点", "bus stop"),
    "hospital": ("医院", "hospital"),
    "school": ("学校", "school"),
    "kindergarten": ("幼儿园", "kindergarten"),
    "institution": ("机关、团体、企业、事业单位", "institution"),
    "residential": ("居民住宅区", "residential compound"),
    "entertainment": ("歌舞、游戏等娱乐场所", "entertainment venue"),
    "internet_cafe": ("营业性上网服务场所", "internet café"),
    "public_library": ("公共图书馆", "public library"),
    "bookstore": ("民营书店", "bookstore"),
}
"""Neighbour categories the caller may supply, with their labels."""

PK7_LIMITS_M: dict[str, float] = {
    "intersection": 50,
    "bus_stop": 50,
    "hospital": 50,
    "school": 50,
    "kindergarten": 50,
    "institution": 15,
    "residential": 15,
}
"""Art.28(四): no berths within 50 m of intersections, bus stops, hospital/school/kindergarten
entrances, or within 15 m of other institutional and residential entrances."""
KG7_LIMITS_M: dict[str, float] = {"entertainment": 200, "internet_cafe": 200}
EL10_KINDERGARTEN_RADIUS_M = 30.0
"""Proxy for "elevator in a kindergarten's building" (not a distance of the regulation)."""
KG6_RADIUS_M = 300.0
"""Default "surrounding area" of KG-6: the GB 50180-2018 5-minute life circle."""
KG6_MAX_POPULATION = 5000
GATHERING_WORDS = (
    "学校",
    "幼儿园",
    "医院",
    "商场",
    "商城",
    "购物",
    "超市",
    "娱乐",
    "体育",
    "展览",
    "博物馆",
    "车站",
    "机场",
    "地铁",
    "公园",
    "景区",
    "影院",
    "剧院",
    "school",
    "hospital",
    "mall",
    "station",
    "airport",
)
NON_GATHERING_WORDS = ("住宅", "小区", "宿舍", "办公", "写字楼", "厂房", "仓库", "residential", "office")


def proximity(spatial: SpatialContext | None, limits: Mapping[str, float]) -> tuple[list[Related], list[str]]:
    """Return the neighbours inside their category's limit and the categories not searched far enough."""
    hits: list[Related] = []
    unsearched: list[str] = []
    for category, limit in limits.items():
        if spatial is None:
            unsearched.append(category)
            continue
        hits += [Related(n.id, n.name, category, n.distance_m) for n in spatial.within(category, limit)]
        if not spatial.covers(category, limit):
            unsearched.append(category)
    return sorted(hits, key=lambda r: r.distance_m or 0.0), unsearched


def _hit_text(hits: list[Related], limits: Mapping[str, float]) -> tuple[str, str]:
    zh = "；".join(
        f"距{h.name or h.id}（{NEIGHBOUR_LABELS[h.category][0]}）{num(h.distance_m or 0)} m ≤ "
        f"{num(limits[h.category])} m"
        for h in hits
    )
    en = "; ".join(
        f"{num(h.distance_m or 0)} m from {h.name or h.id} ({NEIGHBOUR_LABELS[h.category][1]}) ≤ "
        f"{num(limits[h.category])} m"
        for h in hits
    )
    return zh, en


def _unsearched_text(categories: list[str], limits: Mapping[str, float]) -> tuple[str, str]:
    zh = "、".join(f"{NEIGHBOUR_LABELS[c][0]}（{num(limits[c])} m）" for c in categories)
    en = ", ".join(f"{NEIGHBOUR_LABELS[c][1]} ({num(limits[c])} m)" for c in categories)
    return f"未检索：{zh}", f"not searched: {en}"


def near(spatial: SpatialContext | None, limits: Mapping[str, float], clear: tuple[str, str]) -> Outcome:
    """FAIL with the neighbours inside ``limits``; UNKNOWN if a category was not searched; else PASS."""
    hits, unsearched = proximity(spatial, limits)
    if hits:
        return failed(*_hit_text(hits, limits), related=tuple(hits))
    if unsearched:
        zh, en = _unsearched_text(unsearched, limits)
        return unknown(f"{zh}，无法判定", f"{en}: cannot decide")
    return passed(*clear)


# --------------------------------------------------------------------------- PK-7
def _road(f: Mapping[str, Any]) -> Outcome:
    road = get(f, "road_class")
    if road is None:
        return unknown("所在道路等级未记录", "road class not recorded")
    if road in ("expressway", "arterial"):
        zh = "城市快速路" if road == "expressway" else "市区主干路"
        return failed(f"设置在{zh}上", f"on an {'expressway' if road == 'expressway' else 'arterial road'}")
    return passed("不在快速路、主干路上", "not on an expressway or arterial road")


def check_pk7(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """PK-7: on-street berths only where Art.28 allows them."""
    skip = only_types(f, ("on_street",))
    if skip:
        return skip
    if get(f, "status") == "closed":
        return not_applicable("泊位已撤销", "berths removed")
    attributes = checklist(
        f,
        (
            ("on_sidewalk_or_green", "占用人行道或城市道路绿化带", "on sidewalk or green belt", False),
            ("near_manhole", "在地下管道工作井1.5米范围内", "within 1.5 m of a utility manhole", False),
            (
                "on_fire_or_emergency_lane",
                "占用消防、无障碍或医疗救护通道",
                "on a fire, accessible or ambulance route",
                False,
            ),
        ),
    )
    spatial = near(
        ctx.spatial,
        PK7_LIMITS_M,
        ("50 m / 15 m 范围内无禁设对象", "no restricted entrance within 50 m / 15 m"),
    )
    return combine(attributes, _road(f), spatial)


# --------------------------------------------------------------------------- EL-10
def gathering_place(f: Mapping[str, Any]) -> bool | None:
    """Whether the elevator is in a public gathering place (Art.34), from the flag or the building type."""
    flag = get(f, "public_gathering")
    if flag is not None:
        return bool(flag)
    text = str(get(f, "building_type") or "").lower()
    if any(w in text for w in GATHERING_WORDS):
        return True
    if any(w in text for w in NON_GATHERING_WORDS):
        return False
    return None


def _el10_reasons(
    f: Mapping[str, Any], ctx: EvalContext
) -> tuple[list[tuple[str, str]], list[str], list[Related]]:
    reasons: list[tuple[str, str]] = []
    undecided: list[str] = []
    gathering = gathering_place(f)
    if gathering:
        kind = get(f, "building_type")
        reasons.append(
            (
                f"公众聚集场所{f'（{kind}）' if kind else ''}",
                f"public gathering place{f' ({kind})' if kind else ''}",
            )
        )
    elif gathering is None:
        undecided.append("公众聚集场所/public gathering place")
    faults = get(f, "faults_12m")
    if faults is None:
        undecided.append("近12个月故障次数/faults in 12 months")
    elif faults >= elevator.FREQUENT_FAULTS_12M:
        reasons.append(
            (f"故障频率较高（{num(faults)} 次/12个月）", f"frequent faults ({num(faults)} in 12 months)")
        )
    limits = {"kindergarten": EL10_KINDERGARTEN_RADIUS_M}
    hits, unsearched = proximity(ctx.spatial, limits)
    if hits:
        reasons.append(_hit_text(hits, limits))
    elif unsearched:
        radius = num(EL10_KINDERGARTEN_RADIUS_M)
        undecided.append(f"{radius} m 内幼儿园/kindergarten within {radius} m")
    return reasons, undecided, hits


def check_el10(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-10 (advisory): FLAG elevators due for priority spot checks."""
    skip = elevator.out_of_scope(f)
    if skip:
        return skip
    reasons, undecided, hits = _el10_reasons(f, ctx)
    if reasons:
        return Outcome(
            Verdict.FLAG,
            "重点监督抽查：" + "；".join(r[0] for r in reasons),
            "priority spot check: " + "; ".join(r[1] for r in reasons),
            tuple(hits),
        )
    if undecided:
        names = [u.split("/") for u in undecided]
        return unknown(
            f"未记录{'、'.join(n[0] for n in names)}，无法判定是否重点抽查",
            f"{', '.join(n[1] for n in names)} not recorded: cannot tell whether priority applies",
        )
    return not_applicable(
        "非公众聚集场所、故障不频繁、附近无幼儿园：非重点抽查对象",
        "not a gathering place, few faults, no kindergarten nearby: no priority",
    )


# --------------------------------------------------------------------------- KG-7, SR-16
def check_kg7(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """KG-7: no entertainment venues or internet cafés within 200 m of the kindergarten."""
    if get(f, "status") == "closed":
        return not_applicable("幼儿园已停办", "kindergarten closed")
    return near(
        ctx.spatial,
        KG7_LIMITS_M,
        ("200 m 内无娱乐场所、营业性上网服务场所", "no entertainment venue or internet café within 200 m"),
    )


def check_sr16(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-16 (advisory): siting needs a planner's judgement; always unknown, nearest libraries reported."""
    zh = "选址须人工判定：方案要求按服务半径或服务人口布局、与公共图书馆和民营书店错位布局，未规定距离阈值"
    en = (
        "siting needs a planner's judgement: the plan asks for service radius/population and complementarity "
        "with public libraries and bookstores but sets no distance"
    )
    found = [
        n
        for n in (ctx.spatial.neighbours if ctx.spatial else ())
        if n.category in ("public_library", "bookstore")
    ]
    if found:
        nearest = min(found, key=lambda n: n.distance_m)
        label = NEIGHBOUR_LABELS[nearest.category]
        zh += f"；最近{label[0]}：{nearest.name or nearest.id} {num(nearest.distance_m)} m"
        en += f"; nearest {label[1]}: {nearest.name or nearest.id} {num(nearest.distance_m)} m"
        related = (Related(nearest.id, nearest.name, nearest.category, nearest.distance_m),)
        return unknown(zh, en, related)
    return unknown(zh, en)


# --------------------------------------------------------------------------- KG-6 (residential areas)
def check_kg6(area: Mapping[str, Any], radius_m: float = KG6_RADIUS_M) -> Outcome:
    """KG-6: a residential area under 5,000 people has a kindergarten within ``radius_m``.

    ``area`` carries ``population`` and ``nearest_kindergarten_m`` (with
    optional ``nearest_kindergarten_id`` / ``nearest_kindergarten_name``).
    """
    distance, population = get(area, "nearest_kindergarten_m"), get(area, "population")
    name = get(area, "nearest_kindergarten_name") or get(area, "nearest_kindergarten_id")
    related = (
        (Related(get(area, "nearest_kindergarten_id"), name, "kindergarten", distance),)
        if distance is not None
        else ()
    )
    if distance is not None and distance <= radius_m:
        return passed(
            f"最近幼儿园 {name} {num(distance)} m ≤ {num(radius_m)} m",
            f"nearest kindergarten {name} {num(distance)} m ≤ {num(radius_m)} m",
            related,
        )
    if population is None:
        return unknown("人口未记录，无法确定是否不足5000人", "population not recorded", related)
    if population >= KG6_MAX_POPULATION:
        return not_applicable(
            f"人口 {num(population)} ≥ {KG6_MAX_POPULATION}：应自行配建幼儿园（另行要求）",
            f"population {num(population)} ≥ {KG6_MAX_POPULATION}: needs its own kindergarten",
        )
    if distance is None:
        return unknown("最近幼儿园距离未提供", "distance to the nearest kindergarten not supplied")
    return failed(
        f"人口 {num(population)} < {KG6_MAX_POPULATION}，最近幼儿园 {name} {num(distance)} m > {num(radius_m)} m",
        f"population {num(population)} < {KG6_MAX_POPULATION}; nearest kindergarten {name} "
        f"{num(distance)} m > {num(radius_m)} m",
        related,
    )


# --------------------------------------------------------------------------- registry
RULES: tuple[Rule, ...] = (
    Rule(
        id="PK-7",
        kind="parking_lot",
        scope="spatial",
        severity="high",
        check=check_pk7,
        citation="郑政〔2019〕7号 第二十八条",
        requirement_zh=QUOTES["PK-7"],
        requirement_en="No on-street berths on sidewalks or green belts, within 1.5 m of manholes, on fire/"
        "accessible/ambulance routes, within 50 m of intersections, bus stops and hospital/school/"
        "kindergarten entrances, within 15 m of other institutional or residential entrances, or on "
        "expressways and arterials",
        reads=(
            "parking_type",
            "status",
            "on_sidewalk_or_green",
            "near_manhole",
            "on_fire_or_emergency_lane",
            "road_class",
            "neighbours: " + ", ".join(PK7_LIMITS_M),
        ),
        method="On-street berths only. Attribute parts: the three yes/no fields must be no, road_class must "
        "not be expressway/arterial (secondary and branch roads pass: traffic volume is not recorded). "
        "Spatial part: any neighbour of a listed category within 50 m (15 m for institution/residential) "
        "fails with its name and distance (straight-line distance to the entrance, a conservative proxy "
        "for the distance along the carriageway); passes only when every category was searched to its "
        "distance. Without a spatial context the spatial part is unknown.",
    ),
    Rule(
        id="EL-10",
        kind="elevator",
        scope="spatial",
        severity="info",
        check=check_el10,
        advisory=True,
        citation="郑州市人民政府令第221号 第二十三条、第三十四条",
        requirement_zh=QUOTES["EL-10"],
        requirement_en="Elevators in public gathering places (schools, kindergartens, hospitals, malls, "
        "venues, stations, airports, parks, scenic areas) or with frequent faults get priority spot checks",
        reads=("public_gathering", "building_type", "faults_12m", "neighbours: kindergarten"),
        method=f"Advisory: verdict FLAG (never FAIL, never changes status) when public_gathering is yes (or "
        f"building_type names a gathering place), faults_12m ≥ {elevator.FREQUENT_FAULTS_12M}, or a "
        f"kindergarten lies within {num(EL10_KINDERGARTEN_RADIUS_M)} m (a proxy for 'in the kindergarten's "
        "building', not a distance of the regulation). Not applicable when none holds and all are known; "
        "else unknown.",
    ),
    Rule(
        id="KG-7",
        kind="kindergarten",
        scope="spatial",
        severity="high",
        check=check_kg7,
        citation="郑政办〔2018〕69号 三(二)2 九是",
        requirement_zh=QUOTES["KG-7"],
        requirement_en="No entertainment venues (song and dance, games) or internet cafés within 200 m of a "
        "school or kindergarten",
        reads=("status", "neighbours: entertainment, internet_cafe"),
        method="Fails with the venues found within 200 m; passes when both categories were searched to 200 "
        "m and "
        "none found; otherwise unknown (the registry holds no venue layer: the caller must supply one). "
        "Not applicable to closed kindergartens.",
    ),
    Rule(
        id="SR-16",
        kind="study_room",
        scope="spatial",
        severity="info",
        check=check_sr16,
        advisory=True,
        citation="郑政文〔2019〕92号 四(一)；郑政文〔2019〕92号 附件 一",
        requirement_zh=QUOTES["SR-16"],
        requirement_en="Sited by service radius or population, near dense, accessible, quiet streets; "
        "complementary to (not on top of) public libraries and bookstores",
        reads=("neighbours: public_library, bookstore",),
        method="Not checkable: the plan sets no radius or distance. Always unknown (advisory, never changes "
        "status); the nearest library/bookstore is reported when supplied. Coverage analysis in the "
        "planner's UI covers the service-radius part.",
    ),
    Rule(
        id="KG-6",
        kind="kindergarten",
        scope="spatial",
        severity="medium",
        check=check_kg6,
        per_facility=False,
        citation="郑政办〔2019〕31号 三(一)1",
        requirement_zh=QUOTES["KG-6"],
        requirement_en="Residential areas under 5,000 people are served by a kindergarten planned in the "
        "surrounding area",
        reads=("residential area: population, nearest_kindergarten_m",),
        method=f"Evaluated per residential area (not per kindergarten) by evaluate_residential_areas: a "
        f"kindergarten within the radius (default {num(KG6_RADIUS_M)} m, the GB 50180-2018 5-minute "
        "circle; the document states no distance) passes; population ≥ 5,000 is not applicable; "
        "population < 5,000 with the nearest kindergarten farther fails; missing data is unknown. "
        "The data model holds no residential areas: the caller supplies them.",
    ),
)
