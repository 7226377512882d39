"""HTML pages: dashboard, facility lists (search, filters, sort, paging, CSV), detail, radius query.

Run against the shipped sample in PostGIS; facilities added by a test live in
its rolled-back transaction.
"""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from flask.testing import FlaskClient
from pyproj import Geod
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.coords import wgs84_to_bd09, wgs84_to_gcj02
from registry.models import KIND_MODELS, Facility, Kindergarten, StudyRoom
from registry.spatial import update_facility_districts

XSS = "<img src=x onerror=alert(1)>"
GEOD = Geod(ellps="WGS84")
CENTRE = (113.6654, 34.7579)


def add(session: Session, kind: str, name: str, lon: float, lat: float, **attrs: object) -> int:
    """Add one facility (in the test's transaction), located in its district."""
    obj = KIND_MODELS[kind](source="test-pages", external_id=f"{kind}-{name}-{lon:.6f}", name=name,
                            geom=f"SRID=4326;POINT({lon!r} {lat!r})", status=attrs.pop("status", "open"),
                            is_synthetic=True, **attrs)
    session.add(obj)
    session.flush()
    session.execute(update_facility_districts([obj.id]))
    session.flush()
    return obj.id


def rows_of(html: str) -> list[str]:
    """Facility ids of the list table, in order."""
    return re.findall(r'<tr data-id="(\d+)"', html)


# --------------------------------------------------------------------------- dashboard
def test_home_counts_compliance_and_targets(client: FlaskClient, session: Session) -> None:
    html = client.get("/").get_data(as_text=True)
    n = session.scalar(select(func.count()).select_from(Facility).where(Facility.kind == "kindergarten"))
    assert f'data-kind="kindergarten">{n:,}<' in html
    assert 'id="compliance-glance"' in html and 'id="targets"' in html
    for rule in ("MUS-1", "MUS-4", "SR-15"):
        assert f'data-rule="{rule}"' in html
    for href in ("/map", "/facilities", "/radius", "/coverage", "/site-selection", "/compliance", "/rules",
                 "/import"):
        assert f'href="{href}"' in html
    assert 'class="skip-link" href="#main"' in html and '<main id="main"' in html
    for label in re.findall(r'<li class="target[^"]*" data-rule="([^"]+)">.*?class="target-label">([^<]*)<', html,
                            re.DOTALL):
        assert not label[1].strip().startswith(label[0]), label  # the rule ID is shown once, not twice


def test_home_compliance_glance_counts_missing_status_as_unknown(client: FlaskClient, session: Session) -> None:
    total = session.scalar(select(func.count()).select_from(Facility).where(Facility.kind == "museum"))
    session.execute(Facility.__table__.update().values(compliance_status=None).where(Facility.kind == "museum"))
    mid = session.scalar(select(Facility.id).where(Facility.kind == "museum").limit(1))
    session.execute(Facility.__table__.update().values(compliance_status="non_compliant").where(Facility.id == mid))
    html = client.get("/").get_data(as_text=True)
    row = re.search(r'<tr data-kind="museum">(.*?)</tr>', html, re.DOTALL).group(1)
    counts = re.findall(r">([\d,]+)</a>", row)
    assert counts == ["0", "1", f"{total - 1:,}"]


def test_language_toggle_keeps_the_filters(client: FlaskClient) -> None:
    html = client.get("/facilities?kind=museum&q=%E5%8D%9A").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "设施列表" in html
    toggle = re.search(r'href="([^"]+)" lang="en"', html).group(1)
    assert "kind=museum" in toggle and "lang=en" in toggle and "q=" in toggle
    english = client.get(toggle.replace("&amp;", "&")).get_data(as_text=True)
    assert '<html lang="en">' in english and "Search name, address or number" in english


# --------------------------------------------------------------------------- lists
def test_list_of_a_kind_pages_through_every_facility(client: FlaskClient, session: Session) -> None:
    n = session.scalar(select(func.count()).select_from(Facility).where(Facility.kind == "kindergarten"))
    seen: list[str] = []
    page = 1
    while True:
        html = client.get(f"/facilities?kind=kindergarten&per_page=25&page={page}&sort=id").get_data(as_text=True)
        ids = rows_of(html)
        if not ids:
            break
        seen += ids
        page += 1
    assert len(seen) == n == len(set(seen))
    assert [int(i) for i in seen] == sorted(int(i) for i in seen)


def test_kinds_route_redirects_to_the_list(client: FlaskClient) -> None:
    resp = client.get("/kinds/study_room")
    assert resp.status_code == 302 and resp.location.endswith("/facilities?kind=study_room")
    assert client.get("/kinds/城市书房").status_code == 302
    assert client.get("/kinds/library").status_code == 404
    resp = client.get("/facilities/kindergarten")  # the kind word in the facility URL space too
    assert resp.status_code == 302 and resp.location.endswith("/facilities?kind=kindergarten")
    assert client.get("/facilities/library").status_code == 404
    assert client.get("/facilities/99999999").status_code == 404  # numbers stay facility pages (no redirect)


