"""The importer against the real PostGIS fixture: every bad-input class, atomicity, upsert, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from registry.coords import wgs84_to_bd09, wgs84_to_gcj02
from registry.importer import ImportOptions, RollbackRefused, preview_import, rollback, run_import

pytestmark = pytest.mark.postgis

HEAD = "编号,名称,地址,所属区县,经度,纬度,状态,座位数,建筑面积,开放日期,无线网络,产权形式\n"
GOOD = (HEAD
        + "T1,金水测试书房,花园路1号,金水区,113.6654,34.7802,开放,\"1,200\",120㎡,2019年6月30日,是,租赁\n"
        + "T2,二七测试书房,大学路2号,二七区,113.6430,34.7230,开放,30,90,2019/6/30,否,自有\n")


def write(tmp_path: Path, text_: str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text_.encode(encoding))
    return path


def count(conn: Connection, sql: str = "SELECT count(*) FROM facility WHERE source = 'test'") -> int:
    return int(conn.execute(text(sql)).scalar() or 0)


def opts(**kw) -> ImportOptions:  # type: ignore[no-untyped-def]
    base = {"crs": "wgs84", "kind": "study_room", "source": "test", "created_by": "pytest"}
    return ImportOptions(**{**base, **kw})


def test_good_file_is_imported_with_districts_and_a_batch(connection: Connection, tmp_path: Path) -> None:
    result = run_import(connection, write(tmp_path, GOOD, encoding="gbk"), opts())
    assert result.exit_code == 0, result.issues.all()
    assert (result.n_created, result.n_updated, result.n_rejected) == (2, 0, 0)
    assert result.encoding == "GBK/GB18030"
    row = connection.execute(text(
        "SELECT f.district_code, s.seats, s.floor_area_m2, s.opened_date::text, s.wifi, s.tenure, f.batch_id "
        "FROM facility f JOIN study_room s USING (id) WHERE f.source = 'test' AND f.external_id = 'T1'")).one()
    assert row[:6] == ("410105", 1200, 120.0, "2019-06-30", True, "rented")
    batch = connection.execute(text("SELECT filename, checksum, encoding, crs, created_by, n_created, status "
                                    "FROM import_batch WHERE id = :b"), {"b": row[6]}).one()
    assert batch[0] == "f.csv" and len(batch[1]) == 64 and batch[2] == "GBK/GB18030"
    assert batch[3:] == ("wgs84", "pytest", 2, "committed")


def test_reject_file_mode_writes_nothing_and_import_valid_writes_the_good_rows(connection: Connection,
                                                                               tmp_path: Path) -> None:
    bad = GOOD + "T3,坏行,,,abc,34.7,开放,-3,0,2019/13/01,maybe,别的\n"
    path = write(tmp_path, bad)
    before = count(connection, "SELECT count(*) FROM facility")
    batches = count(connection, "SELECT count(*) FROM import_batch")
    result = run_import(connection, path, opts())
    assert result.exit_code == 1 and result.blocked and not result.committed
    assert count(connection, "SELECT count(*) FROM facility") == before
    assert count(connection, "SELECT count(*) FROM import_batch") == batches
    codes = {i.code for i in result.issues.row_issues}
    assert {"coordinate", "range", "date", "bool", "enum"} <= codes
    msg = next(i for i in result.issues.row_issues if i.code == "date")
    assert msg.row == 4 and msg.column == "开放日期" and "2019/13/01" in msg.zh and "expected a date" in msg.en
    report = result.report_csv.decode("utf-8-sig").splitlines()
    assert report[0].startswith("原行号 row,错误 error,编号,名称")
    assert report[1].startswith("4,") and report[1].endswith("T3,坏行,,,abc,34.7,开放,'-3,0,2019/13/01,maybe,别的")

    result = run_import(connection, path, opts(mode="import-valid"))
    assert result.exit_code == 1 and result.committed
    assert (result.n_created, result.n_rejected) == (2, 1)
    assert count(connection) == 2


def test_a_database_error_mid_way_leaves_nothing(connection: Connection, tmp_path: Path) -> None:
    connection.execute(text("""
        CREATE FUNCTION pg_temp.boom() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN IF NEW.seats = 30 THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER boom BEFORE INSERT ON study_room FOR EACH ROW EXECUTE FUNCTION pg_temp.boom();
    """))
    before = count(connection, "SELECT count(*) FROM facility")
    batches = count(connection, "SELECT count(*) FROM import_batch")
    with pytest.raises(Exception, match="injected failure"):
        run_import(connection, write(tmp_path, GOOD), opts())
    # facility rows were inserted before study_room failed: the savepoint took them back
    assert count(connection, "SELECT count(*) FROM facility") == before
    assert count(connection, "SELECT count(*) FROM import_batch") == batches
    assert count(connection, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'imp\\_%'") == 0


def test_reimport_updates_and_rollback_restores_exactly(connection: Connection, tmp_path: Path) -> None:
    first = run_import(connection, write(tmp_path, GOOD, "a.csv"), opts())
    snapshot = "SELECT to_jsonb(f) || to_jsonb(s) FROM facility f JOIN study_room s USING (id) " \
               "WHERE f.source = 'test' ORDER BY f.id"
    before = connection.execute(text(snapshot)).scalars().all()
    changed = GOOD.replace("\"1,200\"", "55").replace("113.6430,34.7230", "113.6431,34.7231") \
        + "T9,新书房,某路9号,金水区,113.6700,34.7900,开放,20,85,,是,自有\n"
    second = run_import(connection, write(tmp_path, changed, "b.csv"), opts())
    assert (second.n_created, second.n_updated) == (1, 2)
    assert connection.execute(text("SELECT seats FROM study_room s JOIN facility f USING (id) "
                                   "WHERE f.external_id = 'T1' AND f.source = 'test'")).scalar() == 55
    with pytest.raises(RollbackRefused):
        rollback(connection, first.batch_id, "pytest")  # a later batch changed its rows
    done = rollback(connection, second.batch_id, "pytest")
    assert done == {"deleted": 1, "restored": 2, "flags_removed": done["flags_removed"]}
    assert connection.execute(text(snapshot)).scalars().all() == before
    assert connection.execute(text("SELECT status, rolled_back_by FROM import_batch WHERE id = :b"),
                              {"b": second.batch_id}).one() == ("rolled_back", "pytest")
    with pytest.raises(RollbackRefused):
        rollback(connection, second.batch_id, "pytest")
    rollback(connection, first.batch_id, "pytest")
    assert count(connection) == 0


def test_dry_run_writes_nothing_but_counts(connection: Connection, tmp_path: Path) -> None:
    result = preview_import(connection, write(tmp_path, GOOD), opts())
    assert (result.n_created, result.committed, result.exit_code) == (2, False, 0)
    assert count(connection) == 0


@pytest.mark.parametrize("content,code", [
    ("", "empty"),
    (HEAD, "no_rows"),
    ("单列\n甲\n", "delimiter"),
    ("编号,地址,经度,纬度\nA,路,113.6,34.7\n", "no_name_column"),
    ("名称,经度\n甲,113.6\n", "coordinate_column"),
])
def test_unusable_files_exit_2(connection: Connection, tmp_path: Path, content: str, code: str) -> None:
    result = run_import(connection, write(tmp_path, content), opts())
    assert result.exit_code == 2 and result.unusable
    assert result.issues.file_issues[0].code == code
    assert count(connection) == 0


def test_wrong_kind_is_detected_from_the_headers(connection: Connection, tmp_path: Path) -> None:
    museum = "编号,名称,经度,纬度,所有制,类别,国家等级,免费开放,年观众量\nM1,某馆,113.66,34.78,国有,综合性,一级,是,1000\n"
    result = run_import(connection, write(tmp_path, museum), opts(kind="elevator"))
    assert result.exit_code == 2 and result.issues.file_issues[-1].code == "wrong_kind"
    assert "博物馆" in result.issues.file_issues[-1].zh


def test_kind_column_holds_several_kinds_and_unknown_columns_are_reported(connection: Connection,
                                                                          tmp_path: Path) -> None:
    mixed = ("类型,编号,名称,经度,纬度,座位数,所有制,备注\n"
             "城市书房,K1,书房甲,113.6654,34.7802,20,,x\n"
             "博物馆,K2,博物馆乙,113.6700,34.7600,,国有,y\n"
             "电影院,K3,影院,113.6700,34.7700,,,\n")
    result = run_import(connection, write(tmp_path, mixed), opts(kind=None, mode="import-valid"))
    assert result.n_created == 2 and result.n_rejected == 1
    assert sorted(result.kinds) == ["museum", "study_room"]
    assert any(i.code == "unknown_column" and "备注" in i.zh for i in result.issues.file_issues)
    assert any(i.code == "kind_unknown" and i.row == 4 for i in result.issues.row_issues)


def test_coordinate_problems_each_have_a_message(connection: Connection, tmp_path: Path) -> None:
    rows = [("C1", "NaN", "34.7"), ("C2", "34.75", "113.66"), ("C3", "200", "34.7"), ("C4", "0", "0"),
            ("C5", "113.66", ""), ("C6", "", "")]
    body = "编号,名称,地址,经度,纬度\n" + "".join(f"{i},名{i},路{i},{x},{y}\n" for i, x, y in rows)
    body += "C7,名C7,,,\n"
    result = run_import(connection, write(tmp_path, body), opts(mode="import-valid"))
    by_row = {i.row: i.code for i in result.issues.row_issues}
    assert by_row == {2: "nan", 3: "swapped", 4: "coordinate_range", 5: "outside_china", 6: "coordinate_missing",
                      7: "needs_coordinates", 8: "no_location"}
    assert result.n_needs_coordinates == 1 and result.n_rejected == 6
    assert "needs coordinates" in next(i.en for i in result.issues.row_issues if i.row == 7)


def test_gcj02_and_bd09_points_are_stored_in_wgs84_within_a_metre(connection: Connection, tmp_path: Path) -> None:
    lon, lat = 113.6654, 34.7802
    for crs, (x, y) in (("gcj02", wgs84_to_gcj02(lon, lat)), ("bd09", wgs84_to_bd09(lon, lat))):
        body = f"编号,名称,经度,纬度\nG-{crs},点,{x!r},{y!r}\n"
        run_import(connection, write(tmp_path, body, f"{crs}.csv"), opts(crs=crs))
        d = connection.execute(text(
            "SELECT ST_Distance(geography(geom), geography(ST_SetSRID(ST_MakePoint(:x, :y), 4326))) "
            "FROM facility WHERE external_id = :e"), {"x": lon, "y": lat, "e": f"G-{crs}"}).scalar()
        assert d < 1.0


def test_district_mismatch_and_outside_city_are_warnings(connection: Connection, tmp_path: Path) -> None:
    body = ("编号,名称,所属区县,经度,纬度\n"
            "D1,甲,二七区,113.6654,34.7802\n"      # lies in 金水区
            "D2,乙,金水区,116.40,39.90\n")          # Beijing
    result = run_import(connection, write(tmp_path, body), opts())
    codes = {(i.row, i.code) for i in result.issues.row_issues}
    assert (2, "district_mismatch") in codes and (3, "outside_city") in codes
    assert result.exit_code == 0 and result.n_created == 2
    flags = connection.execute(text("SELECT reason FROM review_flag WHERE batch_id = :b"),
                               {"b": result.batch_id}).scalars().all()
    assert flags == ["outside_city"]


def test_near_duplicates_are_flagged_not_merged(connection: Connection, tmp_path: Path) -> None:
    body = ("编号,名称,经度,纬度\n"
            "N1,金水区城市书房(花园路店),113.66540,34.78020\n"
            "N2,金水区城市书房花园路店,113.66555,34.78030\n"     # ~18 m away, same name
            "N3,完全不同的名字,113.66545,34.78025\n")            # near, different name
    result = run_import(connection, write(tmp_path, body), opts())
    assert result.n_created == 3 and result.n_flagged == 1
    flag = connection.execute(text("SELECT reason, distance_m FROM review_flag WHERE batch_id = :b"),
                              {"b": result.batch_id}).one()
    assert flag[0] == "near_duplicate" and 5 < flag[1] < 30
    assert any(i.code == "near_duplicate" and i.row == 2 and "第 3 行" in i.zh for i in result.issues.row_issues)


def test_same_external_id_twice_in_a_file_is_rejected(connection: Connection, tmp_path: Path) -> None:
    body = "编号,名称,经度,纬度\nX1,甲,113.66,34.78\nX1,乙,113.67,34.79\n"
    result = run_import(connection, write(tmp_path, body), opts())
    assert result.exit_code == 1 and result.issues.row_issues[0].code == "duplicate_id"
    assert result.issues.row_issues[0].row == 3 and "第 2 行" in result.issues.row_issues[0].zh


def test_huge_field_is_rejected_with_a_short_message(connection: Connection, tmp_path: Path) -> None:
    body = f"编号,名称,地址,经度,纬度\nH1,甲,{'长' * 50000},113.66,34.78\n"
    result = run_import(connection, write(tmp_path, body), opts())
    issue = result.issues.row_issues[0]
    assert issue.code == "too_long" and "50000" in issue.en and len(issue.zh) < 300


def test_suspect_crs_is_suggested(connection: Connection, tmp_path: Path) -> None:
    """BD-09 points declared as WGS-84 sit ~1 km off: near district borders they land in the wrong one."""
    import json

    import numpy as np
    import shapely
    from shapely.geometry import shape

    from registry.config import DATA_DIR

    polys = {f["properties"]["name"]: shape(f["geometry"]) for f in
             json.loads((DATA_DIR / "zhengzhou_districts_wgs84.geojson").read_text(encoding="utf-8"))["features"]
             if f["properties"]["level"] == "county"}
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(113.55, 113.80, 4000), rng.uniform(34.70, 34.85, 4000)
    blon, blat = wgs84_to_bd09(lon, lat)
    rows, off = [], 0
    for name, poly in polys.items():
        inside = shapely.contains_xy(poly, lon, lat)
        moved = shapely.contains_xy(poly, blon, blat)
        for i in np.flatnonzero(inside & ~moved)[:6]:
            rows.append((name, float(blon[i]), float(blat[i])))
            off += 1
        for i in np.flatnonzero(inside & moved)[:6]:
            rows.append((name, float(blon[i]), float(blat[i])))
    assert off >= 6
    body = "编号,名称,所属区县,经度,纬度\n" + "".join(f"S{k},点{k},{n},{x!r},{y!r}\n" for k, (n, x, y) in enumerate(rows))
    result = preview_import(connection, write(tmp_path, body), opts())
    hint = [i for i in result.issues.file_issues if i.code == "crs_suspect"]
    assert hint and "BD-09" in hint[0].en
    right = preview_import(connection, write(tmp_path, body, "g.csv"), opts(crs="bd09"))
    assert not [i for i in right.issues.file_issues if i.code == "crs_suspect"]


def test_xlsx_import(connection: Connection, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["编号", "名称", "经度", "纬度", "办园性质", "小区配套", "移交日期", "学位数"])
    ws.append(["KG1", "示例幼儿园", 113.6654, 34.7802, "普惠性民办", "是", "2019年6月30日", 270])
    ws.append(["KG2", "坏幼儿园", 113.6654, 34.7702, "私立", "是", None, 90])
    path = tmp_path / "k.xlsx"
    wb.save(path)
    result = run_import(connection, path, opts(kind="kindergarten", mode="import-valid"))
    assert (result.n_created, result.n_rejected, result.encoding) == (1, 1, "xlsx")
    assert result.issues.row_issues[0].row == 3 and result.issues.row_issues[0].column == "办园性质"
    assert connection.execute(text("SELECT operator_type, residential_supporting, places FROM kindergarten k "
                                   "JOIN facility f USING (id) WHERE f.external_id = 'KG1'")).one() == \
        ("inclusive_private", True, 270)


def test_export_round_trip_updates_the_same_records(connection: Connection, tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from registry.exporter import ExportFilter, export_csv

    first = run_import(connection, write(tmp_path, GOOD), opts())
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    data = export_csv(session, ExportFilter(kind="study_room", batch_id=first.batch_id))
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    again = run_import(connection, path, ImportOptions(crs="wgs84", source="other"))
    assert again.exit_code == 0, again.issues.all()
    assert (again.n_created, again.n_updated) == (0, 2)
