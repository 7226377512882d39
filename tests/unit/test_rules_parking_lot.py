"""Parking facility rules (PK-1 … PK-6, PK-8) of 郑政〔2019〕7号 and 郑政文〔2018〕135号 on small fixtures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from registry.compliance import RULES, Verdict, evaluate_facility

AS_OF = dt.date(2024, 6, 1)
P, F, U, NA = Verdict.PASS, Verdict.FAIL, Verdict.UNKNOWN, Verdict.NOT_APPLICABLE

LOT: dict[str, Any] = {
    "id": 5,
    "kind": "parking_lot",
    "name": "金水路公共停车场",
    "status": "open",
    "district_code": "410105",
    "parking_type": "public",
    "structure": "surface",
    "operator": "某停车管理公司",
    "spaces": 150,
    "ev_spaces": 10,
    "ev_chargers": 8,
    "accessible_spaces": 3,
    "operating": True,
    "licence_date": dt.date(2019, 3, 1),
    "filing_date": dt.date(2019, 3, 10),
    "fees": "5元/小时",
    "hours": "24小时",
    "platform_connected": True,
    "has_sign": True,
    "hard_surface": True,
    "markings": True,
    "wheel_stops": True,
    "ventilation_lighting_drainage": True,
    "entrances_compliant": True,
    "cctv": True,
    "access_control": True,
    "plate_recognition": True,
    "fire_equipment": True,
    "fire_lanes_clear": True,
    "closure_notice_given": None,
    "entrance_sign_complete": True,
    "mechanical_inspected": None,
    "mechanical_inspection_date": None,
    "fees_displayed": True,
    "tax_invoices": True,
    "mixed_parking": False,
    "road_class": None,
    "on_sidewalk_or_green": None,
    "near_manhole": None,
    "on_fire_or_emergency_lane": None,
}
MECH = {
    "structure": "mechanical",
    "mechanical_inspected": True,
    "mechanical_inspection_date": dt.date(2023, 9, 1),
}

CASES: list[tuple[str, dict[str, Any], Verdict, str]] = [
    ("PK-1", {}, P, "EV chargers 8 ≥ 1"),
    ("PK-1", {"wheel_stops": False}, F, "车轮定位器：否"),
    ("PK-1", {"accessible_spaces": 0}, F, "accessible bays 0 < 1"),
    ("PK-1", {"cctv": None}, U, "CCTV"),
    ("PK-1", {"parking_type": None}, U, "parking type not recorded"),
    ("PK-1", {"parking_type": "dedicated", "has_sign": False}, NA, "专用停车场不适用本条"),
    ("PK-2", {}, P, "EV bays 10 ≥ 1"),
    ("PK-2", {"ev_chargers": 0}, F, "充电设施 0 < 1 个"),
    ("PK-2", {"ev_spaces": None}, U, "EV bays not recorded"),
    ("PK-2", {"spaces": None}, U, "spaces not recorded"),
    ("PK-2", {"spaces": 80, "ev_chargers": 0}, NA, "80 spaces < 100"),
    ("PK-2", {"operating": False}, NA, "非经营性"),
    ("PK-2", {"operating": None}, U, "operated for fees"),
    ("PK-3", {}, P, "9 天告知/备案 ≤ 15 天"),
    ("PK-3", {"filing_date": dt.date(2019, 4, 1)}, F, "filed 31 days after the licence (2019-03-01) > 15"),
    ("PK-3", {"filing_date": None}, U, "due 2019-03-16"),
    ("PK-3", {"licence_date": dt.date(2024, 5, 25), "filing_date": None}, P, "not filed yet; due 2024-06-09"),
    ("PK-3", {"licence_date": None}, U, "营业执照日期未记录"),
    ("PK-3", {"parking_type": "on_street"}, NA, "on-street"),
    ("PK-4", {}, NA, "not closed"),
    ("PK-4", {"status": "closed", "closure_notice_given": True}, P, "提前30日"),
    ("PK-4", {"status": "closed", "closure_notice_given": False}, F, "closure notified ≥ 30 days ahead: no"),
    ("PK-4", {"status": "closed"}, U, "closure notified"),
    ("PK-4", {"status": None, "closure_notice_given": False}, U, "cannot tell whether it closed"),
    ("PK-4", {"status": "closed", "parking_type": "dedicated", "operating": False}, NA, "非经营性"),
    ("PK-5", {}, P, "all met"),
    ("PK-5", {"platform_connected": False}, F, "live data on the city platform: no"),
    ("PK-5", {"entrance_sign_complete": None}, U, "监督电话"),
    ("PK-6", {}, NA, "no mechanical parking equipment"),
    ("PK-6", MECH, P, "valid to 2025-09-01"),
    ("PK-6", {**MECH, "mechanical_inspection_date": dt.date(2021, 9, 1)}, F, "定期检验已过期"),
    ("PK-6", {**MECH, "mechanical_inspected": False}, F, "inspected and passed: no"),
    ("PK-6", {**MECH, "mechanical_inspection_date": None}, U, "inspection date not recorded"),
    ("PK-6", {"structure": None}, U, "结构形式未记录"),
    ("PK-8", {}, P, "已备案（2019-03-10）"),
    ("PK-8", {"mixed_parking": True}, F, "机动车和非机动车混停：是（要求：否）"),
    ("PK-8", {"tax_invoices": None}, U, "tax invoices"),
    ("PK-8", {"filing_date": None}, U, "filing not recorded"),
    ("PK-8", {"district_code": "410181", "mixed_parking": True}, NA, "outside the 135号 scope"),
]


def verdict_of(facility: dict[str, Any], rule_id: str) -> tuple[Verdict, str]:
    """Return the verdict and both messages of ``rule_id``."""
    finding = next(f for f in evaluate_facility(facility, AS_OF) if f.rule_id == rule_id)
    return finding.verdict, finding.message_zh + " | " + finding.message_en


@pytest.mark.parametrize(
    ("rule_id", "changes", "expected", "fragment"),
    CASES,
    ids=[f"{c[0]}-{c[2].value}-{i}" for i, c in enumerate(CASES)],
)
def test_rule_case(rule_id: str, changes: dict[str, Any], expected: Verdict, fragment: str) -> None:
    verdict, message = verdict_of({**LOT, **changes}, rule_id)
    assert verdict is expected, message
    assert fragment in message


@pytest.mark.parametrize(
    "rule_id", [r.id for r in RULES.values() if r.kind == "parking_lot" and r.scope == "facility"]
)
def test_every_facility_rule_has_pass_fail_unknown_cases(rule_id: str) -> None:
    assert {P, F, U} <= {c[2] for c in CASES if c[0] == rule_id}


def test_public_lot_fixture_is_compliant_and_pk7_not_applicable() -> None:
    verdicts = {f.rule_id: f.verdict for f in evaluate_facility(LOT, AS_OF)}
    assert verdicts == {
        "PK-1": P,
        "PK-2": P,
        "PK-3": P,
        "PK-4": NA,
        "PK-5": P,
        "PK-6": NA,
        "PK-7": NA,
        "PK-8": P,
    }
