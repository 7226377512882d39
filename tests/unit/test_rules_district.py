"""District and city rules (MUS-1 … MUS-5, SR-15, 2019 targets) over small aggregated fixtures."""

from __future__ import annotations

import datetime as dt
from itertools import count
from typing import Any

import pytest

from registry.compliance import Finding, Verdict, evaluate_city, evaluate_districts

AS_OF = dt.date(2024, 6, 1)
P, F, U, NA = Verdict.PASS, Verdict.FAIL, Verdict.UNKNOWN, Verdict.NOT_APPLICABLE
_ids = count(1)

UNITS: list[dict[str, Any]] = [
    {"adcode": "410122", "name": "中牟县", "unit_type": "county", "population": 250_000},
    {"adcode": "410106", "name": "上街区", "unit_type": "urban_district", "population": 197_399},
    {"adcode": "410172", "name": "郑州高新技术产业开发区", "unit_type": None, "population": None},
]


def museum(
    code: str, category: str | None = "thematic", status: str | None = "open", **more: Any
) -> dict[str, Any]:
    """A museum in unit ``code``."""
    return {
        "id": next(_ids),
        "kind": "museum",
        "district_code": code,
        "category": category,
        "status": status,
        **more,
    }


def room(code: str, status: str | None = "open") -> dict[str, Any]:
    """A study room in unit ``code``."""
    return {"id": next(_ids), "kind": "study_room", "district_code": code, "status": status}


ZHONGMU = [museum("410122", "comprehensive"), museum("410122"), museum("410122")]
SHANGJIE = [museum("410106"), museum("410106")]
ROOMS = [room("410122"), room("410122"), room("410122", "trial"), room("410106"), room("410106", "building")]


def district(findings: list[Finding], rule_id: str, adcode: str) -> list[Finding]:
    """Findings of ``rule_id`` for unit ``adcode``."""
    return [f for f in findings if f.rule_id == rule_id and f.subject_id == adcode]


def one(findings: list[Finding], rule_id: str, adcode: str) -> Finding:
    """The single finding of ``rule_id`` for ``adcode``."""
    (result,) = district(findings, rule_id, adcode)
    return result


# --------------------------------------------------------------------------- MUS-1
def test_mus1_pass_fail_unknown() -> None:
    findings = evaluate_districts(UNITS, [*ZHONGMU, *SHANGJIE[:1]], AS_OF)
    zhongmu, shangjie, gaoxin = (one(findings, "MUS-1", code) for code in ("410122", "410106", "410172"))
    assert (
        zhongmu.verdict is P
        and "每 83,333 人拥有 1 家博物馆（要求 ≤ 100,000，即 ≥ 3 家；基线 300,000 已达到）"
        in zhongmu.message_zh
    )
    assert shangjie.verdict is F and "197,399 residents per museum" in shangjie.message_en
    assert shangjie.progress is not None and (shangjie.progress.value, shangjie.progress.target) == (1, 2)
    assert gaoxin.verdict is U and "population not supplied" in gaoxin.message_en
    assert zhongmu.message_zh.startswith("MUS-1 中牟县：") and zhongmu.subject_type == "district"


def test_mus1_uncertain_statuses_and_pending_deadline_are_unknown() -> None:
    uncertain = evaluate_districts(UNITS, [museum("410106"), museum("410106", status=None)], AS_OF)
    assert one(uncertain, "MUS-1", "410106").verdict is U
    early = evaluate_districts(UNITS, SHANGJIE[:1], dt.date(2020, 1, 1))
    result = one(early, "MUS-1", "410106")
    assert result.verdict is U and "in progress, due 2021-12-31" in result.message_en


def test_mus1_planned_museums_do_not_count() -> None:
    findings = evaluate_districts(UNITS, [museum("410106"), museum("410106", status="planned")], AS_OF)
    assert one(findings, "MUS-1", "410106").verdict is F


