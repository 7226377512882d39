"""The fast import paths against PostGIS: chunks written while streaming, districts located in the client,
near-duplicates by grid join, COPY escaping.  Small ``chunk_size`` values force many chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Connection, text

from registry.importer import ImportOptions, run_import

pytestmark = pytest.mark.postgis


def write(tmp_path: Path, body: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def opts(**kw) -> ImportOptions:  # type: ignore[no-untyped-def]
    base = {"crs": "wgs84", "kind": "study_room", "source": "stream-test", "created_by": "pytest",
            "mode": "import-valid", "chunk_size": 2}
    return ImportOptions(**{**base, **kw})


def scalar(conn: Connection, sql: str, **params) -> object:  # type: ignore[no-untyped-def]
    return conn.execute(text(sql), params).scalar()


def test_chunks_update_insert_and_refuse_another_kind(connection: Connection, tmp_path: Path) -> None:
    first = run_import(connection, write(tmp_path, "类型,编号,名称,经度,纬度,座位数\n"
                                                   "城市书房,S1,书房一,113.6654,34.7802,20\n"
                                                   "博物馆,M1,馆一,113.6700,34.7600,\n", "a.csv"),
                       opts(kind=None))
    assert (first.n_created, first.n_rejected) == (2, 0)
    museum_before = connection.execute(text(
        "SELECT name, geom::text FROM facility WHERE source = 'stream-test' AND external_id = 'M1'")).one()
    body = ("类型,编号,名称,经度,纬度,座位数\n"
            "城市书房,S2,书房二,113.6000,34.7500,30\n"
            "城市书房,S3,书房三,113.6100,34.7510,31\n"
            "城市书房,M1,冒名书房,113.6200,34.7520,32\n"       # id of a museum: refused, museum untouched
            "城市书房,S1,书房一改,113.6655,34.7803,21\n"        # update, in a later chunk
            "博物馆,M2,馆二,113.6800,34.7700,\n")
    second = run_import(connection, write(tmp_path, body, "b.csv"), opts(kind=None))
    assert (second.n_created, second.n_updated, second.n_rejected) == (3, 1, 1)
    assert any(i.code == "id_other_kind" and i.row == 4 for i in second.issues.row_issues)
    assert connection.execute(text(
        "SELECT name, geom::text FROM facility WHERE source = 'stream-test' AND external_id = 'M1'")).one() \
        == museum_before
    assert scalar(connection, "SELECT s.seats FROM study_room s JOIN facility f USING (id) "
                              "WHERE f.source = 'stream-test' AND f.external_id = 'S1'") == 21
    assert scalar(connection, "SELECT count(*) FROM import_change WHERE batch_id = :b", b=second.batch_id) == 1
    assert scalar(connection, "SELECT count(*) FROM facility WHERE batch_id = :b", b=second.batch_id) == 4
    batch = connection.execute(text("SELECT kind, n_rows, n_created, n_updated, n_rejected FROM import_batch "
                                    "WHERE id = :b"), {"b": second.batch_id}).one()
    assert batch == ("museum,study_room", 5, 3, 1, 1)
    # new ids follow the file order
    ids = connection.execute(text("SELECT external_id FROM facility WHERE batch_id = :b AND external_id <> 'S1' "
                                  "ORDER BY id"), {"b": second.batch_id}).scalars().all()
    assert ids == ["S2", "S3", "M2"]


def test_reject_file_mode_takes_back_rows_already_written(connection: Connection, tmp_path: Path) -> None:
    before = scalar(connection, "SELECT count(*) FROM facility")
    batches = scalar(connection, "SELECT count(*) FROM import_batch")
    body = "编号,名称,经度,纬度\nR1,甲,113.60,34.75\nR2,乙,113.61,34.75\nR3,丙,113.62,34.75\nR4,坏,abc,34.75\n"
    result = run_import(connection, write(tmp_path, body), opts(mode="reject-file", chunk_size=1))
    assert result.blocked and not result.committed and result.n_created == 0
    assert scalar(connection, "SELECT count(*) FROM facility") == before
    assert scalar(connection, "SELECT count(*) FROM import_batch") == batches
    assert scalar(connection, "SELECT count(*) FROM pg_class WHERE relname LIKE 'imp\\_%'") == 0


def test_districts_located_in_the_client_agree_with_postgis(connection: Connection, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(112.6, 114.3, 400), rng.uniform(34.2, 35.0, 400)  # some fall outside the city
    points = zip(lon.tolist(), lat.tolist())
    body = "编号,名称,经度,纬度\n" + "".join(f"P{i},点{i},{x!r},{y!r}\n" for i, (x, y) in enumerate(points))
    result = run_import(connection, write(tmp_path, body), opts(chunk_size=150))
    assert result.n_created == 400
    disagree = scalar(connection, """
        SELECT count(*) FROM facility f
        WHERE f.batch_id = :b AND f.district_code IS DISTINCT FROM
              (SELECT d.adcode FROM district d WHERE d.level = 'county' AND ST_Intersects(d.geom, f.geom)
               ORDER BY d.adcode LIMIT 1)""", b=result.batch_id)
    assert disagree == 0
    outside = scalar(connection, "SELECT count(*) FROM facility WHERE batch_id = :b AND district_code IS NULL",
                     b=result.batch_id)
    assert 0 < outside < 400
    assert scalar(connection, "SELECT count(*) FROM review_flag WHERE batch_id = :b AND reason = 'outside_city'",
                  b=result.batch_id) == outside


def test_a_point_in_its_declared_functional_zone_is_not_a_mismatch(connection: Connection, tmp_path: Path) -> None:
    x, y = connection.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                                   "FROM census_unit WHERE code = '410171') z")).one()
    county = scalar(connection, "SELECT adcode FROM district WHERE level = 'county' AND "
                                "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) ORDER BY adcode LIMIT 1",
                    x=x, y=y)
    other = "二七区" if county != "410103" else "金水区"
    body = f"编号,名称,所属区县,经度,纬度\nZ1,甲,经开区,{x!r},{y!r}\nZ2,乙,{other},{x!r},{y + 0.0002!r}\n"
    result = run_import(connection, write(tmp_path, body), opts())
    rows = {i.row for i in result.issues.row_issues if i.code == "district_mismatch"}
    assert rows == {3}


def test_near_duplicates_across_chunks_and_against_earlier_records(connection: Connection, tmp_path: Path) -> None:
    old = run_import(connection, write(tmp_path, "编号,名称,经度,纬度\nE1,老城书房,113.70000,34.80000\n", "a.csv"),
                     opts())
    body = ("编号,名称,经度,纬度\n"
            "N1,花园路书房,113.66540,34.78020\n"
            "F1,远处书房,113.60000,34.70000\n"
            "N2,花园路书房（北）,113.66555,34.78030\n"    # ~18 m from N1, two chunks later
            "N3,全然不同,113.66545,34.78025\n"             # near, unrelated name
            "E2,老城书房,113.70010,34.80010\n")            # ~14 m from the earlier E1
    result = run_import(connection, write(tmp_path, body, "b.csv"), opts(chunk_size=1))
    flags = connection.execute(text("""
        SELECT f.external_id, o.external_id, rf.distance_m FROM review_flag rf
        JOIN facility f ON f.id = rf.facility_id JOIN facility o ON o.id = rf.other_facility_id
        WHERE rf.batch_id = :b AND rf.reason = 'near_duplicate' ORDER BY 1"""), {"b": result.batch_id}).all()
    assert [(a, b) for a, b, _ in flags] == [("E2", "E1"), ("N1", "N2")]
    assert all(5 < d < 30 for _, _, d in flags)
    assert result.n_flagged == 2 and old.batch_id != result.batch_id


def test_copy_keeps_tabs_line_breaks_and_backslashes(connection: Connection, tmp_path: Path) -> None:
    name = "甲\t乙\\丙\n丁"
    body = f'编号,名称,地址,经度,纬度\nQ1,"{name}",路\\1号,113.60,34.75\n'
    result = run_import(connection, write(tmp_path, body), opts())
    assert result.n_created == 1, result.issues.all()
    assert connection.execute(text("SELECT name, address FROM facility WHERE source = 'stream-test' "
                                   "AND external_id = 'Q1'")).one() == (name, "路\\1号")


def test_sources_new_and_known_in_one_file(connection: Connection, tmp_path: Path) -> None:
    """Rows of a source with no records yet skip the existing-record probe; rows of a known source in the same
    file, in later chunks, still update their records (and the counts, tallied while streaming, agree)."""
    run_import(connection, write(tmp_path, "编号,名称,经度,纬度,座位数\nK1,已有书房,113.6654,34.7802,10\n", "a.csv"),
               opts(source="known-src"))
    body = ("来源,编号,名称,所属区县,经度,纬度,座位数\n"
            "new-src,K1,新来源同编号,金水区,113.6000,34.7500,1\n"     # same id, other source: a new record
            "new-src,N2,新来源二,二七区,113.6100,34.7510,2\n"
            "known-src,K1,已有书房改,金水区,113.6655,34.7803,11\n"    # update, in the second chunk
            "new-src,N3,北京,金水区,116.40,39.90,3\n"                  # outside Zhengzhou
            "known-src,K2,已知来源新编号,金水区,113.6700,34.7600,4\n")
    result = run_import(connection, write(tmp_path, body, "b.csv"), opts(source="default-src"))
    assert (result.n_created, result.n_updated, result.n_rejected) == (4, 1, 0)
    rows = connection.execute(text(
        "SELECT f.source, f.external_id, f.name, s.seats FROM facility f JOIN study_room s USING (id) "
        "WHERE f.source IN ('new-src', 'known-src') ORDER BY 1, 2")).all()
    assert rows == [("known-src", "K1", "已有书房改", 11), ("known-src", "K2", "已知来源新编号", 4),
                    ("new-src", "K1", "新来源同编号", 1), ("new-src", "N2", "新来源二", 2), ("new-src", "N3", "北京", 3)]
    assert scalar(connection, "SELECT count(*) FROM import_change WHERE batch_id = :b", b=result.batch_id) == 1
    assert {(i.row, i.code) for i in result.issues.row_issues} >= {(5, "outside_city"), (5, "district_mismatch")}
    batch = connection.execute(text("SELECT n_created, n_updated FROM import_batch WHERE id = :b"),
                               {"b": result.batch_id}).one()
    assert batch == (4, 1)
