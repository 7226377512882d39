"""Kindergarten facility rules (KG-1 … KG-5) on hand-checkable fixtures, including the 2019 deadlines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from registry.compliance import RULES, Verdict, evaluate_facility

AS_OF = dt.date(2024, 6, 1)
P, F, U, NA = Verdict.PASS, Verdict.FAIL, Verdict.UNKNOWN, Verdict.NOT_APPLICABLE

KG: dict[str, Any] = {
    "id": 3,
    "kind": "kindergarten",
    "name": "阳光幼儿园",
    "status": "open",
    "district_code": "410105",
    "operator_type": "public",
    "residential_supporting": True,
    "supporting_stage": "in_use",
    "handed_over_date": dt.date(2019, 5, 20),
    "licensed": True,
    "disposition": None,
    "disposition_date": None,
    "operating_licence": True,
    "legal_person_registered": True,
    "serves_meals": True,
    "food_licence": True,
    "health_evaluation": True,
    "places": 270,
    "enrolment": 240,
    "guards": True,
    "anti_ramming": True,
    "anti_ramming_installable": True,
    "entrance_video": True,
    "closed_management": True,
    "alarm_linked": True,
}
UNLICENSED = {
    **KG,
    "residential_supporting": False,
    "operator_type": "for_profit",
    "licensed": False,
    "operating_licence": False,
}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], dt.date, Verdict, str]] = [
    ("KG-1", KG, {}, AS_OF, P, "办园性质：公办"),
    ("KG-1", KG, {"operator_type": "for_profit"}, AS_OF, F, "run for profit"),
    ("KG-1", KG, {"operator_type": None}, AS_OF, U, "operator type of a residential-supporting"),
    ("KG-1", KG, {"operator_type": "for_profit", "residential_supporting": None}, AS_OF, U, "未记录"),
    (
        "KG-1",
        KG,
        {"operator_type": "inclusive_private", "residential_supporting": None},
        AS_OF,
        P,
        "compliant either way",
    ),
    (
        "KG-1",
        KG,
        {"residential_supporting": False, "operator_type": "for_profit"},
        AS_OF,
        NA,
        "非城镇小区配套",
    ),
    ("KG-2", KG, {}, AS_OF, P, "已移交教育行政部门（2019-05-20）"),
    ("KG-2", KG, {"handed_over_date": dt.date(2019, 8, 1)}, AS_OF, P, "after 2019-06-30"),
    ("KG-2", KG, {"supporting_stage": "built"}, AS_OF, F, "已建成未移交，已超过 2019-06-30 期限"),
    ("KG-2", KG, {"supporting_stage": "built"}, dt.date(2019, 6, 1), P, "not yet reached"),
    ("KG-2", KG, {"supporting_stage": "planned"}, AS_OF, F, "2020-12-31"),
    (
        "KG-2",
        KG,
        {"operator_type": "for_profit"},
        AS_OF,
        F,
        "must be recovered; deadline 2019-09-30 has passed",
    ),
    ("KG-2", KG, {"operator_type": None}, AS_OF, U, "operator type not recorded"),
    ("KG-2", KG, {"supporting_stage": None}, AS_OF, U, "配套阶段"),
    ("KG-2", KG, {"residential_supporting": None}, AS_OF, U, "residential-supporting is not recorded"),
    ("KG-2", KG, {"residential_supporting": False}, AS_OF, NA, "not a residential-supporting"),
    ("KG-3", KG, {}, AS_OF, NA, "有证幼儿园"),
    (
        "KG-3",
        UNLICENSED,
        {"disposition": "rectify", "disposition_date": dt.date(2019, 7, 15)},
        AS_OF,
        P,
        "整改已于 2019-07-15 完成",
    ),
    ("KG-3", UNLICENSED, {"disposition": "rectify"}, dt.date(2019, 7, 31), P, "deadline 2019-07-31 not yet"),
    ("KG-3", UNLICENSED, {"disposition": "rectify"}, dt.date(2019, 8, 1), F, "已超过 2019-07-31 期限"),
    (
        "KG-3",
        UNLICENSED,
        {"disposition": "close"},
        dt.date(2019, 9, 1),
        F,
        "still operating after the 2019-08-31",
    ),
    ("KG-3", UNLICENSED, {"disposition": "close", "status": "closed"}, AS_OF, P, "已停办"),
    (
        "KG-3",
        UNLICENSED,
        {"disposition": "close", "status": None},
        dt.date(2019, 8, 31),
        P,
        "not yet reached",
    ),
    (
        "KG-3",
        UNLICENSED,
        {"disposition": "close", "status": None},
        dt.date(2019, 9, 1),
        F,
        "no completion date",
    ),
    ("KG-3", UNLICENSED, {"disposition": "admit"}, dt.date(2019, 7, 1), F, "2019-06-30"),
    (
        "KG-3",
        UNLICENSED,
        {"disposition": "merge", "disposition_date": dt.date(2019, 9, 1)},
        AS_OF,
        P,
        "after the 2019-06-30 deadline",
    ),
    ("KG-3", UNLICENSED, {}, AS_OF, U, "处置方式（准入/整改/整合/取缔）未记录"),
    ("KG-3", KG, {"licensed": None}, AS_OF, U, "licensed is not recorded"),
    ("KG-4", KG, {}, AS_OF, P, "已安装硬质防冲撞设施"),
    ("KG-4", KG, {"anti_ramming": False, "anti_ramming_installable": False}, AS_OF, P, "cannot be installed"),
    ("KG-4", KG, {"anti_ramming": False}, AS_OF, F, "具备安装条件但未安装"),
    ("KG-4", KG, {"alarm_linked": False}, AS_OF, F, "one-button alarm linked to police: no"),
    ("KG-4", KG, {"anti_ramming": False, "anti_ramming_installable": None}, AS_OF, U, "installable"),
    ("KG-4", KG, {"guards": None}, AS_OF, U, "专兼职保卫人员"),
    ("KG-4", KG, {"status": "closed", "guards": False}, AS_OF, NA, "停办"),
    ("KG-5", KG, {}, AS_OF, P, "食品经营许可证：有"),
    ("KG-5", KG, {"serves_meals": False, "food_licence": None}, AS_OF, P, "办学许可证"),
    ("KG-5", KG, {"food_licence": False}, AS_OF, F, "food licence (serves meals): no"),
    ("KG-5", KG, {"health_evaluation": False}, AS_OF, F, "卫生评价报告：否"),
    ("KG-5", KG, {"operating_licence": None, "licensed": False}, AS_OF, F, "operating licence: no"),
    ("KG-5", KG, {"operating_licence": None, "licensed": None}, AS_OF, U, "operating licence"),
    ("KG-5", KG, {"food_licence": None, "serves_meals": None}, AS_OF, U, "serves meals"),
    ("KG-5", KG, {"status": "planned", "operating_licence": None}, AS_OF, NA, "规划"),
]


def verdict_of(facility: dict[str, Any], rule_id: str, as_of: dt.date) -> tuple[Verdict, str]:
    """Return the verdict and both messages of ``rule_id``."""
    finding = next(f for f in evaluate_facility(facility, as_of) if f.rule_id == rule_id)
    return finding.verdict, finding.message_zh + " | " + finding.message_en


@pytest.mark.parametrize(
    ("rule_id", "base", "changes", "as_of", "expected", "fragment"),
    CASES,
    ids=[f"{c[0]}-{c[4].value}-{i}" for i, c in enumerate(CASES)],
)
def test_rule_case(
    rule_id: str,
    base: dict[str, Any],
    changes: dict[str, Any],
    as_of: dt.date,
    expected: Verdict,
    fragment: str,
) -> None:
    verdict, message = verdict_of({**base, **changes}, rule_id, as_of)
    assert verdict is expected, message
    assert fragment in message


@pytest.mark.parametrize(
    "rule_id", [r.id for r in RULES.values() if r.kind == "kindergarten" and r.scope == "facility"]
)
def test_every_facility_rule_has_pass_fail_unknown_cases(rule_id: str) -> None:
    assert {P, F, U} <= {c[4] for c in CASES if c[0] == rule_id}


def test_compliant_fixture_is_compliant_apart_from_spatial_rules() -> None:
    findings = evaluate_facility(KG, AS_OF)
    assert {f.rule_id: f.verdict for f in findings if f.verdict is not P} == {"KG-3": NA, "KG-7": U}


def test_time_rules_default_to_today() -> None:
    pending = {**UNLICENSED, "disposition": "rectify"}
    assert next(f for f in evaluate_facility(pending) if f.rule_id == "KG-3").verdict is F


def test_iso_date_strings_are_accepted() -> None:
    verdict, _ = verdict_of(
        {**UNLICENSED, "disposition": "rectify", "disposition_date": "2019-07-15"}, "KG-3", AS_OF
    )
    assert verdict is P
