"""Stored verdicts: findings per facility and rule, the status column, runs with their as-of date."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.compliance import RULES, Finding, Verdict, facility_status, rules_for
from registry.compliance_db import recheck, run_check
from registry.compliance_db.load import KINDS
from registry.compliance_db.read import get_facility_compliance, get_facility_findings
from registry.compliance_db.service import evaluate_areas
from tests.postgis.compliance_fixtures import (
    SPOT,
    assert_empty_around,
    finding,
    make,
    offset,
    status,
)

AS_OF = dt.date(2026, 11, 22)


def test_sample_load_stored_one_finding_per_rule_and_facility(session: Session) -> None:
    per_kind = dict(session.execute(text(
        "SELECT kind, count(*) FROM facility WHERE deleted_at IS NULL GROUP BY kind")).all())
    stored = dict(session.execute(text(
        "SELECT kind, count(*) FROM compliance_finding WHERE subject_type = 'facility' GROUP BY kind")).all())
    for kind in KINDS:
        n_rules = sum(1 for r in rules_for(kind) if r.per_facility)
        assert stored[kind] == per_kind[kind] * n_rules, kind
    duplicates = session.execute(text(
        "SELECT count(*) FROM (SELECT facility_id, rule_id FROM compliance_finding WHERE subject_type = 'facility'"
        " GROUP BY 1, 2 HAVING count(*) > 1) d")).scalar_one()
    assert duplicates == 0
    unchecked = session.execute(text(
        "SELECT count(*) FROM facility WHERE deleted_at IS NULL AND compliance_status IS NULL")).scalar_one()
    assert unchecked == 0


def test_status_column_follows_the_stored_findings(session: Session) -> None:
    rows = session.execute(text(
        "SELECT f.id, f.compliance_status, array_agg(c.rule_id) AS rules, array_agg(c.verdict) AS verdicts"
        " FROM facility f JOIN compliance_finding c ON c.facility_id = f.id GROUP BY f.id, f.compliance_status")).all()
    assert len(rows) > 1000
    seen = set()
    for fid, stored_status, rule_ids, verdicts in rows:
        findings = [Finding(r, Verdict(v), "", "", "", RULES[r].severity, RULES[r].scope, RULES[r].kind, "facility",
                            fid, advisory=RULES[r].advisory) for r, v in zip(rule_ids, verdicts)]
        assert stored_status == facility_status(findings), fid
        seen.add(stored_status)
    assert seen == {"compliant", "non_compliant", "unknown"}


def test_district_and_city_findings_are_stored_per_census_unit(session: Session) -> None:
    units = session.execute(text(
        "SELECT DISTINCT district_code FROM compliance_finding WHERE subject_type = 'district'")).scalars().all()
    assert len(units) == 15 and {"410171", "410172", "410173"} <= set(units)
    city = session.execute(text(
        "SELECT rule_id, count(*) FROM compliance_finding WHERE subject_type = 'city' GROUP BY rule_id")).all()
    assert dict(city)["MUS-4"] == 6 and dict(city)["MUS-5"] == 4
    seqs = session.execute(text(
        "SELECT array_agg(seq ORDER BY seq) FROM compliance_finding WHERE subject_type = 'district'"
        " AND rule_id = 'MUS-2' AND district_code = '410181'")).scalar_one()
    assert seqs == [0, 1]  # "1+2+N": comprehensive and thematic


def test_stored_areas_equal_a_fresh_evaluation_from_complete_rows(session: Session) -> None:
    """The light rows read for district/city rules give the same verdicts as complete ones would."""
    from registry.compliance import evaluate_city, evaluate_districts
    from registry.compliance_db import load

    conn = session.connection()
    units = load.load_units(conn)
    complete = [row for kind in load.DISTRICT_COLUMNS for row in load.load_facilities(conn, kind)]
    full = evaluate_districts(units, complete, AS_OF) + evaluate_city(units, complete, AS_OF)
    light = evaluate_areas(conn, AS_OF)
    assert [(f.rule_id, f.subject_id, f.verdict, f.message_en) for f in light] == \
           [(f.rule_id, f.subject_id, f.verdict, f.message_en) for f in full]


def test_check_records_as_of_and_time_and_time_rules_follow_it(session: Session) -> None:
    early = run_check(session, dt.date(2019, 3, 1), trigger="test")
    run = session.execute(text("SELECT scope, as_of, started_at, finished_at, n_facilities, n_findings, trigger"
                               " FROM compliance_run WHERE id = :r"), {"r": early.run_id}).mappings().one()
    assert run["scope"] == "full" and run["as_of"] == dt.date(2019, 3, 1) and run["trigger"] == "test"
    assert run["finished_at"] >= run["started_at"]
    assert run["n_facilities"] == early.n_facilities > 1000 and run["n_findings"] == early.n_findings
    dates = session.execute(text("SELECT DISTINCT as_of FROM compliance_finding")).scalars().all()
    assert dates == [dt.date(2019, 3, 1)]
    late = run_check(session, AS_OF, trigger="test")
    # KG-2: built but not handed over is only due after 2019-06-30 (pending before), so fails later.
    assert early.verdicts["KG-2"]["fail"] < late.verdicts["KG-2"]["fail"]
    assert late.n_findings == session.execute(text("SELECT count(*) FROM compliance_finding")).scalar_one()


def test_check_of_one_kind_leaves_the_others(session: Session) -> None:
    before = session.execute(text(
        "SELECT kind, max(run_id) FROM compliance_finding WHERE subject_type = 'facility' GROUP BY kind")).all()
    report = run_check(session, AS_OF, ["elevator"], trigger="test")
    after = dict(session.execute(text(
        "SELECT kind, max(run_id) FROM compliance_finding WHERE subject_type = 'facility' GROUP BY kind")).all())
    assert report.scope == "kinds" and report.kinds == ["elevator"]
    for kind, run_id in before:
        assert after[kind] == (report.run_id if kind == "elevator" else run_id)
    areas = session.execute(text(
        "SELECT DISTINCT run_id FROM compliance_finding WHERE subject_type <> 'facility'")).scalars().all()
    assert report.run_id not in areas  # elevators count in no district or city rule


def test_unknown_kind_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown facility kind"):
        run_check(session, AS_OF, ["library"])


def test_hand_checkable_study_room_pass_fail_unknown(session: Session) -> None:
    assert_empty_around(session)
    room = make(session, "study_room", SPOT, status="open", seats=12, floor_area_m2=80.0)
    recheck(session, [room.id], AS_OF)
    seats = finding(session, room.id, "SR-2")
    assert seats["verdict"] == "fail" and "12 < 15" in seats["message_zh"] and seats["as_of"] == AS_OF
    assert finding(session, room.id, "SR-1")["verdict"] == "pass"  # 80 m² ≥ 80 m²
    assert finding(session, room.id, "SR-3")["verdict"] == "unknown"  # volumes not recorded
    assert status(session, room.id) == "non_compliant"
    room.seats = 15
    recheck(session, [room.id], AS_OF)
    assert finding(session, room.id, "SR-2")["verdict"] == "pass"
    assert status(session, room.id) == "unknown"  # nothing fails, much is not recorded
    room.seats = None
    recheck(session, [room.id], AS_OF)
    assert finding(session, room.id, "SR-2")["verdict"] == "unknown"


def test_facility_findings_for_the_detail_page(session: Session) -> None:
    room = make(session, "study_room", offset(SPOT, east_m=300), status="open", seats=12)
    recheck(session, [room.id], AS_OF)
    findings = get_facility_findings(session, room.id)
    assert findings is not None
    by_rule = {f["rule_id"]: f for f in findings}
    assert set(by_rule) == {r.id for r in rules_for("study_room") if r.per_facility}
    sr2 = by_rule["SR-2"]
    assert sr2["verdict"] == "fail" and sr2["citation"] == "郑政文〔2019〕92号 四(二)" and sr2["severity"] == "medium"
    assert sr2["message_en"] == "SR-2 seats 12 < 15"
    assert [f["rule_id"] for f in findings] == [r for r in RULES if r in by_rule]  # catalogue order
    live = get_facility_compliance(session, room.id, dt.date(2019, 1, 1))
    assert live is not None and live["stored"] is False and live["as_of"] == "2019-01-01"
    assert get_facility_findings(session, 987_654_321) is None


def test_never_checked_facility_is_evaluated_live_not_reported_compliant(session: Session) -> None:
    museum = make(session, "museum", offset(SPOT, north_m=400), status="open")
    data = get_facility_compliance(session, museum.id)
    assert data is not None and data["stored"] is False and data["status"] == "unknown"
    assert status(session, museum.id) is None


def test_bulk_checks_in_small_slices_give_the_same_verdicts(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.compliance_db import service

    whole = run_check(session, AS_OF, trigger="test")
    monkeypatch.setattr(service, "SLICE", 37)
    sliced = run_check(session, AS_OF, trigger="test")
    assert sliced.tally == whole.tally and sliced.n_findings == whole.n_findings
    assert sorted(sliced.facility_ids) == sorted(whole.facility_ids)
