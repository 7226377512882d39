"""Elevator facility rules (EL-1 … EL-9, EL-11) of 市政府令第221号 on hand-checkable fixtures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from registry.compliance import RULES, Verdict, evaluate_facility, facility_status

AS_OF = dt.date(2024, 6, 1)
P, F, U, NA = Verdict.PASS, Verdict.FAIL, Verdict.UNKNOWN, Verdict.NOT_APPLICABLE

LIFT: dict[str, Any] = {
    "id": 4,
    "kind": "elevator",
    "name": "1号楼1单元电梯",
    "status": "in_use",
    "district_code": "410105",
    "registration_code": "31104101002019000001",
    "registered": True,
    "modified": False,
    "re_registered": None,
    "elevator_type": "passenger",
    "owner": "某小区业主",
    "user_unit": "某物业公司",
    "maintenance_unit": "某电梯维保公司",
    "maintenance_qualified": True,
    "maintenance_subcontracted": False,
    "records_kept_years": 5.0,
    "records_confirmed": True,
    "last_inspection_date": dt.date(2024, 1, 10),
    "inspection_result": "pass",
    "installation_date": dt.date(2015, 3, 1),
    "design_life_years": 15,
    "faults_12m": 1,
    "disaster_exposure": "无",
    "disaster_date": None,
    "last_assessment_date": None,
    "assessment_posted": None,
    "monitoring_device": True,
    "platform_connected": True,
    "emergency_alarm_ok": True,
    "notices_posted": True,
    "liability_insurance": True,
    "safety_manager_on_duty": True,
    "suspension_reason_posted": None,
    "building_type": "住宅",
    "public_gathering": False,
    "private_single_family": False,
}
ASSESSED = {"last_assessment_date": dt.date(2024, 3, 1), "assessment_posted": True}

CASES: list[tuple[str, dict[str, Any], Verdict, str]] = [
    ("EL-1", {}, P, "registered: yes"),
    ("EL-1", {"registered": None}, P, "registration code 31104101002019000001"),
    ("EL-1", {"registered": False}, F, "办理使用登记：否"),
    ("EL-1", {"modified": True, "re_registered": False}, F, "re-registered after modification: no"),
    ("EL-1", {"modified": True, "re_registered": True}, P, "改造后已变更登记"),
    ("EL-1", {"modified": None}, U, "whether it was modified"),
    ("EL-1", {"registered": None, "registration_code": ""}, U, "registered"),
    ("EL-2", {}, P, "valid to 2025-01-10"),
    (
        "EL-2",
        {"last_inspection_date": dt.date(2023, 5, 1)},
        F,
        "检验已过期（2023-05-01 检验，2024-05-01 到期）；电梯仍在用，应停止使用（第十九条）",
    ),
    ("EL-2", {"inspection_result": "fail"}, F, "failed; the elevator is still in use and must be suspended"),
    ("EL-2", {"last_inspection_date": dt.date(2023, 5, 1), "status": "suspended"}, P, "已停用"),
    ("EL-2", {"last_inspection_date": dt.date(2023, 5, 1), "status": None}, F, "if still in use"),
    ("EL-2", {"last_inspection_date": None}, U, "not recorded"),
    ("EL-2", {"inspection_result": None}, U, "检验结论未记录"),
    ("EL-2", {"last_inspection_date": dt.date(2024, 7, 1)}, U, "is after"),
    ("EL-3", {}, NA, "1 faults < 5"),
    ("EL-3", {"faults_12m": 6, **ASSESSED}, P, "6 faults in 12 months ≥ 5: assessed on 2024-03-01"),
    (
        "EL-3",
        {"faults_12m": 6, "last_assessment_date": dt.date(2022, 1, 1), "assessment_posted": True},
        F,
        "predates the trigger 2023-06-02",
    ),
    ("EL-3", {"faults_12m": 6}, U, "no assessment date recorded"),
    (
        "EL-3",
        {"faults_12m": 6, **ASSESSED, "assessment_posted": False},
        F,
        "assessment posted in the car: no",
    ),
    ("EL-3", {"faults_12m": None}, U, "faults in last 12 months"),
    (
        "EL-3",
        {"installation_date": dt.date(2000, 1, 1), **ASSESSED},
        P,
        "已达设计使用年限 15 年（2015-01-01）",
    ),
    (
        "EL-3",
        {
            "installation_date": dt.date(2000, 1, 1),
            "last_assessment_date": dt.date(2014, 1, 1),
            "assessment_posted": True,
        },
        F,
        "2014-01-01",
    ),
    ("EL-3", {"disaster_exposure": "水浸", "disaster_date": dt.date(2023, 7, 1), **ASSESSED}, P, "水浸"),
    (
        "EL-3",
        {"disaster_exposure": "水浸", "disaster_date": None, **ASSESSED},
        U,
        "disaster date not recorded",
    ),
    ("EL-3", {"disaster_exposure": None}, U, "受灾情况"),
    ("EL-4", {}, P, "all met"),
    ("EL-4", {"platform_connected": False}, F, "与市质量安全监管平台连接：否"),
    ("EL-4", {"monitoring_device": None}, U, "monitoring device"),
    ("EL-5", {}, P, "紧急报警装置有效：是"),
    ("EL-5", {"emergency_alarm_ok": False}, F, "emergency alarm effective: no"),
    ("EL-5", {"emergency_alarm_ok": None}, U, "emergency alarm"),
    ("EL-6", {}, P, "notices posted: yes"),
    ("EL-6", {"liability_insurance": False}, P, "not mandatory"),
    ("EL-6", {"notices_posted": False}, F, "notices posted: no"),
    ("EL-6", {"notices_posted": None}, U, "应急救援电话"),
    ("EL-7", {}, P, "持证在岗：是"),
    ("EL-7", {"safety_manager_on_duty": False}, F, "safety manager on duty: no"),
    ("EL-7", {"safety_manager_on_duty": None}, U, "safety manager"),
    ("EL-7", {"status": "suspended", "safety_manager_on_duty": False}, NA, "not running"),
    ("EL-8", {}, P, "records kept 5 ≥ 4 years"),
    ("EL-8", {"maintenance_subcontracted": True}, F, "分包、转包维护保养业务：是（要求：否）"),
    ("EL-8", {"records_kept_years": 2.0}, F, "records kept 2 < 4 years"),
    ("EL-8", {"records_kept_years": 2.0, "installation_date": dt.date(2023, 1, 1)}, P, "all kept"),
    ("EL-8", {"maintenance_unit": None}, U, "维保单位未记录"),
    ("EL-9", {}, NA, "in use"),
    ("EL-9", {"status": "suspended", "suspension_reason_posted": True}, P, "停用原因：是"),
    ("EL-9", {"status": "suspended", "suspension_reason_posted": False}, F, "suspension reason posted: no"),
    ("EL-9", {"status": "suspended"}, U, "suspension reason"),
    ("EL-9", {"status": None}, U, "status not recorded"),
    ("EL-11", {}, P, "适用本办法"),
    ("EL-11", {"private_single_family": None}, U, "as if in scope"),
    ("EL-11", {"private_single_family": True}, NA, "outside the regulation"),
    ("EL-11", {"private_single_family": True, "public_gathering": True}, P, "public use"),
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
    verdict, message = verdict_of({**LIFT, **changes}, rule_id)
    assert verdict is expected, message
    assert fragment in message


@pytest.mark.parametrize("rule_id", [r.id for r in RULES.values() if r.kind == "elevator" and not r.advisory])
def test_every_rule_has_pass_fail_unknown_cases(rule_id: str) -> None:
    assert {P, F, U} <= {c[2] for c in CASES if c[0] == rule_id}


def test_private_single_family_elevators_are_out_of_scope() -> None:
    broken = {k: (None if k not in ("id", "kind", "name") else v) for k, v in LIFT.items()}
    findings = evaluate_facility({**broken, "private_single_family": True}, AS_OF)
    assert {f.rule_id: f.verdict for f in findings} == {
        r.id: NA for r in RULES.values() if r.kind == "elevator"
    }
    assert facility_status(findings) == "compliant"


def test_scrapped_elevators_are_not_evaluated() -> None:
    findings = evaluate_facility({**LIFT, "status": "scrapped", "registered": False}, AS_OF)
    assert all(f.verdict is NA for f in findings if f.rule_id != "EL-11")


def test_el3_carries_the_article_30_fine() -> None:
    (fine,) = RULES["EL-3"].fines
    assert (fine.min_yuan, fine.max_yuan) == (10_000, 50_000)
    assert "第三十条" in fine.citation and str(fine).startswith("¥10,000–50,000")


@pytest.mark.parametrize(
    ("rule_id", "article", "low", "high"),
    [
        ("EL-4", "第二十九条(四)", 10_000, 30_000),
        ("EL-6", "第二十九条(二)", 10_000, 30_000),
        ("EL-7", "第二十八条(一)", 5_000, 20_000),
        ("EL-9", "第二十八条(三)", 5_000, 20_000),
    ],
)
def test_fines_quote_the_regulation(rule_id: str, article: str, low: int, high: int) -> None:
    fine = RULES[rule_id].fines[0]
    assert article in fine.citation and (fine.min_yuan, fine.max_yuan) == (low, high)


def test_rules_without_a_stated_fine_carry_none() -> None:
    assert RULES["EL-1"].fines == () and RULES["EL-5"].fines == ()
    assert [f.max_yuan for f in RULES["EL-8"].fines] == [30_000, 100_000]


def test_compliant_fixture_is_compliant() -> None:
    findings = evaluate_facility(LIFT, AS_OF)
    assert facility_status(findings, ignore={"EL-10"}) == "compliant"
    assert {f.rule_id for f in findings if f.verdict is NA} == {"EL-3", "EL-9"}
