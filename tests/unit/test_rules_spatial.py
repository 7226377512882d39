"""Cross-kind spatial rules (PK-7, EL-10, KG-7, SR-16, KG-6) over precomputed neighbour distances."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from registry.compliance import (
    NeighbourPair,
    SpatialContext,
    Verdict,
    build_contexts,
    evaluate_facilities,
    evaluate_facility,
    evaluate_residential_areas,
    facility_status,
)
from registry.rules.spatial import KG7_LIMITS_M, PK7_LIMITS_M

AS_OF = dt.date(2024, 6, 1)
P, F, U, NA, FLAG = Verdict.PASS, Verdict.FAIL, Verdict.UNKNOWN, Verdict.NOT_APPLICABLE, Verdict.FLAG

BERTH: dict[str, Any] = {
    "id": 10,
    "kind": "parking_lot",
    "name": "文化路路内泊位",
    "status": "open",
    "parking_type": "on_street",
    "road_class": "branch",
    "on_sidewalk_or_green": False,
    "near_manhole": False,
    "on_fire_or_emergency_lane": False,
}
PK7_SEARCHED = SpatialContext((), dict(PK7_LIMITS_M))
LIFT: dict[str, Any] = {
    "id": 20,
    "kind": "elevator",
    "name": "商场扶梯",
    "status": "in_use",
    "public_gathering": False,
    "building_type": "办公楼",
    "faults_12m": 1,
    "private_single_family": False,
}
KG: dict[str, Any] = {"id": 30, "kind": "kindergarten", "name": "阳光幼儿园", "status": "open"}
ROOM: dict[str, Any] = {"id": 40, "kind": "study_room", "name": "测试书房", "status": "open"}


def finding(facility: dict[str, Any], rule_id: str, context: SpatialContext | None = None) -> Any:
    """Return the finding of ``rule_id``."""
    return next(f for f in evaluate_facility(facility, AS_OF, context) if f.rule_id == rule_id)


def ctx(*pairs: tuple[str, float, str], searched: dict[str, float] | None = None) -> SpatialContext:
    """A context for facility 0 from ``(category, distance_m, name)`` triples."""
    rows = [NeighbourPair(0, cat, dist, f"n{i}", name) for i, (cat, dist, name) in enumerate(pairs)]
    return build_contexts(rows, searched).get(0, SpatialContext((), searched or {}))


# --------------------------------------------------------------------------- PK-7
def test_pk7_passes_only_when_every_category_was_searched() -> None:
    result = finding(BERTH, "PK-7", PK7_SEARCHED)
    assert result.verdict is P, result.message_en
    assert result.severity == "high" and result.citation == "郑政〔2019〕7号 第二十八条"


def test_pk7_fails_within_50_m_of_a_kindergarten_entrance_naming_it() -> None:
    context = ctx(("kindergarten", 32.4, "阳光幼儿园"), searched=dict(PK7_LIMITS_M))
    result = finding(BERTH, "PK-7", context)
    assert result.verdict is F
    assert "距阳光幼儿园（幼儿园）32.4 m ≤ 50 m" in result.message_zh
    assert "32.4 m from 阳光幼儿园 (kindergarten) ≤ 50 m" in result.message_en
    (related,) = result.related
    assert (related.id, related.name, related.distance_m) == ("n0", "阳光幼儿园", 32.4)


def test_pk7_uses_15_m_for_residential_entrances() -> None:
    near = finding(BERTH, "PK-7", ctx(("residential", 12.0, "某小区北门"), searched=dict(PK7_LIMITS_M)))
    far = finding(BERTH, "PK-7", ctx(("residential", 20.0, "某小区北门"), searched=dict(PK7_LIMITS_M)))
    assert near.verdict is F and "≤ 15 m" in near.message_zh
    assert far.verdict is P


def test_pk7_a_hit_fails_even_if_the_search_was_not_declared() -> None:
    result = finding(BERTH, "PK-7", ctx(("bus_stop", 10.0, "文化路站")))
    assert result.verdict is F and "10 m from 文化路站 (bus stop) ≤ 50 m" in result.message_en


def test_pk7_attribute_parts_fail_without_any_context() -> None:
    result = finding({**BERTH, "near_manhole": True, "road_class": "arterial"}, "PK-7")
    assert result.verdict is F
    assert "在地下管道工作井1.5米范围内：是" in result.message_zh and "arterial" in result.message_en


def test_pk7_without_context_is_unknown() -> None:
    result = finding(BERTH, "PK-7")
    assert result.verdict is U and "not searched: intersection (50 m)" in result.message_en


def test_pk7_unknown_road_class_is_unknown() -> None:
    assert finding({**BERTH, "road_class": None}, "PK-7", PK7_SEARCHED).verdict is U


def test_pk7_does_not_apply_off_street_or_to_removed_berths() -> None:
    assert finding({**BERTH, "parking_type": "public"}, "PK-7").verdict is NA
    assert finding({**BERTH, "status": "closed"}, "PK-7").verdict is NA


# --------------------------------------------------------------------------- EL-10
def test_el10_flags_public_gathering_places_without_changing_status() -> None:
    result = finding({**LIFT, "public_gathering": True, "building_type": "商场"}, "EL-10")
    assert result.verdict is FLAG and result.advisory and result.severity == "info"
    assert "重点监督抽查：公众聚集场所（商场）" in result.message_zh
    assert facility_status([result]) == "compliant"


def test_el10_flags_an_elevator_within_30_m_of_a_kindergarten() -> None:
    result = finding(LIFT, "EL-10", ctx(("kindergarten", 18.0, "阳光幼儿园"), searched={"kindergarten": 30}))
    assert result.verdict is FLAG and result.related[0].name == "阳光幼儿园"


def test_el10_flags_frequent_faults_and_reads_the_building_type() -> None:
    assert finding({**LIFT, "faults_12m": 7}, "EL-10").verdict is FLAG
    assert (
        finding({**LIFT, "public_gathering": None, "building_type": "人民医院门诊楼"}, "EL-10").verdict
        is FLAG
    )


def test_el10_not_applicable_when_nothing_applies_and_everything_is_known() -> None:
    result = finding(LIFT, "EL-10", SpatialContext((), {"kindergarten": 30}))
    assert result.verdict is NA


def test_el10_unknown_without_data() -> None:
    assert finding(LIFT, "EL-10").verdict is U
    unknown_place = finding(
        {**LIFT, "public_gathering": None, "building_type": None},
        "EL-10",
        SpatialContext((), {"kindergarten": 30}),
    )
    assert unknown_place.verdict is U and "public gathering place" in unknown_place.message_en


def test_el10_private_elevators_are_out_of_scope() -> None:
    assert finding({**LIFT, "private_single_family": True}, "EL-10").verdict is NA


# --------------------------------------------------------------------------- KG-7
def test_kg7_fails_with_an_internet_cafe_within_200_m() -> None:
    result = finding(KG, "KG-7", ctx(("internet_cafe", 120.0, "极速网咖"), searched=dict(KG7_LIMITS_M)))
    assert result.verdict is F and "距极速网咖（营业性上网服务场所）120 m ≤ 200 m" in result.message_zh


def test_kg7_passes_when_both_layers_were_searched_to_200_m() -> None:
    result = finding(KG, "KG-7", ctx(("internet_cafe", 250.0, "远处网咖"), searched=dict(KG7_LIMITS_M)))
    assert result.verdict is P


def test_kg7_unknown_when_a_layer_was_not_searched_far_enough() -> None:
    assert finding(KG, "KG-7").verdict is U
    assert finding(KG, "KG-7", SpatialContext((), {"entertainment": 200, "internet_cafe": 100})).verdict is U


def test_kg7_not_applicable_to_closed_kindergartens() -> None:
    assert finding({**KG, "status": "closed"}, "KG-7").verdict is NA


# --------------------------------------------------------------------------- SR-16
def test_sr16_is_always_unknown_advisory_and_reports_the_nearest_library() -> None:
    result = finding(
        ROOM, "SR-16", ctx(("public_library", 850.0, "郑州图书馆"), ("bookstore", 420.0, "某书店"))
    )
    assert result.verdict is U and result.advisory
    assert "最近民营书店：某书店 420 m" in result.message_zh and "sets no distance" in result.message_en
    assert facility_status([result]) == "compliant"


def test_sr16_without_neighbours() -> None:
    result = finding(ROOM, "SR-16")
    assert result.verdict is U and "须人工判定" in result.message_zh


# --------------------------------------------------------------------------- KG-6
@pytest.mark.parametrize(
    ("area", "expected", "fragment"),
    [
        (
            {
                "id": "a1",
                "name": "甲组团",
                "population": 3200,
                "nearest_kindergarten_m": 240.0,
                "nearest_kindergarten_name": "阳光幼儿园",
            },
            P,
            "最近幼儿园 阳光幼儿园 240 m ≤ 300 m",
        ),
        (
            {
                "id": "a2",
                "name": "乙组团",
                "population": 3200,
                "nearest_kindergarten_m": 650.0,
                "nearest_kindergarten_name": "阳光幼儿园",
            },
            F,
            "population 3,200 < 5000; nearest kindergarten 阳光幼儿园 650 m > 300 m",
        ),
        (
            {"id": "a3", "name": "丙组团", "population": None, "nearest_kindergarten_m": 650.0},
            U,
            "population not recorded",
        ),
        (
            {"id": "a4", "name": "丁组团", "population": 3200, "nearest_kindergarten_m": None},
            U,
            "not supplied",
        ),
        (
            {"id": "a5", "name": "大型小区", "population": 12000, "nearest_kindergarten_m": 900.0},
            NA,
            "own kindergarten",
        ),
    ],
)
def test_kg6_residential_areas(area: dict[str, Any], expected: Verdict, fragment: str) -> None:
    (result,) = evaluate_residential_areas([area])
    assert result.verdict is expected and result.subject_type == "residential_area"
    assert result.subject_id == area["id"]
    assert fragment in result.message_zh + result.message_en
    assert f"{area['name']}（半径 300 m）" in result.message_zh


def test_kg6_radius_is_a_parameter_named_in_the_message() -> None:
    (result,) = evaluate_residential_areas(
        [{"id": 1, "name": "甲", "population": 100, "nearest_kindergarten_m": 450.0}], radius_m=500
    )
    assert result.verdict is P and "radius 500 m" in result.message_en


# --------------------------------------------------------------------------- bulk wiring
def test_evaluate_facilities_gives_unmatched_facilities_the_searched_radii() -> None:
    berths = [{**BERTH, "id": 1}, {**BERTH, "id": 2}]
    rows = [(1, "kindergarten", 40.0, 99, "阳光幼儿园")]
    results = dict(evaluate_facilities(berths, AS_OF, neighbours=rows, searched=PK7_LIMITS_M))
    pk7 = {fid: next(f for f in fs if f.rule_id == "PK-7").verdict for fid, fs in results.items()}
    assert pk7 == {1: F, 2: P}


def test_evaluate_facilities_without_spatial_data_leaves_spatial_parts_unknown() -> None:
    ((fid, findings),) = list(evaluate_facilities([BERTH], AS_OF))
    assert fid == 10 and next(f for f in findings if f.rule_id == "PK-7").verdict is U
