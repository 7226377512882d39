"""Backups: a dump restored into an empty database reproduces every row of every table."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from registry import audit, backup, editing
from registry.audit import Actor
from registry.auth import accounts, tokens
from registry.importer import ImportOptions, run_import
from registry.models import AuditEvent, District, Facility, ImportBatch, User

pytestmark = pytest.mark.postgis

SQUARE = "SRID=4326;MULTIPOLYGON(((113.5 34.6,113.8 34.6,113.8 34.9,113.5 34.9,113.5 34.6)))"


ROOMS = "编号,名称,经度,纬度,状态,座位数\nB1,备份书房一,113.66,34.77,开放,20\nB2,备份书房二,113.661,34.771,开放,12\n"


def _populate(url: str, tmp_dir: Path) -> None:
    """A small registry: a district, one facility of every kind, a batch, users, tokens, audit events."""
    engine = create_engine(url)
    with Session(engine) as session:
        session.add(District(adcode="410105", name="金水区", level="county", unit_type="urban_district",
                             area_km2=242.0, geom=SQUARE))
        session.flush()
        admin = accounts.create_user(session, "root-admin", "admin", "backup test password", None,
                                     Actor.system("test"))
        clerk = accounts.create_user(session, "clerk-a", "clerk", "backup test password", "410105",
                                     Actor.of(admin, "cli"))
        tokens.issue_token(session, clerk, "nightly")
        who = Actor.of(clerk, "api", "127.0.0.1")
        batch = ImportBatch(source="district-office", filename="金水区.csv", kind="museum", n_created=1)
        session.add(batch)
        session.flush()
        audit.record_batch_event(session, who, "import", batch, "monthly list")
        made = [
            editing.create_facility(session, who, "museum", {"name": "河南博物院", "lon": 113.67, "lat": 34.79,
                                                             "category": "comprehensive", "free_admission": True,
                                                             "annual_visitors": 2_000_000}),
            editing.create_facility(session, who, "study_room", {"name": "城市书房 1", "lon": 113.66, "lat": 34.76,
                                                                 "opens_at": "09:00", "floor_area_m2": 120.5}),
            editing.create_facility(session, who, "kindergarten", {"name": "幼儿园 1", "lon": 113.7, "lat": 34.8,
                                                                   "entrance": "113.7001,34.8001"}),
            editing.create_facility(session, who, "elevator", {"name": "电梯 1", "lon": 113.71, "lat": 34.81,
                                                               "last_inspection_date": "2019-05-01"}),
            editing.create_facility(session, who, "parking_lot", {"name": "停车场 1", "lon": 113.72, "lat": 34.82,
                                                                  "entrances": "113.72,34.82;113.721,34.821"}),
        ]
        editing.update_facility(session, who, made[0], {"annual_visitors": 2_100_000}, "new count")
        editing.delete_facility(session, who, made[4], "closed")
        # a real import and a re-import that updates one row: batches, before-images, reports, audit events
        for name, body in (("rooms1.csv", ROOMS), ("rooms2.csv", ROOMS.replace(",20\n", ",35\n"))):
            path = tmp_dir / name
            path.write_text(body, encoding="utf-8")
            done = run_import(session.connection(), path, ImportOptions(crs="wgs84", kind="study_room",
                                                                        source="backup-test", actor=who))
            assert done.committed, done.issues.all()
        session.commit()
    engine.dispose()


def _table_digests(url: str) -> dict[str, tuple[int, str]]:
    """(row count, md5 of every row's text) for every table of the public schema."""
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys' ORDER BY 1")).scalars().all()
        out = {}
        for table in tables:
            count, digest = conn.execute(text(
                f'SELECT count(*), md5(coalesce(string_agg(t::text, E\'\\n\' ORDER BY t::text), \'\')) '
                f'FROM "{table}" t')).one()
            out[table] = (count, digest)
    engine.dispose()
    return out


def test_backup_restored_into_an_empty_database_reproduces_every_row(scratch_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = scratch_database()
    _populate(source, tmp_path)
    dump = tmp_path / "registry.dump"
    info = backup.backup(source, dump)
    assert dump.stat().st_size > 0 and not (tmp_path / "registry.dump.partial").exists()
    assert {"facility", "audit_event", "import_batch", "app_user", "museum"} <= set(info.tables)

    target = scratch_database(migrate=False)  # no tables, no PostGIS
    backup.restore(target, dump)
    before, after = _table_digests(source), _table_digests(target)
    assert set(before) == set(after)
    assert before == after
    assert before["facility"][0] == 7 and before["audit_event"][0] >= 14 and before["import_batch"][0] == 3
    assert before["import_change"][0] == 2 and before["compliance_finding"][0] > 0
    for table in ("museum", "study_room", "kindergarten", "elevator", "parking_lot", "app_user", "api_token"):
        assert before[table][0] >= 1, table

    # the restored copy is a working registry: soft deletes, history and accounts came along
    engine = create_engine(target)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Facility)) == 6  # one is soft-deleted
        room = session.scalar(select(Facility.id).where(Facility.name == "备份书房一"))
        assert [(e.action, e.changes.get("seats")) for e in audit.facility_history(session, room)] == [
            ("import", [None, 20]), ("import", [20, 35])]
        history = audit.facility_history(session, session.scalar(select(Facility.id).where(
            Facility.name == "河南博物院")))
        assert [e.action for e in history] == ["create", "update"]
        assert history[1].changes == {"annual_visitors": [2_000_000, 2_100_000]}
        assert session.scalar(select(User.role).where(User.username == "clerk-a")) == "clerk"
    engine.dispose()


