"""Facility writes (registry.editing) re-check compliance in the same transaction: verdicts follow the edit."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from registry import editing
from registry.audit import Actor
from registry.models import ComplianceRun
from tests.postgis.compliance_fixtures import (
    CLEAN_BERTH,
    SPOT,
    assert_empty_around,
    finding,
    offset,
    status,
)

pytestmark = pytest.mark.postgis

CLERK = Actor(name="clerk-compliance", via="web")


def _runs(session: Session) -> list[tuple[str, str]]:
    return [(r.scope, r.trigger) for r in session.scalars(select(ComplianceRun).order_by(ComplianceRun.id.desc())
                                                           .limit(1))]


def _findings(session: Session, facility_id: int) -> int:
    return session.execute(text("SELECT count(*) FROM compliance_finding WHERE facility_id = :f"),
                           {"f": facility_id}).scalar_one()


def test_edit_flips_the_verdict_and_every_write_rechecks(session: Session) -> None:
    assert_empty_around(session)
    room = editing.create_facility(session, CLERK, "study_room", {
        "name": "合规复核书房", "lon": SPOT[0], "lat": SPOT[1], "status": "open", "seats": 10})
    assert _runs(session) == [("recheck", "create")]
    sr2 = finding(session, room.id, "SR-2")
    assert sr2["verdict"] == "fail" and "10" in sr2["message_en"]
    assert status(session, room.id) == "non_compliant" and room.compliance_status == "non_compliant"

    editing.update_facility(session, CLERK, room, {"seats": 40}, "recount")
    assert _runs(session) == [("recheck", "edit")]
    assert finding(session, room.id, "SR-2")["verdict"] == "pass"
    assert room.compliance_status == status(session, room.id)  # the loaded object sees the stored verdict

    editing.update_facility(session, CLERK, room, {"seats": 12})
    assert finding(session, room.id, "SR-2")["verdict"] == "fail"
    assert status(session, room.id) == "non_compliant"

    editing.delete_facility(session, CLERK, room, "closed")
    assert _runs(session) == [("recheck", "delete")]
    assert _findings(session, room.id) == 0 and status(session, room.id) is None

    editing.restore_facility(session, CLERK, room, "reopened")
    assert _runs(session) == [("recheck", "restore")]
    assert finding(session, room.id, "SR-2")["verdict"] == "fail" and status(session, room.id) == "non_compliant"


def test_no_change_no_recheck(session: Session) -> None:
    assert_empty_around(session)
    room = editing.create_facility(session, CLERK, "study_room", {
        "name": "无变化书房", "lon": SPOT[0], "lat": SPOT[1], "status": "open", "seats": 10})
    last = session.scalar(select(ComplianceRun.id).order_by(ComplianceRun.id.desc()).limit(1))
    assert editing.update_facility(session, CLERK, room, {"seats": 10}) is None
    assert session.scalar(select(ComplianceRun.id).order_by(ComplianceRun.id.desc()).limit(1)) == last


def test_moving_a_kindergarten_by_edit_rechecks_its_neighbour_berth(session: Session) -> None:
    assert_empty_around(session)
    berth_point = offset(SPOT, north_m=30)
    berth = editing.create_facility(session, CLERK, "parking_lot", {
        "name": "复核泊位", "lon": berth_point[0], "lat": berth_point[1],
        **CLEAN_BERTH})
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"
    far = offset(SPOT, east_m=3000)
    kg = editing.create_facility(session, CLERK, "kindergarten", {
        "name": "复核幼儿园", "lon": far[0], "lat": far[1], "status": "open"})
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"
    editing.update_facility(session, CLERK, kg, {"lon": SPOT[0], "lat": SPOT[1]}, "surveyed again")
    assert finding(session, berth.id, "PK-7")["verdict"] == "fail"  # the neighbour was re-checked too
    editing.delete_facility(session, CLERK, kg)
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"
