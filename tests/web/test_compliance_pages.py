"""Compliance pages: rule catalogue, dashboard with drill-down links, printable 整改清单, on-demand check."""

from __future__ import annotations

import re
from html import unescape

from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from registry.compliance import RULES


def test_rules_page_lists_every_rule_with_citation_and_counts(client: FlaskClient, connection: Connection) -> None:
    r = client.get("/rules")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for rule in RULES.values():
        assert f'id="{rule.id}"' in html and rule.citation in unescape(html)
    fails = connection.execute(text("SELECT count(*) FROM compliance_finding WHERE rule_id = 'SR-2' AND verdict = 'fail'"))
    row = re.search(r'<tr id="SR-2".*?</tr>', html, re.DOTALL)
    assert row and f">{fails.scalar_one()}</a>" in row.group(0)
    assert "/facilities?kind=study_room&amp;compliance=non_compliant&amp;rule=SR-2" in row.group(0)
    assert client.get("/rules?lang=en").status_code == 200


def test_dashboard_per_district_and_kind_with_drill_down(client: FlaskClient, connection: Connection) -> None:
    r = client.get("/compliance")
    assert r.status_code == 200
    html = unescape(r.get_data(as_text=True))
    assert "金水区" in html and "登封市" in html
    n = connection.execute(text("SELECT count(*) FROM facility WHERE kind = 'elevator' AND district_code = '410105' "
                                "AND compliance_status = 'non_compliant'")).scalar_one()
    assert f'href="/facilities?kind=elevator&district=410105&compliance=non_compliant">{n}</a>' in html
    assert re.search(r'/facilities\?kind=elevator&district=410105&compliance=non_compliant&rule=EL-\d+"', html)
    assert "/compliance/rectification/410105" in html
    assert 'data-rule="MUS-1"' in html and 'data-rule="MUS-4"' in html  # district rules and city targets


def test_dashboard_as_of_is_evaluated_live_and_bad_dates_are_400(client: FlaskClient) -> None:
    r = client.get("/compliance?as_of=2019-07-01")
    assert r.status_code == 200 and "2019-07-01" in r.get_data(as_text=True)
    bad = client.get("/compliance?as_of=2019-07-32")
    assert bad.status_code == 400 and "as_of" in bad.get_data(as_text=True)
    assert "Traceback" not in bad.get_data(as_text=True)


def test_rectification_list_groups_by_responsible_unit(client: FlaskClient, connection: Connection) -> None:
    r = client.get("/compliance/rectification/上街区")
    assert r.status_code == 200
    html = unescape(r.get_data(as_text=True))
    assert "上街区 整改清单" in html and "@media print" in html
    assert "电梯使用单位：" in html and "停车场经营者" in html
    unit = connection.execute(text(
        "SELECT e.user_unit FROM compliance_finding c JOIN elevator e ON e.id = c.facility_id "
        "WHERE c.verdict = 'fail' AND c.district_code = '410106' AND e.user_unit IS NOT NULL LIMIT 1")).scalar_one()
    assert f"电梯使用单位：{unit}" in html
    n = connection.execute(text("SELECT count(*) FROM compliance_finding WHERE verdict = 'fail' "
                                "AND district_code = '410106' AND subject_type = 'facility'")).scalar_one()
    assert len(re.findall(r'<tr data-facility="\d+" data-rule=', html)) == n
    assert client.get("/compliance/rectification/410106?lang=en").status_code == 200
    assert client.get("/compliance/rectification/nowhere").status_code == 404


def test_check_now_needs_rules_admin(login_as, connection: Connection) -> None:  # type: ignore[no-untyped-def]
    viewer = login_as("viewer")
    assert viewer.post("/compliance/check").status_code == 403
    admin = login_as("admin")
    before = connection.execute(text("SELECT max(id) FROM compliance_run")).scalar_one()
    r = admin.post("/compliance/check", data={"as_of": "2026-01-01"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/compliance")
    run = connection.execute(text("SELECT id, as_of, trigger FROM compliance_run ORDER BY id DESC LIMIT 1")).one()
    assert run[0] > before and str(run[1]) == "2026-01-01" and run[2] == "web"
    assert admin.post("/compliance/check", data={"as_of": "soon"}).status_code == 400
