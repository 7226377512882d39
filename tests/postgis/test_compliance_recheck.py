"""Rechecks: a change re-evaluates the facility and the cross-kind neighbours it touches (old and new)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from registry.compliance_db import recheck
from registry.compliance_db.neighbours import FALLBACK_NOTE
from tests.postgis.compliance_fixtures import (
    CLEAN_BERTH,
    PLAIN_ELEVATOR,
    SPOT,
    assert_empty_around,
    ewkt,
    finding,
    make,
    offset,
    status,
)

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture()
def scene(session: Session) -> dict[str, object]:
    """A kindergarten with its entrance 20 m north of its point, a berth 30 m north of the entrance
    (50 m from the point) and an elevator 10 m south of the point; a second berth 3 km east."""
    assert_empty_around(session)
    assert_empty_around(session, offset(SPOT, east_m=3000))
    entrance = offset(SPOT, north_m=20)
    kg = make(session, "kindergarten", SPOT, "测试幼儿园", status="open", entrance=ewkt(entrance))
    berth = make(session, "parking_lot", offset(entrance, north_m=30), "测试路泊位", **CLEAN_BERTH)
    lift = make(session, "elevator", offset(SPOT, north_m=-10), "测试电梯", **PLAIN_ELEVATOR)
    far_berth = make(session, "parking_lot", offset(SPOT, east_m=3000), "远处泊位", **CLEAN_BERTH)
    recheck(session, [kg.id, berth.id, lift.id, far_berth.id], AS_OF)
    return {"kg": kg, "berth": berth, "lift": lift, "far_berth": far_berth}


def test_berth_near_the_entrance_fails_pk7_with_distance_and_name(session: Session, scene: dict) -> None:
    pk7 = finding(session, scene["berth"].id, "PK-7")
    assert pk7["verdict"] == "fail"
    assert "测试幼儿园" in pk7["message_zh"] and re.search(r"30(\.0)? m ≤ 50 m", pk7["message_zh"])  # measured to the entrance
    assert pk7["neighbour_ids"] == [scene["kg"].id]
    assert pk7["related"][0]["category"] == "kindergarten" and pk7["related"][0]["distance_m"] == pytest.approx(30, abs=0.05)
    assert status(session, scene["berth"].id) == "non_compliant"
    el10 = finding(session, scene["lift"].id, "EL-10")
    assert el10["verdict"] == "flag" and re.search(r"10(\.0)? m ≤ 30 m", el10["message_zh"])
    assert status(session, scene["lift"].id) != "non_compliant"  # advisory: never changes the status
    assert finding(session, scene["far_berth"].id, "PK-7")["verdict"] == "pass"  # every layer searched, none near


def test_moving_the_kindergarten_rechecks_old_and_new_neighbours(session: Session, scene: dict) -> None:
    kg, berth, lift, far_berth = scene["kg"], scene["berth"], scene["lift"], scene["far_berth"]
    new_point = offset(offset(SPOT, east_m=3000), north_m=40)
    kg.geom, kg.entrance = ewkt(new_point), None  # moved next to the far berth, entrance not recorded
    report = recheck(session, [kg.id], AS_OF)
    assert set(report.facility_ids) == {kg.id, berth.id, lift.id, far_berth.id}
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"  # old neighbour released
    assert finding(session, lift.id, "EL-10")["verdict"] == "not_applicable"
    moved = finding(session, far_berth.id, "PK-7")
    assert moved["verdict"] == "fail" and FALLBACK_NOTE in moved["message_zh"]  # measured to the facility point
    assert re.search(r"40(\.0)? m ≤ 50 m", moved["message_zh"])


def test_deleting_the_kindergarten_releases_its_neighbours(session: Session, scene: dict) -> None:
    kg, berth = scene["kg"], scene["berth"]
    kg.deleted_at = dt.datetime.now(dt.UTC)
    recheck(session, [kg.id], AS_OF, trigger="delete")
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"
    assert status(session, kg.id) is None
    left = session.execute(text("SELECT count(*) FROM compliance_finding WHERE facility_id = :f"), {"f": kg.id})
    assert left.scalar_one() == 0


def test_hard_delete_is_rechecked_through_the_stored_findings(session: Session, scene: dict) -> None:
    kg, berth = scene["kg"], scene["berth"]
    session.execute(text("DELETE FROM facility WHERE id = :f"), {"f": kg.id})
    session.expunge(kg)
    recheck(session, [kg.id], AS_OF)
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"


def test_moving_a_berth_only_rechecks_the_berth(session: Session, scene: dict) -> None:
    berth = scene["berth"]
    berth.geom = ewkt(offset(SPOT, east_m=-1500))
    report = recheck(session, [berth.id], AS_OF)
    assert report.facility_ids == [berth.id]
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"


def test_recheck_updates_district_rules_when_a_counted_kind_changes(session: Session) -> None:
    before = session.execute(text(
        "SELECT verdict, message_en FROM compliance_finding WHERE subject_type = 'district' AND rule_id = 'SR-15'"
        " AND district_code = '410106'")).one()
    assert before[0] == "fail" and "/ target 3" in before[1]
    inside = session.execute(text(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM census_unit WHERE code = '410106') s")).one()
    rooms = [make(session, "study_room", offset(tuple(inside), east_m=30 * i), f"上街测试书房{i}", status="open")
             for i in range(3)]
    recheck(session, [r.id for r in rooms], AS_OF)
    after = session.execute(text(
        "SELECT verdict FROM compliance_finding WHERE subject_type = 'district' AND rule_id = 'SR-15'"
        " AND district_code = '410106'")).scalar_one()
    assert after == "pass"


def test_import_and_its_rollback_recheck_the_neighbours(connection: Connection, tmp_path: Path) -> None:
    from registry.importer import ImportOptions, rollback, run_import

    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    assert_empty_around(session)
    berth = make(session, "parking_lot", SPOT, "导入测试泊位", **CLEAN_BERTH)
    recheck(session, [berth.id], AS_OF)
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"
    kg_point = offset(SPOT, north_m=45)
    entrance = offset(SPOT, north_m=25)
    csv_file = tmp_path / "kg.csv"
    csv_file.write_text(
        "external_id,name,district,lon,lat,status,entrance\n"
        f"T-KG-1,导入测试幼儿园,新密市,{kg_point[0]:.7f},{kg_point[1]:.7f},open,\"{entrance[0]:.7f},{entrance[1]:.7f}\"\n",
        encoding="utf-8")
    result = run_import(connection, csv_file, ImportOptions(crs="wgs84", kind="kindergarten", source="test-import"))
    assert result.committed, result.summary("en")
    pk7 = finding(session, berth.id, "PK-7")
    assert pk7["verdict"] == "fail" and "导入测试幼儿园" in pk7["message_zh"] and re.search(r"25(\.0)? m ≤ 50 m", pk7["message_zh"])
    kg_id = session.execute(text("SELECT id FROM facility WHERE external_id = 'T-KG-1'")).scalar_one()
    assert status(session, kg_id) is not None
    rollback(connection, result.batch_id, "test")
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"
    session.close()


def test_loaded_orm_objects_see_the_new_status(session: Session) -> None:
    assert_empty_around(session)
    room = make(session, "study_room", SPOT, "状态测试书房", status="open", seats=10)
    recheck(session, [room.id], AS_OF)
    assert room.compliance_status == "non_compliant"
