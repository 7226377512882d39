"""Facility writes through the API and the pages: validated, audited, soft-deleted, restorable."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import AuditEvent, Facility

pytestmark = pytest.mark.postgis

NEW_ROOM = {"kind": "study_room", "name": "API 书房", "lon": 113.665, "lat": 34.79, "seats": 18, "wifi": True,
            "opens_at": "09:00", "comment": "opened in May"}


def _create(client: FlaskClient, **changes: object) -> dict:  # type: ignore[type-arg]
    resp = client.post("/api/facilities", json={**NEW_ROOM, **changes})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


def test_api_create_update_delete_restore_with_history(login_as, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    feature = _create(clerk)
    fid = feature["id"]
    assert feature["properties"]["district"] == "金水区" and feature["properties"]["seats"] == 18
    assert client.get(f"/api/facilities/{fid}").status_code == 200  # anonymous read sees it

    patched = clerk.patch(f"/api/facilities/{fid}", json={"seats": 30, "volumes": 5000, "comment": "recount"})
    assert patched.status_code == 200 and patched.get_json()["properties"]["seats"] == 30

    gone = clerk.delete(f"/api/facilities/{fid}", json={"comment": "closed"})
    assert gone.status_code == 200 and gone.get_json()["deleted_at"]
    assert client.get(f"/api/facilities/{fid}").status_code == 404
    listed = client.get("/api/facilities?kind=study_room&limit=10000").get_json()
    assert fid not in [f["id"] for f in listed["features"]]
    assert clerk.delete(f"/api/facilities/{fid}").status_code == 404  # already gone for ordinary writes
    assert clerk.patch(f"/api/facilities/{fid}", json={"seats": 1}).status_code == 404

    restored = clerk.post(f"/api/facilities/{fid}/restore", json={"comment": "reopened"})
    assert restored.status_code == 200
    assert client.get(f"/api/facilities/{fid}").status_code == 200
    assert clerk.post(f"/api/facilities/{fid}/restore").get_json()["parameter"] == "id"  # not deleted: 409
    history = login_as("viewer").get(f"/api/facilities/{fid}/history").get_json()
    events = history["events"]
    assert [e["action"] for e in events] == ["create", "update", "delete", "restore"]
    assert all(e["actor"] == clerk.user.username and e["via"] == "web" for e in events)
    assert events[0]["comment"] == "opened in May"
    assert events[1]["changes"] == {"seats": {"before": 18, "after": 30}, "volumes": {"before": None, "after": 5000}}
    assert events[2]["comment"] == "closed" and events[2]["changes"]["deleted_at"]["before"] is None


@pytest.mark.parametrize(("body", "parameter"), [
    ({**NEW_ROOM, "colour": "red"}, "colour"),
    ({**NEW_ROOM, "seats": "twenty"}, "seats"),
    ({**NEW_ROOM, "seats": -3}, "seats"),
    ({**NEW_ROOM, "tenure": "borrowed"}, "tenure"),
    ({**NEW_ROOM, "status": "gone"}, "status"),
    ({**NEW_ROOM, "lat": None}, "lat"),
    ({**NEW_ROOM, "kind": "library"}, "kind"),
    ({k: v for k, v in NEW_ROOM.items() if k != "kind"}, "kind"),
    ({**NEW_ROOM, "comment": 5}, "comment"),
])
def test_api_rejects_bad_input_naming_the_field(login_as, body: dict, parameter: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    resp = login_as("clerk").post("/api/facilities", json=body)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["parameter"] == parameter


def test_api_patch_errors(login_as) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    fid = _create(clerk)["id"]
    assert clerk.patch(f"/api/facilities/{fid}", json={"kind": "museum"}).get_json()["parameter"] == "kind"
    assert clerk.patch(f"/api/facilities/{fid}", json={"name": ""}).get_json()["parameter"] == "name"
    assert clerk.patch(f"/api/facilities/{fid}", data="not json",
                       content_type="application/json").get_json()["parameter"] == "body"
    assert clerk.patch("/api/facilities/999999", json={"seats": 1}).status_code == 404


def test_every_api_write_leaves_one_event_with_the_right_values(login_as, session: Session) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    fid = _create(clerk)["id"]
    clerk.patch(f"/api/facilities/{fid}", json={"name": "改名", "lon": 113.62, "lat": 34.74})
    events = session.scalars(select(AuditEvent).where(AuditEvent.facility_id == fid).order_by(AuditEvent.id)).all()
    assert len(events) == 2
    assert events[1].changes["name"] == ["API 书房", "改名"]
    assert events[1].changes["lon"] == [113.665, 113.62] and events[1].changes["lat"] == [34.79, 34.74]
    assert events[1].changes["district_code"] == ["410105", "410102"]
    fac = session.get(Facility, fid)
    assert fac is not None and fac.name == "改名" and fac.district_code == "410102"


def test_district_limited_clerk(login_as) -> None:  # type: ignore[no-untyped-def]
    admin = login_as("admin")
    inside = _create(admin)["id"]  # 金水区 410105
    outside = _create(admin, lon=113.62, lat=34.74, name="中原书房")["id"]  # 中原区 410102
    jinshui_clerk = login_as("clerk", district_code="410105")
    assert jinshui_clerk.patch(f"/api/facilities/{inside}", json={"seats": 40}).status_code == 200
    refused = jinshui_clerk.patch(f"/api/facilities/{outside}", json={"seats": 40})
    assert refused.status_code == 403
    assert jinshui_clerk.delete(f"/api/facilities/{outside}").status_code == 403
    assert jinshui_clerk.post("/api/facilities", json={**NEW_ROOM, "lon": 113.62, "lat": 34.74}).status_code == 403
    assert admin.get(f"/api/facilities/{outside}/history").get_json()["events"][-1]["action"] == "create"


def test_pages_create_edit_delete_restore_revert(login_as, session: Session) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    assert clerk.get("/facilities/new").status_code == 200
    form = clerk.get("/facilities/new?kind=museum")
    assert form.status_code == 200 and 'name="category"' in form.get_data(as_text=True)
    bad = clerk.post("/facilities/new?kind=museum", data={"name": "页面博物馆", "lon": "113.66", "lat": "34.78",
                                                          "annual_visitors": "lots"})
    assert bad.status_code == 400 and 'data-field="annual_visitors"' in bad.get_data(as_text=True)
    made = clerk.post("/facilities/new?kind=museum", data={"name": "页面博物馆", "lon": "113.66", "lat": "34.78",
                                                           "category": "thematic", "free_admission": "true",
                                                           "annual_visitors": "", "comment": "by form"})
    assert made.status_code == 302
    fid = int(re.search(r"/facilities/(\d+)/history", made.headers["Location"]).group(1))
    edit = clerk.get(f"/facilities/{fid}/edit")
    assert edit.status_code == 200 and "页面博物馆" in edit.get_data(as_text=True)
    saved = clerk.post(f"/facilities/{fid}/edit", data={"name": "页面博物馆", "lon": "113.66", "lat": "34.78",
                                                        "category": "comprehensive", "free_admission": "false"})
    assert saved.status_code == 302
    history = clerk.get(f"/facilities/{fid}/history").get_data(as_text=True)
    assert 'data-action="update"' in history and 'data-action="create"' in history
    update = session.scalars(select(AuditEvent).where(AuditEvent.facility_id == fid,
                                                      AuditEvent.action == "update")).one()
    assert update.changes == {"category": ["thematic", "comprehensive"], "free_admission": [True, False]}
    assert clerk.post(f"/facilities/{fid}/history/{update.id}/revert").status_code == 302
    session.expire_all()
    assert session.get(Facility, fid).category == "thematic"  # type: ignore[union-attr]
    assert clerk.post(f"/facilities/{fid}/delete", data={"comment": "duplicate"}).status_code == 302
    page = clerk.get(f"/facilities/{fid}/history").get_data(as_text=True)
    assert 'id="deleted-notice"' in page and 'id="restore-form"' in page
    assert clerk.get(f"/facilities/{fid}/edit").status_code == 404
    assert clerk.post(f"/facilities/{fid}/restore").status_code == 302
    actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.facility_id == fid)
                                                 .order_by(AuditEvent.id))]
    assert actions == ["create", "update", "revert", "delete", "restore"]


def test_history_page_hides_write_buttons_from_viewers(login_as) -> None:  # type: ignore[no-untyped-def]
    fid = _create(login_as("clerk"))["id"]
    page = login_as("viewer").get(f"/facilities/{fid}/history").get_data(as_text=True)
    assert 'data-action="create"' in page and "/edit" not in page and "revert" not in page
