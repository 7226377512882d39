"""Writes through the pages are audited as the signed-in user: imports, their rollback, compliance re-checks."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import AuditEvent, Facility

pytestmark = pytest.mark.postgis

CSV = "编号,名称,经度,纬度,状态,座位数\nW1,网页导入书房,113.6654,34.7802,开放,20\nW2,网页导入书房二,113.6660,34.7810,开放,8\n"


def _import(client, body: str) -> int:  # type: ignore[no-untyped-def]
    preview = client.post("/import", data={"file": (io.BytesIO(body.encode()), "web.csv"), "kind": "study_room",
                                           "crs": "wgs84", "source": "web-audit"}, content_type="multipart/form-data")
    token = re.search(r'name="token" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    done = client.post("/import/commit", data={"token": token})
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    return int(done.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_page_import_update_and_rollback_are_audited_per_field(login_as, session: Session) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    first = _import(clerk, CSV)
    second = _import(clerk, CSV.replace(",20\n", ",26\n"))
    events = session.scalars(select(AuditEvent).where(AuditEvent.batch_id.in_([first, second]))
                             .order_by(AuditEvent.id)).all()
    assert {(e.actor, e.via) for e in events} == {(clerk.user.username, "web")}
    assert all(e.actor_id == clerk.user.id and e.remote_addr for e in events)
    w1 = session.scalar(select(Facility.id).where(Facility.external_id == "W1", Facility.source == "web-audit"))
    mine = [e for e in events if e.facility_id == w1]
    assert [(e.action, e.batch_id) for e in mine] == [("import", first), ("import", second)]
    assert mine[0].changes["name"] == [None, "网页导入书房"] and mine[0].changes["seats"] == [None, 20]
    assert mine[1].changes == {"seats": [20, 26], "batch_id": [first, second]}

    back = clerk.post(f"/import/batches/{second}/rollback")
    assert back.status_code == 302
    undone = session.scalars(select(AuditEvent).where(AuditEvent.batch_id == second,
                                                      AuditEvent.action == "rollback")).all()
    by_facility = {e.facility_id: e for e in undone}
    assert by_facility[w1].changes == {"seats": [26, 20], "batch_id": [second, first]}
    assert by_facility[None].entity_type == "import_batch"
    assert by_facility[None].changes["status"] == ["committed", "rolled_back"]
    assert all(e.actor == clerk.user.username for e in undone)
    history = clerk.get(f"/facilities/{w1}/history").get_data(as_text=True)
    assert history.count(clerk.user.username) >= 3


def test_a_page_compliance_check_is_audited(login_as, session: Session) -> None:  # type: ignore[no-untyped-def]
    admin = login_as("admin")
    assert admin.post("/compliance/check", data={}).status_code == 303
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "compliance.check")).one()
    assert event.actor == admin.user.username and event.entity_type == "compliance_run" and event.entity_id