# --------------------------------------------------------------------------- MUS-2, MUS-3
def test_mus2_one_plus_two_for_counties() -> None:
    passing = district(evaluate_districts(UNITS, ZHONGMU, AS_OF), "MUS-2", "410122")
    assert [f.verdict for f in passing] == [P, P]
    assert "comprehensive museums 1 / target 1" in passing[0].message_en
    failing = district(evaluate_districts(UNITS, ZHONGMU[:2], AS_OF), "MUS-2", "410122")
    assert [f.verdict for f in failing] == [P, F] and "专题（特色）博物馆 1 家 / 目标 2 家" in failing[
        1
    ].message_zh
    unknown = district(
        evaluate_districts(UNITS, [*ZHONGMU[:2], museum("410122", None)], AS_OF), "MUS-2", "410122"
    )
    assert [f.verdict for f in unknown] == [P, U]
    assert one(evaluate_districts(UNITS, ZHONGMU, AS_OF), "MUS-2", "410106").verdict is NA


def test_mus3_two_thematic_for_districts_and_zones() -> None:
    findings = evaluate_districts(UNITS, [*SHANGJIE, museum("410172")], AS_OF)
    assert one(findings, "MUS-3", "410106").verdict is P
    assert one(findings, "MUS-3", "410172").verdict is F  # unit type from the known Zhengzhou codes
    assert one(findings, "MUS-3", "410122").verdict is NA
    unknown = evaluate_districts(UNITS, [museum("410106"), museum("410106", None)], AS_OF)
    assert one(unknown, "MUS-3", "410106").verdict is U


def test_unit_type_missing_for_an_unknown_code_is_unknown() -> None:
    findings = evaluate_districts([{"adcode": "999999", "name": "某区", "population": 10}], [], AS_OF)
    assert one(findings, "MUS-2", "999999").verdict is U


# --------------------------------------------------------------------------- SR-15
def test_sr15_three_rooms_per_unit() -> None:
    findings = evaluate_districts(UNITS, ROOMS, AS_OF)
    assert one(findings, "SR-15", "410122").verdict is P
    shangjie = one(findings, "SR-15", "410106")
    assert shangjie.verdict is F and "已建成城市书房 1 个 / 目标 3 个（33%），未达到" in shangjie.message_zh
    unknown = evaluate_districts(UNITS, [room("410106"), room("410106"), room("410106", None)], AS_OF)
    assert one(unknown, "SR-15", "410106").verdict is U


# --------------------------------------------------------------------------- city
def city(findings: list[Finding], rule_id: str) -> list[Finding]:
    """City findings of ``rule_id``."""
    return [f for f in findings if f.rule_id == rule_id]


def test_city_mus1_sums_unit_populations_or_takes_the_given_one() -> None:
    known = [u for u in UNITS if u["population"]]
    (result,) = city(evaluate_city(known, [*ZHONGMU, *SHANGJIE], AS_OF), "MUS-1")
    assert result.verdict is P and "population 447,399" in result.message_en and result.subject_id == "410100"
    (unknown,) = city(evaluate_city(UNITS, ZHONGMU, AS_OF), "MUS-1")
    assert unknown.verdict is U
    (failing,) = city(evaluate_city(UNITS, ZHONGMU, AS_OF, city_population=12_600_574), "MUS-1")
    assert failing.verdict is F and "≥ 127 museums" in failing.message_en


def test_mus4_progress_figures() -> None:
    museums = [
        museum(
            "410122",
            ownership="state",
            grade="grade1",
            opened_year=2020,
            annual_exhibitions=200,
            annual_visitors=15_000_000,
        ),
        museum(
            "410106",
            ownership="non_state",
            grade="none",
            opened_year=2010,
            annual_exhibitions=120,
            annual_visitors=None,
        ),
    ]
    findings = city(evaluate_city(UNITS, museums, AS_OF), "MUS-4")
    labels = {f.progress.label_en: (f.verdict, f.progress.value) for f in findings if f.progress}
    assert labels == {
        "new museums 2019–2021": (F, 1),
        "state/industry museums": (F, 1),
        "non-state museums": (F, 1),
        "museums of national grade 3 or better": (F, 1),
        "exhibitions per year": (P, 320),
        "visitors per year": (U, 15_000_000),
    }
    visitors = next(f for f in findings if f.progress and f.progress.label_en == "visitors per year")
    assert visitors.progress is not None and visitors.progress.upper is None
    assert "incomplete data" in visitors.message_en