def test_search_finds_chinese_names_and_nothing_else(client: FlaskClient, session: Session) -> None:
    fid = add(session, "study_room", "测试书房·二七万达店", *CENTRE)
    other = add(session, "study_room", "别的书房", CENTRE[0] + 0.01, CENTRE[1])
    html = client.get("/facilities?kind=study_room&q=二七万达").get_data(as_text=True)
    assert rows_of(html) == [str(fid)]
    assert str(other) not in rows_of(html)
    # the search is literal: % and _ are not wildcards
    assert rows_of(client.get("/facilities?kind=study_room&q=%25").get_data(as_text=True)) == []


def test_filters_district_status_compliance_and_attributes(client: FlaskClient, session: Session) -> None:
    inside = add(session, "kindergarten", "筛选测试幼儿园甲", *CENTRE, operator_type="public", places=300)
    add(session, "kindergarten", "筛选测试幼儿园乙", *CENTRE, operator_type="for_profit", places=300)
    add(session, "kindergarten", "筛选测试幼儿园丙", *CENTRE, operator_type="public", places=50)
    session.execute(Facility.__table__.update().values(compliance_status="non_compliant")
                    .where(Facility.id == inside))
    district = session.scalar(select(Facility.district_code).where(Facility.id == inside))
    url = (f"/facilities?kind=kindergarten&q=筛选测试&district={district}&status=open&compliance=non_compliant"
           "&a.operator_type=public&a.places.min=100")
    assert rows_of(client.get(url).get_data(as_text=True)) == [str(inside)]
    # every public kindergarten listed really is public
    html = client.get("/facilities?kind=kindergarten&a.operator_type=public&per_page=200").get_data(as_text=True)
    ids = [int(i) for i in rows_of(html)]
    types = set(session.scalars(select(Kindergarten.operator_type).where(Kindergarten.id.in_(ids))))
    assert ids and types == {"public"}


def test_unknown_attribute_filter_lists_only_missing_values(client: FlaskClient, session: Session) -> None:
    html = client.get("/facilities?kind=study_room&a.seats=unknown&per_page=200").get_data(as_text=True)
    ids = [int(i) for i in rows_of(html)]
    expected = session.scalars(select(StudyRoom.id).where(StudyRoom.seats.is_(None))).all()
    assert sorted(ids) == sorted(expected)


def test_sort_by_attribute_descending(client: FlaskClient, session: Session) -> None:
    html = client.get("/facilities?kind=study_room&sort=-seats&per_page=200").get_data(as_text=True)
    ids = [int(i) for i in rows_of(html)]
    seats = dict(session.execute(select(StudyRoom.id, StudyRoom.seats)).all())
    known = [seats[i] for i in ids if seats[i] is not None]
    assert known == sorted(known, reverse=True)
    assert all(seats[i] is None for i in ids[len(known):])  # unknown last


@pytest.mark.parametrize(("query", "parameter"), [
    ("kind=library", "kind"),
    ("kind=museum&sort=secret", "sort"),
    ("kind=museum&page=0", "page"),
    ("kind=museum&per_page=5000", "per_page"),
    ("kind=museum&a.annual_visitors.min=lots", "a.annual_visitors.min"),
    ("kind=museum&a.seats=1", "a.seats"),
    ("a.seats.min=1", "a.seats.min"),
    ("kind=museum&district=火星区", "district"),
    ("kind=museum&compliance=maybe", "compliance"),
    ("kind=study_room&rule=XX-99", "rule"),
    ("kind=study_room&rule=SR-2&verdict=bad", "verdict"),
    ("kind=study_room&verdict=fail", "verdict"),
])
def test_bad_list_arguments_give_a_400_page_naming_them(client: FlaskClient, query: str, parameter: str) -> None:
    resp = client.get(f"/facilities?{query}")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert f'data-parameter="{parameter}"' in html and 'role="alert"' in html
    assert "Traceback" not in html


def test_csv_export_has_every_filtered_row_and_neutralises_formulas(client: FlaskClient, session: Session) -> None:
    evil = add(session, "museum", "=HYPERLINK(\"http://x\",\"点我\")", *CENTRE)
    add(session, "museum", "+导出测试博物馆", CENTRE[0] + 0.001, CENTRE[1])
    resp = client.get("/facilities.csv?kind=museum&q=HYPERLINK")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert [int(r["id"]) for r in rows] == [evil]
    assert rows[0]["name"].startswith("'=HYPERLINK")
    n = session.scalar(select(func.count()).select_from(Facility).where(Facility.kind == "elevator"))
    all_rows = client.get("/facilities.csv?kind=elevator&per_page=10&page=3").get_data(as_text=True)
    assert len(all_rows.strip().splitlines()) == n + 1  # every page, not the one on screen


