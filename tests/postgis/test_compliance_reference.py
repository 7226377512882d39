"""Reference point layers: CSV import (CRS, headers, encodings, errors) and their effect on PK-7 / KG-7."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from registry.cli import main
from registry.compliance_db import recheck, recheck_layers
from registry.coords import to_wgs84
from registry.models import User
from registry.reference_layers import (
    ReferenceImportError,
    get_layer_counts,
    import_csv,
    rule_category,
)
from tests.postgis.compliance_fixtures import (
    CLEAN_BERTH,
    SPOT,
    assert_empty_around,
    finding,
    make,
    offset,
)

AS_OF = dt.date(2026, 11, 22)


def _points(session: Session, layer: str) -> list[tuple[str, str | None, float, float, bool]]:
    return [tuple(r) for r in session.execute(text(
        "SELECT name, category, ST_X(geom), ST_Y(geom), is_synthetic FROM reference_point WHERE layer = :l ORDER BY id"),
        {"l": layer})]


def test_gcj02_points_are_converted_and_the_layer_replaced(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "schools.csv"
    path.write_text("lon,lat,name\n113.671103,34.752187,甲小学\n113.70,34.76,乙小学\n", encoding="utf-8")
    result = import_csv(session, path, layer="school", crs="gcj02")
    assert result.counts == {"school": 2} and result.replaced == {"school": 2}  # the two synthetic sample points went
    rows = _points(session, "school")
    lon, lat = to_wgs84(113.671103, 34.752187, "gcj02")
    assert rows[0][0] == "甲小学" and rows[0][2] == pytest.approx(lon, abs=1e-9) and rows[0][3] == pytest.approx(lat, abs=1e-9)
    assert round(rows[0][2], 4) == 113.665 and rows[0][4] is False
    again = import_csv(session, path, layer="school", crs="gcj02", replace=False)
    assert again.replaced == {} and len(_points(session, "school")) == 4


def test_chinese_headers_gbk_and_venue_categories(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "venues.csv"
    path.write_bytes("经度,纬度,名称,类别\n113.60,34.75,某KTV,KTV\n113.61,34.75,某网吧,网吧\n113.62,34.75,某场所,\n"
                     .encode("gbk"))
    import_csv(session, path, layer="venue")
    assert [(r[0], r[1]) for r in _points(session, "venue")] == [("某KTV", "entertainment"), ("某网吧", "internet_cafe"),
                                                                ("某场所", "entertainment")]
    assert rule_category("venue", "Internet Café") == "internet_cafe"


def test_headerless_rows_and_a_layer_column(session: Session, tmp_path: Path) -> None:
    bare = tmp_path / "stops.csv"
    bare.write_text("113.60,34.75,甲站\n113.61,34.76,乙站\n", encoding="utf-8")
    assert import_csv(session, bare, layer="bus_stop").counts == {"bus_stop": 2}
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("layer,lon,lat,name\nhospital,113.6,34.7,甲医院\nintersection,113.6,34.71,甲路口\n", encoding="utf-8")
    assert import_csv(session, mixed).counts == {"hospital": 1, "intersection": 1}


@pytest.mark.parametrize("content,layer,message", [
    ("lon,lat,name\n113.6,34.7,x\n", "library", "unknown layer 'library'"),
    ("lon,lat,name\n113.6,abc,x\n113.6,34.7,y\n", "school", "row 2: 经纬度无效"),
    ("lon,lat,name\n213.6,34.7,x\n", "school", "row 2: 经纬度超出范围"),
    ("name,x2\nfoo,bar\n", "school", "missing column(s): lon, lat"),
    ("lon,lat,name\n", "school", "header but no rows"),
    ("lon,lat,name\n113.6,34.7,x\n", None, "no layer"),
    ("layer,lon,lat\nschool,113.6,34.7\nhotel,113.6,34.7\n", None, "row 3: 未知图层 / unknown layer 'hotel'"),
])
def test_bad_files_are_refused_whole(session: Session, tmp_path: Path, content: str, layer: str | None,
                                     message: str) -> None:
    before = get_layer_counts(session)
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReferenceImportError) as info:
        import_csv(session, path, layer=layer)
    assert message in str(info.value)
    assert get_layer_counts(session) == before


def test_reference_points_decide_pk7_and_a_missing_layer_makes_it_unknown(session: Session, tmp_path: Path) -> None:
    assert_empty_around(session)
    berth = make(session, "parking_lot", SPOT, "参照测试泊位", **CLEAN_BERTH)
    recheck(session, [berth.id], AS_OF)
    assert finding(session, berth.id, "PK-7")["verdict"] == "pass"
    school = offset(SPOT, east_m=35)
    path = tmp_path / "school.csv"
    path.write_text(f"lon,lat,name\n{school[0]!r},{school[1]!r},参照测试小学\n", encoding="utf-8")
    import_csv(session, path, layer="school", replace=False)
    report = recheck_layers(session, ["school"], AS_OF)
    assert report is not None and report.kinds == ["parking_lot"]
    pk7 = finding(session, berth.id, "PK-7")
    assert pk7["verdict"] == "fail" and "参照测试小学（学校）" in pk7["message_zh"]
    assert re.search(r"35(\.0)? m ≤ 50 m", pk7["message_zh"]) and pk7["neighbour_ids"] is None
    entrance = offset(SPOT, north_m=14)  # 15 m rule for residential entrances
    path.write_text(f"lon,lat,name\n{entrance[0]!r},{entrance[1]!r},参照测试小区\n", encoding="utf-8")
    import_csv(session, path, layer="residential_entrance", replace=False)
    session.execute(text("DELETE FROM reference_point WHERE layer IN ('school', 'bus_stop')"))
    recheck_layers(session, ["school", "bus_stop", "residential_entrance"], AS_OF)
    pk7 = finding(session, berth.id, "PK-7")
    assert pk7["verdict"] == "fail" and "参照测试小区" in pk7["message_zh"] and "15 m" in pk7["message_zh"]
    session.execute(text("DELETE FROM reference_point WHERE layer = 'residential_entrance'"))
    recheck_layers(session, ["residential_entrance"], AS_OF)
    unknown = finding(session, berth.id, "PK-7")
    assert unknown["verdict"] == "unknown" and "not searched" in unknown["message_en"]


def test_kg7_needs_the_venue_layer(session: Session) -> None:
    assert_empty_around(session)
    kg = make(session, "kindergarten", SPOT, "参照测试幼儿园", status="open")
    recheck(session, [kg.id], AS_OF)
    assert finding(session, kg.id, "KG-7")["verdict"] == "pass"  # sample venue layer loaded, none within 200 m
    session.execute(text("INSERT INTO reference_point (layer, name, category, geom) VALUES "
                         "('venue', '参照测试网吧', 'internet_cafe', ST_GeomFromEWKT(:p))"),
                    {"p": "SRID=4326;POINT({} {})".format(*offset(SPOT, east_m=150))})
    recheck_layers(session, ["venue"], AS_OF)
    kg7 = finding(session, kg.id, "KG-7")
    assert kg7["verdict"] == "fail" and "参照测试网吧（营业性上网服务场所）" in kg7["message_zh"]
    session.execute(text("DELETE FROM reference_point WHERE layer = 'venue'"))
    recheck_layers(session, ["venue"], AS_OF)
    assert finding(session, kg.id, "KG-7")["verdict"] == "unknown"


def test_cli_reference_import_and_compliance_check(scratch_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = scratch_database(migrate=True)
    engine = create_engine(url)
    with Session(engine) as session:
        make(session, "parking_lot", SPOT, "命令行泊位", **CLEAN_BERTH)
        make(session, "study_room", offset(SPOT, east_m=500), "命令行书房", status="open", seats=12)
        session.add(User(username="rules-admin", role="admin", password_hash="x", is_active=True, session_version=0))
        session.commit()
    engine.dispose()
    env = {"DATABASE_URL": url, "REGISTRY_USER": "rules-admin"}  # CLI writes need an account holding rules.admin
    stop = offset(SPOT, east_m=20)
    path = tmp_path / "stops.csv"
    path.write_text(f"lon,lat,name\n{stop[0]!r},{stop[1]!r},命令行公交站\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["reference", "import", str(path), "--layer", "bus_stop", "--crs", "wgs84"],
                                env=env)
    assert result.exit_code == 0, result.output
    assert "bus_stop: 1 points imported" in result.output and "re-checked 1 facilities (parking_lot)" in result.output
    result = CliRunner().invoke(main, ["compliance", "check", "--as-of", "2026-11-22"], env=env)
    assert result.exit_code == 0, result.output
    assert "facilities: 2" in result.output and re.search(r"time: \d+\.\d\d s", result.output)
    assert re.search(r"^SR-2\s+0\s+1\s", result.output, re.MULTILINE) and re.search(r"^PK-7\s+0\s+1\s", result.output, re.MULTILINE)
    out = tmp_path / "findings.csv"
    result = CliRunner().invoke(main, ["compliance", "export", str(out)], env=env)
    assert result.exit_code == 0, result.output
    text_out = out.read_text(encoding="utf-8-sig")
    assert text_out.startswith("subject_type,facility_id") and "SR-2 seats 12 < 15" in text_out
    bad = CliRunner().invoke(main, ["reference", "import", str(path), "--layer", "hotel"], env=env)
    assert bad.exit_code == 2 and "unknown layer 'hotel'" in bad.output and "Traceback" not in bad.output
    bad = CliRunner().invoke(main, ["compliance", "check", "--as-of", "2026-02-30"], env=env)
    assert bad.exit_code == 2 and "--as-of" in bad.output
