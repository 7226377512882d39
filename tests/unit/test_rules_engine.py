"""The rule registry and engine: every DOMAIN.md rule is registered, missing data never passes, bulk speed."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest

from registry.compliance import (
    RULES,
    Finding,
    Verdict,
    evaluate_facilities,
    evaluate_facility,
    facility_status,
    rules_for,
)
from registry.kinds import KIND_SPECS, FacilityKind, FieldType

AS_OF = dt.date(2024, 6, 1)
DOMAIN_IDS = (
    [f"MUS-{i}" for i in range(1, 7)]
    + [f"SR-{i}" for i in range(1, 18)]
    + [f"KG-{i}" for i in range(1, 8)]
    + [f"EL-{i}" for i in range(1, 12)]
    + [f"PK-{i}" for i in range(1, 9)]
)
KINDS = [k.value for k in FacilityKind]
RULES_MD = Path(__file__).resolve().parents[2] / "docs" / "RULES.md"


# --------------------------------------------------------------------------- registry
def test_every_domain_rule_is_registered_verbatim() -> None:
    assert len(DOMAIN_IDS) == 49
    assert set(DOMAIN_IDS) <= set(RULES)
    assert set(RULES) - set(DOMAIN_IDS) == {"KG-TARGET", "PK-TARGET-BERTHS", "PK-TARGET-EV"}


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_metadata(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert rule.id == rule_id and rule.kind in KINDS
    assert rule.scope in ("facility", "district", "city", "spatial")
    assert rule.severity in ("high", "medium", "low", "info")
    assert (rule.severity == "info") is rule.advisory
    assert re.search(r"[\u4e00-\u9fff]", rule.requirement_zh) and re.search(r"[A-Za-z]", rule.requirement_en)
    assert re.search(r"〔20\d\d〕\d+号|第221号", rule.citation), rule.citation
    assert rule.method and rule.reads and callable(rule.check)
    for fine in rule.fines:
        assert 0 < fine.min_yuan < fine.max_yuan and "第" in fine.citation


def test_scopes_of_special_rules() -> None:
    assert {r for r in RULES if RULES[r].scope == "spatial"} == {"PK-7", "EL-10", "KG-6", "KG-7", "SR-16"}
    assert {r for r in RULES if RULES[r].scope == "district"} == {"MUS-1", "MUS-2", "MUS-3", "SR-15"}
    assert {r for r in RULES if RULES[r].advisory} == {"EL-10", "EL-11", "SR-16"}


@pytest.mark.parametrize("kind", KINDS)
def test_rules_for_kind(kind: str) -> None:
    rules = rules_for(kind)
    assert rules and all(r.kind == kind for r in rules)
    assert [r.id for r in rules] == [r for r in RULES if RULES[r].kind == kind]


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown facility kind 'library'"):
        rules_for("library")
    with pytest.raises(ValueError, match="unknown facility kind"):
        evaluate_facility({"id": 1, "kind": "library"}, AS_OF)


def test_rule_fields_exist_in_the_kind_specs() -> None:
    common = {"status", "district_code", "id", "name", "kind"}
    for rule in RULES.values():
        if rule.scope in ("facility", "spatial") and rule.per_facility:
            names = set(KIND_SPECS[FacilityKind(rule.kind)].field_names) | common
            fields = {r for r in rule.reads if not r.startswith("neighbours")}
            assert fields <= names, (rule.id, fields - names)


# --------------------------------------------------------------------------- status
def _f(rule_id: str, verdict: Verdict, advisory: bool = False) -> Finding:
    return Finding(
        rule_id, verdict, "", "", "", "low", "facility", "museum", "facility", 1, advisory=advisory
    )


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([Verdict.PASS, Verdict.NOT_APPLICABLE], "compliant"),
        ([Verdict.PASS, Verdict.UNKNOWN, Verdict.NOT_APPLICABLE], "unknown"),
        ([Verdict.UNKNOWN, Verdict.FAIL, Verdict.PASS], "non_compliant"),
        ([], "compliant"),
    ],
)
def test_facility_status(verdicts: list[Verdict], expected: str) -> None:
    assert facility_status([_f(f"X-{i}", v) for i, v in enumerate(verdicts)]) == expected


def test_facility_status_ignores_advisory_and_listed_rules() -> None:
    findings = [
        _f("A-1", Verdict.PASS),
        _f("EL-10", Verdict.FLAG, True),
        _f("SR-16", Verdict.UNKNOWN, True),
        _f("KG-7", Verdict.UNKNOWN),
    ]
    assert facility_status(findings) == "unknown"
    assert facility_status(findings, ignore={"KG-7"}) == "compliant"


# --------------------------------------------------------------------------- missing data
def _blank(kind: str) -> dict[str, Any]:
    spec = KIND_SPECS[FacilityKind(kind)]
    return {
        "id": 1,
        "kind": kind,
        "name": None,
        "status": None,
        "district_code": None,
        "declared_district": None,
        **{name: None for name in spec.field_names},
    }


@pytest.mark.parametrize("kind", KINDS)
def test_a_facility_with_all_attributes_missing_never_passes(kind: str) -> None:
    findings = evaluate_facility(_blank(kind), AS_OF)
    assert findings
    assert [f.rule_id for f in findings if f.verdict is Verdict.PASS] == []
    assert facility_status(findings) == "unknown"


def _random_value(spec: Any, rng: random.Random) -> Any:
    if rng.random() < 0.25:
        return None
    pools: dict[FieldType, list[Any]] = {
        FieldType.BOOL: [True, False],
        FieldType.INT: [0, 1, 5, 12, 15, 80, 100, 150, 3000, 5000],
        FieldType.FLOAT: [0.0, 2.0, 5.0, 10.0, 12.5, 80.0, 150.0],
        FieldType.DATE: [
            dt.date(2000, 1, 1),
            dt.date(2019, 3, 1),
            dt.date(2019, 7, 1),
            dt.date(2023, 5, 1),
            dt.date(2024, 3, 1),
        ],
        FieldType.TIME: [dt.time(8), dt.time(9), dt.time(21), dt.time(23), dt.time(0)],
        FieldType.STR: ["甲", "水浸", "无", "绿博片区"],
        FieldType.ENUM: [c.value for c in spec.choices],
        FieldType.POINTS: [None],
    }
    return rng.choice(pools[spec.type])


def _random_facility(kind: str, rng: random.Random) -> dict[str, Any]:
    spec = KIND_SPECS[FacilityKind(kind)]
    facility = {
        "id": 1,
        "kind": kind,
        "district_code": rng.choice([None, "410105", "410181"]),
        "status": rng.choice([None, *(c.value for c in spec.statuses)]),
    }
    facility.update({f.name: _random_value(f, rng) for f in spec.fields})
    return facility


# Fields whose blank is read as "not done" once a deadline has passed (documented in docs/RULES.md).
COMPLETION_EVIDENCE = {("KG-3", "disposition_date"), ("KG-3", "status"), ("EL-2", "status")}
# Fields that, when blank, are inferred from another field (registration code; the licensed flag).
FALLBACKS = {("EL-1", "registered"), ("KG-5", "operating_licence")}


@pytest.mark.parametrize("kind", KINDS)
def test_blanking_a_field_never_creates_a_pass_or_a_fail(kind: str) -> None:
    """Losing a value may only move a verdict towards UNKNOWN.

    Exceptions: a rule that was not applicable may be evaluated once the field
    that exempted it (status, residential_supporting...) is blank; the
    completion evidence of time-boxed tasks (COMPLETION_EVIDENCE); fields with a
    documented fallback (FALLBACKS).
    """
    rng = random.Random(kind)
    for _ in range(40):
        facility = _random_facility(kind, rng)
        before = {f.rule_id: f.verdict for f in evaluate_facility(facility, AS_OF)}
        for name in [k for k, v in facility.items() if v is not None and k not in ("id", "kind")]:
            after = {f.rule_id: f.verdict for f in evaluate_facility({**facility, name: None}, AS_OF)}
            for rule_id, verdict in after.items():
                was = before[rule_id]
                if was is Verdict.NOT_APPLICABLE or verdict is was or (rule_id, name) in FALLBACKS:
                    continue
                assert verdict is not Verdict.PASS, (rule_id, name, was, facility)
                if (rule_id, name) not in COMPLETION_EVIDENCE:
                    assert verdict is not Verdict.FAIL, (rule_id, name, was, facility)


def test_malformed_values_are_unknown_not_a_crash() -> None:
    room = {"id": 1, "kind": "study_room", "seats": "many", "opens_at": "noon"}
    verdicts = {f.rule_id: f for f in evaluate_facility(room, AS_OF)}
    assert verdicts["SR-2"].verdict is Verdict.UNKNOWN and "malformed" in verdicts["SR-2"].message_en
    assert verdicts["SR-4"].verdict is Verdict.UNKNOWN


# --------------------------------------------------------------------------- findings
@pytest.mark.parametrize("kind", KINDS)
def test_findings_carry_rule_metadata_and_serialise(kind: str) -> None:
    for finding in evaluate_facility(_random_facility(kind, random.Random(7)), AS_OF):
        rule = RULES[finding.rule_id]
        assert finding.message_zh.startswith(rule.id + " ") and finding.message_en.startswith(rule.id + " ")
        assert (finding.citation, finding.severity, finding.kind) == (rule.citation, rule.severity, rule.kind)
        assert finding.subject_type == "facility" and finding.subject_id == 1
        json.dumps(finding.to_dict(), ensure_ascii=False)


def test_bulk_evaluation_is_fast() -> None:
    rng = random.Random(1)
    facilities = [{**_random_facility(KINDS[i % 5], rng), "id": i} for i in range(10_000)]
    start = time.perf_counter()
    results = dict(evaluate_facilities(facilities, AS_OF))
    elapsed = time.perf_counter() - start
    assert len(results) == 10_000
    assert elapsed < 6.0, f"{elapsed:.2f} s for 10,000 facilities (budget: 100,000 in well under 60 s)"


# --------------------------------------------------------------------------- catalogue
def test_catalogue_lists_every_rule_with_its_citation() -> None:
    text = RULES_MD.read_text(encoding="utf-8")
    for rule in RULES.values():
        assert f"### {rule.id} " in text, rule.id
        assert rule.citation in text, rule.id
