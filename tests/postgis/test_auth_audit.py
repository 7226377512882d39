"""The audit trail and facility writes against PostGIS: before/after per field, soft delete, restore, revert."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import audit, editing
from registry.audit import Actor
from registry.editing import EditError
from registry.facilities import get_count_table, get_features
from registry.models import AuditEvent, Facility, ImportBatch, Kindergarten, StudyRoom

pytestmark = pytest.mark.postgis

CLERK = Actor(name="clerk-x", via="api", remote_addr="10.0.0.1")
JINSHUI = "410105"


def _room(session: Session, **extra: object) -> StudyRoom:
    data = {"name": "测试书房", "lon": 113.665, "lat": 34.79, "seats": 20, "opens_at": "09:00",
            "wifi": True, "status": "open", **extra}
    fac = editing.create_facility(session, CLERK, "study_room", data, "new room")
    assert isinstance(fac, StudyRoom)
    return fac


def test_create_records_every_given_value_and_locates_the_district(session: Session) -> None:
    fac = _room(session)
    assert fac.district_code == JINSHUI and fac.source == "manual"
    [event] = audit.facility_history(session, fac.id)
    assert event.action == "create" and event.actor == "clerk-x" and event.via == "api"
    assert event.comment == "new room" and event.remote_addr == "10.0.0.1"
    assert event.changes["name"] == [None, "测试书房"]
    assert event.changes["seats"] == [None, 20]
    assert event.changes["opens_at"] == [None, "09:00"]
    assert event.changes["wifi"] == [None, True]
    assert event.changes["lon"] == [None, 113.665] and event.changes["district_code"] == [None, JINSHUI]
    assert "volumes" not in event.changes  # unknown stays unknown, not recorded as a change


def test_update_records_only_changed_fields_with_before_and_after(session: Session) -> None:
    fac = _room(session)
    event = editing.update_facility(session, CLERK, fac, {"seats": 35, "wifi": True, "volumes": 3000,
                                                          "opens_at": "08:30"}, "recount")
    assert event is not None
    assert event.changes == {"seats": [20, 35], "volumes": [None, 3000], "opens_at": ["09:00", "08:30"]}
    assert editing.update_facility(session, CLERK, fac, {"seats": 35}) is None  # no change, no event
    moved = editing.update_facility(session, CLERK, fac, {"lon": 113.62, "lat": 34.74})
    assert moved is not None and moved.changes["lon"] == [113.665, 113.62]
    assert moved.changes["district_code"][0] == JINSHUI  # the district follows the point


def test_soft_delete_hides_the_facility_everywhere_and_restore_brings_it_back(session: Session) -> None:
    fac = _room(session)
    count_before = get_count_table(session).total
    features_before = get_features(session, "study_room", limit=10_000)[1]
    editing.delete_facility(session, CLERK, fac, "closed for good")
    session.expunge_all()  # a fresh view, like the next request's session
    assert get_count_table(session).total == count_before - 1
    assert get_features(session, "study_room", limit=10_000)[1] == features_before - 1
    assert session.get(Facility, fac.id) is None
    assert session.scalar(select(func.count()).select_from(StudyRoom).where(StudyRoom.id == fac.id)) == 0
    kept = editing.get_facility(session, fac.id, include_deleted=True)
    assert kept is not None and kept.deleted_at is not None  # the row is still there
    with pytest.raises(EditError) as err:
        editing.update_facility(session, CLERK, kept, {"seats": 1})
    assert err.value.status == 409
    editing.restore_facility(session, CLERK, kept, "reopened")
    session.expunge_all()
    assert session.get(Facility, fac.id) is not None
    actions = [(e.action, list(e.changes)) for e in audit.facility_history(session, fac.id)]
    assert actions[1:] == [("delete", ["deleted_at"]), ("restore", ["deleted_at"])]
    assert audit.facility_history(session, fac.id)[1].comment == "closed for good"


def test_revert_puts_back_the_before_values(session: Session) -> None:
    fac = _room(session)
    change = editing.update_facility(session, CLERK, fac, {"seats": 5, "name": "改名书房", "district": "金水区"})
    assert change is not None
    editing.update_facility(session, CLERK, fac, {"volumes": 4000})
    revert = editing.revert_event(session, CLERK, fac, change)
    assert revert is not None and revert.action == "revert"
    assert fac.seats == 20 and fac.name == "测试书房" and fac.declared_district is None
    assert fac.volumes == 4000  # later, unrelated changes stay
    assert revert.changes["seats"] == [5, 20] and revert.comment == f"revert of event {change.id}"


@pytest.mark.parametrize(("data", "field"), [
    ({"name": "x", "lon": 113.6, "lat": 34.7, "colour": "red"}, "colour"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "seats": -1}, "seats"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "seats": "many"}, "seats"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "seats": 2.5}, "seats"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "floor_area_m2": 0}, "floor_area_m2"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "wifi": "maybe"}, "wifi"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "wifi": 1}, "wifi"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "tenure": "stolen"}, "tenure"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "status": "demolished"}, "status"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "opened_date": "2019-13-01"}, "opened_date"),
    ({"name": "x", "lon": 113.6, "lat": 34.7, "opens_at": "25:00"}, "opens_at"),
    ({"name": "x", "lon": 213.6, "lat": 34.7}, "lon"),
    ({"name": "x", "lon": 113.6}, "lat"),
    ({"lon": 113.6, "lat": 34.7}, "name"),
    ({"name": "x" * 501, "lon": 113.6, "lat": 34.7}, "name"),
])
def test_bad_input_names_the_field(session: Session, data: dict[str, object], field: str) -> None:
    with pytest.raises(EditError) as err:
        editing.create_facility(session, CLERK, "study_room", data)
    assert err.value.field == field and err.value.status == 400


def test_points_fields_and_unknown_kind(session: Session) -> None:
    kg = editing.create_facility(session, CLERK, "kindergarten", {"name": "幼儿园", "lon": 113.6, "lat": 34.7,
                                                                  "entrance": [[113.6001, 34.7001]]})
    assert isinstance(kg, Kindergarten)
    assert audit.facility_history(session, kg.id)[0].changes["entrance"] == [None, "113.600100,34.700100"]
    with pytest.raises(EditError) as err:
        editing.create_facility(session, CLERK, "kindergarten", {"name": "k", "lon": 113.6, "lat": 34.7,
                                                                 "entrance": "north gate"})
    assert err.value.field == "entrance"
    with pytest.raises(EditError) as err:
        editing.create_facility(session, CLERK, "library", {"name": "k"})
    assert err.value.field == "kind"


def test_external_id_clash_is_409(session: Session) -> None:
    _room(session, external_id="SR-001")
    with pytest.raises(EditError) as err:
        _room(session, external_id="SR-001")
    assert err.value.field == "external_id" and err.value.status == 409


def test_district_guard_limits_a_clerk(session: Session) -> None:
    def only_jinshui(code: str | None) -> bool:
        return code == JINSHUI

    fac = editing.create_facility(session, CLERK, "museum", {"name": "m", "lon": 113.665, "lat": 34.79},
                                  district_guard=only_jinshui)
    with pytest.raises(EditError) as err:  # moving it out of the clerk's district
        editing.update_facility(session, CLERK, fac, {"lon": 113.0, "lat": 34.4}, district_guard=only_jinshui)
    assert err.value.status == 403


def test_batch_events_and_bulk_records(session: Session) -> None:
    batch = ImportBatch(source="test-office", kind="study_room", n_created=2)
    session.add(batch)
    session.flush()
    a, b = _room(session), _room(session, name="第二书房")
    before_b = audit.snapshot(b)
    b.seats = 99
    session.flush()
    n = audit.record_changes(session, CLERK, "import", [(None, a), (before_b, b), (audit.snapshot(a), a)],
                             "monthly import", batch_id=batch.id)
    assert n == 3  # only "update" skips a pair without changes; an import records every row it touched
    event = audit.record_batch_event(session, CLERK, "rollback", batch, "wrong file",
                                     changes={"status": ("committed", "rolled_back")})
    events = audit.batch_events(session, batch.id)
    assert [e.action for e in events][-1] == "rollback" and event.changes == {"status": ["committed", "rolled_back"]}
    imported_b = next(e for e in events if e.facility_id == b.id)
    assert imported_b.changes == {"seats": [20, 99]} and imported_b.batch_id == batch.id
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.batch_id == batch.id)) == 4  # 3 rows + the batch
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record_change(session, CLERK, "teleport", None, a)