def _stored_ids(session: Session, rule: str, verdicts: tuple[str, ...]) -> list[int]:
    from sqlalchemy import text

    sql = text("SELECT DISTINCT facility_id FROM compliance_finding WHERE rule_id = :r "
               "AND verdict = ANY(:v) AND subject_type = 'facility' ORDER BY 1")
    return [int(i) for i in session.scalars(sql, {"r": rule, "v": list(verdicts)})]


@pytest.mark.parametrize(("query", "verdicts"), [
    ("compliance=non_compliant", ("fail",)),   # the compliance pages' drill-down links
    ("compliance=unknown", ("unknown",)),
    ("compliance=compliant", ("pass",)),
    ("verdict=fail", ("fail",)),
    ("", ("pass", "fail", "unknown", "not_applicable", "flag")),
])
def test_rule_drill_down_lists_the_stored_verdicts_of_that_rule(client: FlaskClient, session: Session, query: str,
                                                                verdicts: tuple[str, ...]) -> None:
    expected = _stored_ids(session, "SR-2", verdicts)
    assert expected or query == "compliance=compliant"
    resp = client.get(f"/facilities?kind=study_room&rule=SR-2&{query}&per_page=200&sort=id")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert [int(i) for i in rows_of(html)] == expected
    assert 'id="rule-filter"' in html and "SR-2" in html and 'name="rule" value="SR-2"' in html
    csv_resp = client.get(f"/facilities.csv?kind=study_room&rule=SR-2&{query}&sort=id")
    rows = list(csv.DictReader(io.StringIO(csv_resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert [int(r["id"]) for r in rows] == expected


def test_rule_drill_down_with_no_stored_finding_lists_nothing(client: FlaskClient, session: Session) -> None:
    assert not _stored_ids(session, "SR-2", ("flag",))
    resp = client.get("/facilities?kind=study_room&rule=SR-2&verdict=flag")
    assert resp.status_code == 200 and rows_of(resp.get_data(as_text=True)) == []


# --------------------------------------------------------------------------- detail
def test_detail_shows_attributes_findings_map_and_history_link(client: FlaskClient, session: Session) -> None:
    fid = add(session, "study_room", "细节测试书房", *CENTRE, seats=12, volumes=5000, floor_area_m2=120.0)
    html = client.get(f"/facilities/{fid}").get_data(as_text=True)
    assert "细节测试书房" in html
    for label in ("座位数", "藏书量", "建筑面积", "产权形式"):  # every attribute of the kind, unknown ones too
        assert label in html
    assert 'data-rule="SR-2"' in html and "SR-2 " in html  # SR-2 fails: 12 seats < 15
    sr2 = re.search(r'data-rule="SR-2">(.*?)</tr>', html, re.DOTALL).group(1)
    assert "verdict-fail" in sr2 and "郑政文" in sr2  # the citation is shown
    assert f'src="/map/facility/{fid}/frame"' in html
    assert "/radius?lon=" in html


def test_detail_of_unknown_or_deleted_facility_is_404(client: FlaskClient, session: Session) -> None:
    assert client.get("/facilities/999999999").status_code == 404
    fid = add(session, "museum", "已删除博物馆", *CENTRE)
    session.execute(Facility.__table__.update().values(deleted_at=func.now()).where(Facility.id == fid))
    resp = client.get(f"/facilities/{fid}")
    assert resp.status_code == 404 and "Traceback" not in resp.get_data(as_text=True)


def test_edit_form_only_for_clerks_and_posts_to_the_edit_endpoint(login_as, session: Session) -> None:  # type: ignore[no-untyped-def]
    fid = add(session, "museum", "编辑测试博物馆", *CENTRE)
    viewer = login_as("viewer").get(f"/facilities/{fid}").get_data(as_text=True)
    assert 'id="facility-form"' not in viewer
    assert f'href="/facilities/{fid}/history"' in viewer  # viewers may read the history
    clerk = login_as("clerk")
    html = clerk.get(f"/facilities/{fid}").get_data(as_text=True)
    assert f'action="/facilities/{fid}/edit"' in html and 'name="csrf_token"' in html
    form = {m.group(1): m.group(2) for m in re.finditer(r'<input id="e-[^"]+" name="([^"]+)" value="([^"]*)"', html)}
    form["name"] = "编辑测试博物馆（改）"
    resp = clerk.post(f"/facilities/{fid}/edit", data=form)
    assert resp.status_code == 302
    assert "编辑测试博物馆（改）" in clerk.get(f"/facilities/{fid}").get_data(as_text=True)


def test_anonymous_page_has_no_edit_form_or_history(client: FlaskClient, session: Session) -> None:
    fid = add(session, "museum", "匿名访问博物馆", *CENTRE)
    html = client.get(f"/facilities/{fid}").get_data(as_text=True)
    assert 'id="facility-form"' not in html and "/history" not in html


# --------------------------------------------------------------------------- XSS
def test_xss_name_is_text_on_list_and_detail(client: FlaskClient, session: Session) -> None:
    fid = add(session, "museum", XSS, *CENTRE, status="open")
    for url in (f"/facilities?kind=museum&q={XSS}", f"/facilities/{fid}", "/radius?lon=113.6654&lat=34.7579&radius=50"):
        html = client.get(url).get_data(as_text=True)
        assert XSS not in html, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, url


# --------------------------------------------------------------------------- radius
def test_radius_lists_exactly_what_lies_within_sorted_by_distance(client: FlaskClient, session: Session) -> None:
    ids = []
    for i, dist in enumerate((50.0, 290.0, 310.0, 700.0)):
        lon, lat, _ = GEOD.fwd(CENTRE[0], CENTRE[1], 40 * i, dist)
        ids.append(add(session, "kindergarten", f"半径测试{i}", lon, lat))
    html = client.get(f"/radius?lon={CENTRE[0]}&lat={CENTRE[1]}&radius=300&kinds=kindergarten").get_data(as_text=True)
    listed = rows_of(html)
    assert listed[:2] == [str(ids[0]), str(ids[1])] and str(ids[2]) not in listed and str(ids[3]) not in listed
    distances = [float(d.replace(",", "")) for d in re.findall(r'<td class="num">([\d,]+)</td>', html)]
    assert distances == sorted(distances) and all(d <= 300 for d in distances)
    assert 'id="radius-map"' in html and "lon=113.6654000" in html


@pytest.mark.parametrize(("crs", "convert"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_radius_accepts_gcj02_and_bd09_points(client: FlaskClient, session: Session, crs, convert) -> None:  # type: ignore[no-untyped-def]
    fid = add(session, "museum", "坐标系测试博物馆", *CENTRE)
    lon, lat = convert(*CENTRE)
    html = client.get(f"/radius?lon={lon}&lat={lat}&crs={crs}&radius=5&kinds=museum").get_data(as_text=True)
    assert rows_of(html) == [str(fid)]  # the point was converted to WGS-84 before the query
    raw = client.get(f"/radius?lon={lon}&lat={lat}&radius=5&kinds=museum").get_data(as_text=True)
    assert rows_of(raw) == []  # taken as WGS-84 the same numbers are 300-700 m off


@pytest.mark.parametrize(("query", "parameter"), [
    ("lon=113.6&lat=34.7&radius=-5", "radius"),
    ("lon=113.6&lat=34.7&radius=abc", "radius"),
    ("lon=113.6&lat=34.7&radius=999999", "radius"),
    ("lon=113.6", "lat"),
    ("lon=east&lat=34.7", "lon"),
    ("lon=113.6&lat=99", "lat"),
    ("lon=113.6&lat=34.7&crs=utm", "crs"),
    ("lon=113.6&lat=34.7&kinds=library", "kinds"),
])
def test_bad_radius_input_names_the_field(client: FlaskClient, query: str, parameter: str) -> None:
    resp = client.get(f"/radius?{query}")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert f'data-parameter="{parameter}"' in html and "Traceback" not in html


def test_radius_csv_export(client: FlaskClient, session: Session) -> None:
    add(session, "museum", "=1+1", *CENTRE)
    resp = client.get(f"/radius.csv?lon={CENTRE[0]}&lat={CENTRE[1]}&radius=20&kinds=museum")
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert resp.status_code == 200 and [r["name"] for r in rows] == ["'=1+1"]
    assert float(rows[0]["distance_m"]) < 1
    assert client.get("/radius.csv").status_code == 400


def test_detail_shows_the_stored_findings_of_the_compliance_run(client: FlaskClient, session: Session) -> None:
    from sqlalchemy import text

    fid, message = session.execute(text(
        "SELECT facility_id, message_zh FROM compliance_finding WHERE rule_id = 'SR-2' AND verdict = 'fail' "
        "ORDER BY facility_id LIMIT 1")).one()
    html = client.get(f"/facilities/{fid}").get_data(as_text=True)
    row = re.search(r'<tr class="verdict-row-fail" data-rule="SR-2">.*?</tr>', html, re.DOTALL)
    assert row, "the stored SR-2 failure is not on the page"
    assert message in unescape(row.group(0)) and "郑政文〔2019〕92号" in unescape(row.group(0))
    assert "最近一次合规检查的结果" in html