def test_mus5_clusters() -> None:
    lvbo = [museum("410122", cluster="绿博片区") for _ in range(20)]
    findings = city(evaluate_city(UNITS, [*lvbo, museum("410108", cluster=None)], AS_OF), "MUS-5")
    verdicts = [f.verdict for f in findings]
    assert verdicts[0] is P and "20 / target 20" in findings[0].message_en
    assert verdicts[1] is F  # 古荥: 0 confirmed, 1 uncertain (blank cluster inside 惠济区) < 20
    assert findings[1].progress is not None and findings[1].progress.upper == 1


def test_sr15_city_target_of_50() -> None:
    (result,) = city(evaluate_city(UNITS, ROOMS, AS_OF), "SR-15")
    assert result.verdict is F and "4 / target 50" in result.message_en


def test_targets_need_a_baseline() -> None:
    kgs = [{"id": i, "kind": "kindergarten", "status": "open", "operator_type": "public"} for i in range(150)]
    (without,) = city(evaluate_city(UNITS, kgs, AS_OF), "KG-TARGET")
    assert without.verdict is U and "公办幼儿园现有 150" in without.message_zh
    (met,) = city(evaluate_city(UNITS, kgs, AS_OF, baselines={"KG-TARGET": 40}), "KG-TARGET")
    assert met.verdict is P and met.progress is not None and met.progress.value == 110
    (missed,) = city(evaluate_city(UNITS, kgs, AS_OF, baselines={"KG-TARGET": 60}), "KG-TARGET")
    assert missed.verdict is F


def test_berth_target_counts_public_berths_inside_the_city_districts() -> None:
    lots = [
        {
            "id": 1,
            "kind": "parking_lot",
            "status": "open",
            "parking_type": "public",
            "spaces": 40_000,
            "district_code": "410105",
            "ev_chargers": 3000,
        },
        {
            "id": 2,
            "kind": "parking_lot",
            "status": "open",
            "parking_type": "on_street",
            "spaces": 15_000,
            "district_code": "410171",
            "ev_chargers": None,
        },
        {
            "id": 3,
            "kind": "parking_lot",
            "status": "open",
            "parking_type": "public",
            "spaces": 9_000,
            "district_code": "410181",
            "ev_chargers": 2500,
        },
        {
            "id": 4,
            "kind": "parking_lot",
            "status": "open",
            "parking_type": "dedicated",
            "spaces": 9_000,
            "district_code": "410105",
            "ev_chargers": 0,
        },
    ]
    findings = evaluate_city(UNITS, lots, AS_OF, baselines={"PK-TARGET-BERTHS": 5_000, "PK-TARGET-EV": 500})
    (berths,) = city(findings, "PK-TARGET-BERTHS")
    assert berths.verdict is P and berths.progress is not None and berths.progress.value == 50_000
    (chargers,) = city(findings, "PK-TARGET-EV")
    assert chargers.verdict is P and chargers.progress is not None and chargers.progress.value == 5_000


@pytest.mark.parametrize("rule_id", ["MUS-1", "MUS-2", "MUS-3", "MUS-4", "MUS-5", "SR-15"])
def test_district_and_city_rules_carry_citation_and_progress(rule_id: str) -> None:
    findings = [
        *evaluate_districts(UNITS, [*ZHONGMU, *SHANGJIE, *ROOMS], AS_OF),
        *evaluate_city(UNITS, [*ZHONGMU, *SHANGJIE, *ROOMS], AS_OF, city_population=1_000_000),
    ]
    mine = [f for f in findings if f.rule_id == rule_id and f.verdict is not NA and f.subject_id != "410172"]
    assert mine and all("号" in f.citation and f.progress is not None for f in mine)
    assert all(f.to_dict()["progress"]["ratio"] >= 0 for f in mine)
