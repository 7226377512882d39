"""Compliance API: /api/rules, /api/facilities/<id>/compliance, /api/compliance/summary, findings.csv."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from registry.compliance import RULES


def _count(connection: Connection, sql: str, **params: object) -> int:
    return int(connection.execute(text(sql), params).scalar_one())


def test_api_rules_lists_every_rule_with_counts(client: FlaskClient, connection: Connection) -> None:
    r = client.get("/api/rules")
    assert r.status_code == 200
    data = r.get_json()
    assert data["stored"] is True and data["as_of"]
    rules = {rule["id"]: rule for rule in data["rules"]}
    assert list(rules) == list(RULES)
    sr2 = rules["SR-2"]
    assert sr2["citation"] == "郑政文〔2019〕92号 四(二)" and sr2["requirement_zh"] and sr2["requirement_en"]
    assert sr2["counts"]["fail"] == _count(connection, "SELECT count(*) FROM compliance_finding "
                                                       "WHERE rule_id = 'SR-2' AND verdict = 'fail'")
    assert rules["EL-3"]["fines"][0]["min_yuan"] == 10_000 and rules["EL-3"]["fines"][0]["max_yuan"] == 50_000
    assert rules["EL-10"]["advisory"] is True and rules["MUS-1"]["subject"] == "district"


def test_facility_compliance_names_value_threshold_and_citation(client: FlaskClient, connection: Connection) -> None:
    fid = _count(connection, "SELECT min(facility_id) FROM compliance_finding WHERE rule_id = 'SR-2' AND verdict = 'fail'")
    data = client.get(f"/api/facilities/{fid}/compliance").get_json()
    assert data["facility_id"] == fid and data["kind"] == "study_room" and data["status"] == "non_compliant"
    sr2 = next(f for f in data["findings"] if f["rule_id"] == "SR-2")
    assert sr2["verdict"] == "fail" and " < 15" in sr2["message_zh"] and sr2["citation"].startswith("郑政文〔2019〕92号")
    assert sum(data["counts"].values()) == len(data["findings"])


def test_facility_compliance_as_of_another_date_is_live(client: FlaskClient, connection: Connection) -> None:
    fid = _count(connection, "SELECT min(id) FROM facility WHERE kind = 'elevator'")
    data = client.get(f"/api/facilities/{fid}/compliance?as_of=2019-01-01").get_json()
    assert data["stored"] is False and data["as_of"] == "2019-01-01"
    stored = client.get(f"/api/facilities/{fid}/compliance").get_json()
    assert stored["stored"] is True


@pytest.mark.parametrize("url,parameter", [
    ("/api/rules?as_of=2024-02-30", "as_of"),
    ("/api/rules?as_of=yesterday", "as_of"),
    ("/api/compliance/summary?as_of=1800-01-01", "as_of"),
    ("/api/compliance/summary?kind=library", "kind"),
    ("/api/compliance/summary?district=atlantis", "district"),
    ("/api/compliance/findings.csv?kind=x", "kind"),
    ("/api/facilities/1/compliance?as_of=2020/01/01", "as_of"),
])
def test_bad_arguments_are_400_naming_the_parameter(client: FlaskClient, url: str, parameter: str) -> None:
    r = client.get(url)
    assert r.status_code == 400 and r.is_json
    assert r.get_json()["parameter"] == parameter and parameter in r.get_json()["error"]


def test_unknown_facility_is_404_json(client: FlaskClient) -> None:
    r = client.get("/api/facilities/987654321/compliance")
    assert r.status_code == 404 and r.get_json()["parameter"] == "id"


def test_summary_counts_per_rule_and_district(client: FlaskClient, connection: Connection) -> None:
    data = client.get("/api/compliance/summary?kind=elevator&district=金水区").get_json()
    assert data["filters"] == {"kind": "elevator", "district": "410105"}
    n = _count(connection, "SELECT count(*) FROM facility WHERE kind = 'elevator' AND district_code = '410105' "
                           "AND deleted_at IS NULL")
    assert data["facilities"]["total"] == n
    assert [d["district_code"] for d in data["districts"]] == ["410105"]
    el2 = next(r for r in data["rules"] if r["rule_id"] == "EL-2")
    assert el2["counts"]["fail"] == _count(connection, "SELECT count(*) FROM compliance_finding WHERE rule_id = 'EL-2' "
                                                       "AND verdict = 'fail' AND district_code = '410105'")
    assert {r["kind"] for r in data["rules"]} == {"elevator"}
    everything = client.get("/api/compliance/summary").get_json()
    assert everything["facilities"]["total"] == _count(connection, "SELECT count(*) FROM facility WHERE deleted_at IS NULL")
    assert any(r["rule_id"] == "MUS-1" for r in everything["rules"])


def test_findings_csv_has_every_finding(client: FlaskClient, connection: Connection) -> None:
    r = client.get("/api/compliance/findings.csv?district=410106")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    body = r.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == _count(connection, "SELECT count(*) FROM compliance_finding WHERE district_code = '410106'")
    assert {"facility", "district"} <= {row["subject_type"] for row in rows}
    assert all(row["citation"] for row in rows) and all(row["rule_id"] in RULES for row in rows)


def test_streamed_findings_csv_returns_its_connection(pg_url: str, sample_loaded: None) -> None:
    """The CSV is streamed after the request's teardown closed the session; the stream must not keep
    a connection checked out ("idle in transaction" until garbage collection exhausted the pool)."""
    from sqlalchemy import create_engine

    from registry import create_app

    engine = create_engine(pg_url, pool_size=2, max_overflow=0)
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": pg_url, "DB_BIND": engine, "SECRET_KEY": "t",
                          "REGISTRY_ANONYMOUS_READ": "1"})
        client = app.test_client()
        for _ in range(3):  # more than the pool holds: a leak would block the third request
            with client.get("/api/compliance/findings.csv?kind=museum") as resp:
                assert resp.status_code == 200 and resp.get_data(as_text=True).startswith("\ufeff")
            assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()
