"""Facility rules of museums (MUS-6) and city study rooms (SR-1 … SR-14, SR-17) on hand-checkable fixtures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from registry.compliance import RULES, Verdict, evaluate_facility

AS_OF = dt.date(2024, 6, 1)
P, F, U, NA = Verdict.PASS, Verdict.FAIL, Verdict.UNKNOWN, Verdict.NOT_APPLICABLE

MUSEUM: dict[str, Any] = {
    "id": 1,
    "kind": "museum",
    "name": "测试博物馆",
    "status": "open",
    "district_code": "410105",
    "fire_security_ok": True,
    "storage_equipment_ok": True,
    "environment_monitoring_ok": True,
    "display_ok": True,
}

ROOM: dict[str, Any] = {
    "id": 2,
    "kind": "study_room",
    "name": "测试书房",
    "status": "open",
    "district_code": "410105",
    "city_number": "ZZSF-001",
    "floor_area_m2": 120.0,
    "seats": 30,
    "volumes": 5000,
    "opens_at": dt.time(8, 0),
    "closes_at": dt.time(23, 0),
    "open_every_day": True,
    "opened_date": dt.date(2020, 1, 1),
    "annual_renewal_pct": 12.0,
    "video_surveillance": True,
    "access_control": True,
    "security_networked": True,
    "rfid": True,
    "self_service_machine": True,
    "ebook_machine": True,
    "library_interop": True,
    "bandwidth_mbps": 200,
    "wifi": True,
    "has_water": True,
    "has_power": True,
    "has_network": True,
    "glass_box": False,
    "own_toilet": True,
    "tenure": "rented",
    "title_clear": True,
    "lease_years": 12.0,
    "air_conditioning": True,
    "drinking_water": True,
    "first_aid_kit": True,
    "reading_glasses": True,
    "umbrellas": True,
    "accessible": True,
    "damp_fire_protection": True,
    "occupies_road_space": False,
    "unified_logo": True,
    "annual_visits": 40000,
    "loans_per_reader": 2.5,
    "activities_per_year": None,
    "satisfaction_pct": None,
}

# (rule, base, changes, expected verdict, fragment of message_zh or message_en)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], Verdict, str]] = [
    ("MUS-6", MUSEUM, {}, P, "均符合"),
    ("MUS-6", MUSEUM, {"fire_security_ok": False}, F, "消防安防设施：否"),
    ("MUS-6", MUSEUM, {"display_ok": None}, U, "display facilities"),
    ("MUS-6", MUSEUM, {"status": "planned", "display_ok": None}, NA, "planned"),
    ("SR-1", ROOM, {}, P, "建筑面积 120 ≥ 80 m²"),
    ("SR-1", ROOM, {"floor_area_m2": 60.5}, F, "floor area 60.5 < 80 m²"),
    ("SR-1", ROOM, {"floor_area_m2": None}, U, "not recorded"),
    ("SR-2", ROOM, {}, P, "seats 30 ≥ 15"),
    ("SR-2", ROOM, {"seats": 12}, F, "阅览座席 12 < 15 个"),
    ("SR-2", ROOM, {"seats": None}, U, "阅览座席未记录"),
    ("SR-3", ROOM, {}, P, "5,000 ≥ 3,000"),
    ("SR-3", ROOM, {"volumes": 2999}, F, "2,999 < 3,000"),
    ("SR-3", ROOM, {"volumes": None}, U, "volumes not recorded"),
    ("SR-3", ROOM, {"status": "building", "volumes": 0}, NA, "在建"),
    ("SR-4", ROOM, {}, P, "08:00–23:00 (15 h) cover 09:00–23:00"),
    ("SR-4", ROOM, {"opens_at": dt.time(9, 0)}, P, "14 小时"),
    ("SR-4", ROOM, {"closes_at": dt.time(21, 0)}, F, "未覆盖 9:00—23:00"),
    ("SR-4", ROOM, {"open_every_day": False}, F, "open every day: no"),
    ("SR-4", ROOM, {"opens_at": dt.time(0, 0), "closes_at": dt.time(0, 0)}, P, "24 h"),
    ("SR-4", ROOM, {"closes_at": None}, U, "closing time not recorded"),
    ("SR-4", ROOM, {"status": "closed"}, NA, "closed"),
    ("SR-5", ROOM, {}, P, "12 ≥ 10 %"),
    ("SR-5", ROOM, {"annual_renewal_pct": 5.0}, F, "5 < 10 %"),
    ("SR-5", ROOM, {"annual_renewal_pct": None}, U, "not recorded"),
    ("SR-5", ROOM, {"annual_renewal_pct": 5.0, "opened_date": None}, U, "may still be the first year"),
    ("SR-5", ROOM, {"annual_renewal_pct": 0.0, "opened_date": dt.date(2024, 1, 1)}, NA, "未满一年"),
    ("SR-6", ROOM, {}, P, "all met"),
    ("SR-6", ROOM, {"security_networked": False, "access_control": None}, F, "also not recorded: anti-theft"),
    ("SR-6", ROOM, {"video_surveillance": None}, U, "安全监控系统"),
    ("SR-7", ROOM, {}, P, "all met"),
    ("SR-7", ROOM, {"rfid": False}, F, "RFID: no"),
    ("SR-7", ROOM, {"library_interop": None}, U, "通借通还"),
    ("SR-8", ROOM, {}, P, "200 ≥ 100 Mbps"),
    ("SR-8", ROOM, {"bandwidth_mbps": 50}, F, "带宽 50 < 100 Mbps"),
    ("SR-8", ROOM, {"wifi": None}, U, "Wi-Fi"),
    ("SR-9", ROOM, {}, P, "all met"),
    ("SR-9", ROOM, {"has_water": False}, F, "通水：否"),
    ("SR-9", ROOM, {"has_network": None}, U, "network"),
    ("SR-10", ROOM, {}, P, "not a glass box"),
    ("SR-10", ROOM, {"glass_box": True}, F, "玻璃房体：是（要求：否）"),
    ("SR-10", ROOM, {"glass_box": None}, U, "玻璃房体"),
    ("SR-11", ROOM, {}, P, "独立卫生间"),
    ("SR-11", ROOM, {"own_toilet": False}, F, "own toilet: no"),
    ("SR-11", ROOM, {"own_toilet": None}, U, "own toilet"),
    ("SR-12", ROOM, {}, P, "12 ≥ 10"),
    ("SR-12", ROOM, {"lease_years": 5.0}, F, "租期 5 < 10 年"),
    ("SR-12", ROOM, {"tenure": "owned", "lease_years": None}, P, "owned"),
    ("SR-12", ROOM, {"tenure": "owned", "title_clear": False}, F, "产权明晰：否"),
    ("SR-12", ROOM, {"tenure": None}, U, "tenure"),
    ("SR-13", ROOM, {}, P, "all met"),
    ("SR-13", ROOM, {"umbrellas": False}, F, "雨伞：否"),
    ("SR-13", ROOM, {"first_aid_kit": None}, U, "first-aid kit"),
    ("SR-14", ROOM, {}, P, "未侵占"),
    ("SR-14", ROOM, {"occupies_road_space": True}, F, "occupies road red-line space: yes"),
    ("SR-14", ROOM, {"occupies_road_space": None}, U, "道路红线"),
    ("SR-17", ROOM, {}, P, "统一编号 ZZSF-001"),
    ("SR-17", ROOM, {"unified_logo": False}, F, "unified logo: no"),
    ("SR-17", ROOM, {"city_number": "  "}, U, "统一编号未记录"),
    ("SR-17", ROOM, {"status": "planned", "city_number": None}, NA, "规划"),
]


def verdict_of(facility: dict[str, Any], rule_id: str) -> tuple[Verdict, str]:
    """Return the verdict and both messages of ``rule_id`` for ``facility``."""
    finding = next(f for f in evaluate_facility(facility, AS_OF) if f.rule_id == rule_id)
    return finding.verdict, finding.message_zh + " | " + finding.message_en


@pytest.mark.parametrize(
    ("rule_id", "base", "changes", "expected", "fragment"),
    CASES,
    ids=[f"{c[0]}-{c[3].value}-{i}" for i, c in enumerate(CASES)],
)
def test_rule_case(
    rule_id: str, base: dict[str, Any], changes: dict[str, Any], expected: Verdict, fragment: str
) -> None:
    verdict, message = verdict_of({**base, **changes}, rule_id)
    assert verdict is expected, message
    assert fragment in message
    assert message.startswith(rule_id + " ")


@pytest.mark.parametrize(
    "rule_id", [r.id for r in RULES.values() if r.kind in ("museum", "study_room") and r.scope == "facility"]
)
def test_every_facility_rule_has_pass_fail_unknown_cases(rule_id: str) -> None:
    assert {P, F, U} <= {c[3] for c in CASES if c[0] == rule_id}


def test_compliant_fixtures_are_compliant() -> None:
    for facility in (MUSEUM, ROOM):
        verdicts = {f.rule_id: f.verdict for f in evaluate_facility(facility, AS_OF) if not f.advisory}
        assert set(verdicts.values()) == {P}, verdicts


def test_sr4_notes_the_15_hour_discrepancy() -> None:
    _, message = verdict_of({**ROOM, "opens_at": dt.time(9, 0)}, "SR-4")
    assert "不少于15小时" in message and "14 h" in message


def test_sr17_reports_recorded_metrics_without_judging_them() -> None:
    _, message = verdict_of(ROOM, "SR-17")
    assert "2/4" in message and "visits per year 40,000" in message


def test_times_may_be_strings() -> None:
    verdict, message = verdict_of({**ROOM, "opens_at": "9:00", "closes_at": "23:30"}, "SR-4")
    assert verdict is P, message
