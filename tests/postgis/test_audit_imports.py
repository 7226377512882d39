"""Imports and their rollbacks leave per-facility audit events with before/after values per field.

The events are written set-based in SQL (registry.audit.record_import / RollbackAudit); these
tests hold them to the same canonical form as the Python :func:`registry.audit.snapshot` used
by manual edits, field by field.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from registry import audit
from registry.audit import Actor
from registry.importer import ImportOptions, rollback, run_import
from registry.models import AuditEvent, Facility

pytestmark = pytest.mark.postgis

CLERK = Actor(name="import-clerk", user_id=None, via="cli")
HEAD = "编号,名称,地址,所属区县,经度,纬度,状态,座位数,建筑面积,开放日期,无线网络,产权形式\n"
ROOMS = (HEAD
         + "A1,审计书房一,花园路1号,金水区,113.6654321,34.7802,开放,\"1,200\",120.5㎡,2019年6月30日,是,租赁\n"
         + "A2,审计书房二,大学路2号,二七区,113.6430,34.7230,开放,30,90,2019/6/30,否,自有\n")
KG = "编号,名称,经度,纬度,状态,学位,主出入口坐标\nK1,审计幼儿园,113.6601,34.7701,开办,180,\"113.66015,34.77025\"\n"


def _write(tmp_path: Path, body: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _events(session: Session, batch_id: int, action: str) -> dict[int | None, AuditEvent]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.batch_id == batch_id, AuditEvent.action == action))
    return {(e.facility_id if e.entity_type == "facility" else None): e for e in rows}


def _created_changes(fac: Facility) -> dict[str, list[object]]:
    return {k: [None, v] for k, v in audit.snapshot(fac).items() if k != "id" and v is not None}


def test_import_update_and_rollback_are_audited_per_field(connection: Connection, tmp_path: Path) -> None:
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    opts = {"crs": "wgs84", "source": "audit-test", "created_by": "import-clerk", "actor": CLERK}
    first = run_import(connection, _write(tmp_path, ROOMS, "a.csv"), ImportOptions(kind="study_room", **opts))
    assert first.committed, first.issues.all()
    events = _events(session, first.batch_id, "import")
    ids = connection.execute(text("SELECT id FROM facility WHERE batch_id = :b ORDER BY id"),
                             {"b": first.batch_id}).scalars().all()
    assert len(ids) == 2 and set(events) == {*ids, None}
    for fid in ids:
        event = events[fid]
        fac = session.get(Facility, fid)
        assert event.actor == "import-clerk" and event.via == "cli" and event.kind == "study_room"
        assert event.changes == _created_changes(fac)  # SQL snapshot == Python snapshot, field by field
    one = events[ids[0]].changes
    assert one["seats"] == [None, 1200] and one["floor_area_m2"] == [None, 120.5]
    assert one["opened_date"] == [None, "2019-06-30"] and one["lon"] == [None, 113.6654321]
    assert one["district_code"] == [None, "410105"] and "volumes" not in one
    batch_event = events[None]
    assert batch_event.entity_type == "import_batch" and batch_event.changes["n_created"] == [None, 2]
    assert batch_event.changes["status"] == [None, "committed"]

    # a re-import updates A1 (seats, position) and adds A3: [before, after] for the changed fields only
    changed = ROOMS.replace("\"1,200\"", "55").replace("113.6654321,34.7802", "113.6660,34.7810") \
        + "A3,审计书房三,某路9号,金水区,113.6700,34.7900,开放,20,85,,是,自有\n"
    second = run_import(connection, _write(tmp_path, changed, "b.csv"), ImportOptions(kind="study_room", **opts))
    assert (second.n_created, second.n_updated) == (1, 2)
    events2 = _events(session, second.batch_id, "import")
    a1 = events2[ids[0]].changes
    assert a1["seats"] == [1200, 55] and a1["lon"] == [113.6654321, 113.666] and a1["lat"] == [34.7802, 34.781]
    assert a1["batch_id"] == [first.batch_id, second.batch_id]
    assert set(a1) <= {"seats", "lon", "lat", "batch_id", "district_code"}
    assert set(events2[ids[1]].changes) == {"batch_id"}  # same values: only the batch changed
    a3_id = max(f for f in events2 if f is not None)
    session.expire_all()
    assert events2[a3_id].changes == _created_changes(session.get(Facility, a3_id))

    # rollback: created rows end [value, null], updated rows go back to the first import's values
    pre = {fid: audit.snapshot(session.get(Facility, fid)) for fid in (*ids, a3_id)}
    rollback(connection, second.batch_id, "import-clerk", actor=Actor(name="boss", via="web", remote_addr="10.1.1.1"))
    back = _events(session, second.batch_id, "rollback")
    assert set(back) == {*ids, a3_id, None}
    assert back[a3_id].changes == {k: [v, None] for k, v in pre[a3_id].items() if k != "id" and v is not None}
    assert back[ids[0]].changes["seats"] == [55, 1200] and back[ids[0]].changes["lon"] == [113.666, 113.6654321]
    assert back[ids[0]].actor == "boss" and back[ids[0]].remote_addr == "10.1.1.1"
    session.expire_all()
    restored = audit.snapshot(session.get(Facility, ids[0]))
    assert {k: v[1] for k, v in back[ids[0]].changes.items()} == {k: restored[k] for k in back[ids[0]].changes}
    assert back[None].changes["status"] == ["committed", "rolled_back"] and back[None].changes["n_facilities"][1] == 3
    history = [e.action for e in audit.facility_history(session, ids[0])]
    assert history == ["import", "import", "rollback"]
    session.close()


def test_point_list_fields_match_the_python_form(connection: Connection, tmp_path: Path) -> None:
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    result = run_import(connection, _write(tmp_path, KG, "kg.csv"),
                        ImportOptions(crs="wgs84", kind="kindergarten", source="audit-test", actor=CLERK))
    assert result.committed, result.issues.all()
    [(fid, changes)] = [(e.facility_id, e.changes) for e in _events(session, result.batch_id, "import").values()
                        if e.entity_type == "facility"]
    assert changes == _created_changes(session.get(Facility, fid))
    assert changes["entrance"] == [None, "113.660150,34.770250"] and changes["places"] == [None, 180]
    session.close()


def test_blocked_and_dry_run_imports_leave_no_event(connection: Connection, tmp_path: Path) -> None:
    from registry.importer import preview_import

    before = connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    opts = ImportOptions(crs="wgs84", kind="study_room", source="audit-test", actor=CLERK)
    preview_import(connection, _write(tmp_path, ROOMS, "p.csv"), opts)
    blocked = run_import(connection, _write(tmp_path, ROOMS + "A9,坏,,,abc,34.7,开放,-3,0,,,\n", "x.csv"), opts)
    assert blocked.blocked
    assert connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one() == before


def test_a_district_limited_clerk_imports_and_rolls_back_only_in_the_district(connection: Connection,
                                                                              tmp_path: Path) -> None:
    from registry.importer import RollbackRefused

    before = connection.execute(text("SELECT count(*) FROM facility")).scalar_one()
    events = connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    opts = {"crs": "wgs84", "kind": "study_room", "source": "audit-test", "actor": CLERK}
    mixed = run_import(connection, _write(tmp_path, ROOMS, "mixed.csv"),  # A1 in 金水区, A2 in 二七区
                       ImportOptions(district_limit="410105", **opts))
    assert not mixed.committed and mixed.exit_code == 2
    [issue] = [i for i in mixed.issues.all() if i.code == "district_limit"]
    assert "410105" in issue.en and "1 record" in issue.en
    assert connection.execute(text("SELECT count(*) FROM facility")).scalar_one() == before
    assert connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one() == events

    jinshui_only = HEAD + ROOMS.splitlines(keepends=True)[1]
    ok = run_import(connection, _write(tmp_path, jinshui_only, "ok.csv"), ImportOptions(district_limit="410105", **opts))
    assert ok.committed, ok.issues.all()
    with pytest.raises(RollbackRefused, match="410103"):
        rollback(connection, ok.batch_id, "clerk-erqi", district_limit="410103")
    assert rollback(connection, ok.batch_id, "clerk-jinshui", district_limit="410105")["deleted"] == 1