def test_restore_over_a_changed_database_brings_it_back(scratch_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = scratch_database()
    _populate(url, tmp_path)
    dump = tmp_path / "before.dump"
    backup.backup(url, dump)
    expected = _table_digests(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event"))
        conn.execute(text("UPDATE facility SET name = 'vandalised'"))
    engine.dispose()
    assert _table_digests(url) != expected
    backup.restore(url, dump)
    assert _table_digests(url) == expected


def test_bad_files_are_refused_with_a_message(tmp_path: Path, pg_url: str) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello", encoding="utf-8")
    with pytest.raises(backup.BackupError, match="not a pg_dump"):
        backup.restore(pg_url, bogus)
    with pytest.raises(backup.BackupError, match="no backup file"):
        backup.inspect(tmp_path / "missing.dump")
    with pytest.raises(backup.BackupError, match="is a folder"):
        backup.backup(pg_url, tmp_path)


def test_cli_backup_and_restore_need_an_admin_and_are_audited(scratch_database, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.cli import main

    source = scratch_database()
    _populate(source, tmp_path)
    monkeypatch.delenv("REGISTRY_USER", raising=False)
    monkeypatch.setenv("DATABASE_URL", source)
    runner = CliRunner()
    dump = tmp_path / "cli.dump"

    refused = runner.invoke(main, ["backup", str(dump)])
    assert refused.exit_code == 2 and "--as" in refused.output and not dump.exists()
    refused = runner.invoke(main, ["backup", str(dump), "--as", "clerk-a"])
    assert refused.exit_code == 2 and "system.admin" in refused.output and not dump.exists()

    done = runner.invoke(main, ["backup", str(dump), "--as", "root-admin"])
    assert done.exit_code == 0, done.output
    assert "backup written" in done.output and dump.exists()

    target = scratch_database(migrate=False)
    monkeypatch.setenv("DATABASE_URL", target)
    restored = runner.invoke(main, ["restore", str(dump), "--yes"])  # empty target: no accounts to check yet
    assert restored.exit_code == 0, restored.output
    engine = create_engine(target)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Facility)
                              .execution_options(include_deleted=True)) == 7
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last is not None and last.action == "db.restore"
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "db.backup")) == 0  # recorded after the dump
    engine.dispose()

    refused = runner.invoke(main, ["restore", str(dump), "--yes", "--as", "clerk-a"])
    assert refused.exit_code == 2 and "system.admin" in refused.output
