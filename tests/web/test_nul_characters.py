"""A NUL character (U+0000) in any parameter is a 400 naming it, never a 500 from PostgreSQL.

PostgreSQL text cannot hold U+0000; before the input guard, ``/facilities?q=%00``,
``/api/compliance/summary?district=%00`` or ``/api/coverage?layer=%00`` reached a query and
answered 500.
"""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

PAGES = [
    "/facilities?q=%00",
    "/facilities.csv?q=a%00b",
    "/export?status=%00",
    "/radius?kinds=%00",
    "/coverage?kind=museum&layer=%00",
    "/compliance?district=%00",
    "/facilities?kind=museum&a.seats%00=1",
    "/compliance/rectification/%00",
    "/kinds/museum%00",
]
API = [
    ("/api/facilities?district=%00", "district"),
    ("/api/compliance/summary?district=%00", "district"),
    ("/api/coverage?kind=museum&layer=%00", "layer"),
    ("/ogc/collections/museum/items?name=%00", "name"),
    ("/api/facilities?kind=museum&x%00y=1", "x\\x00y"),
    ("/ogc/collections/museum%00/items", "cid"),
]


@pytest.mark.parametrize("url", PAGES)
def test_pages_answer_400_in_html(client: FlaskClient, url: str) -> None:
    resp = client.get(url)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert "空字符" in text and "Traceback" not in text


@pytest.mark.parametrize(("url", "parameter"), API)
def test_api_answers_400_naming_the_parameter(client: FlaskClient, url: str, parameter: str) -> None:
    resp = client.get(url)
    body = resp.get_json()
    assert resp.status_code == 400 and body["parameter"] == parameter
    assert "NUL" in body["error"]


def test_json_body_with_nul_is_refused(client: FlaskClient) -> None:
    polygon = {"type": "Polygon", "coordinates": [[[113.6, 34.7], [113.7, 34.7], [113.7, 34.8], [113.6, 34.7]]]}
    feature = {"type": "Feature", "geometry": polygon, "properties": {"name": "地块"}}
    assert client.post("/api/facilities/search", json=feature).status_code == 200
    feature["properties"] = {"name": "地块\u0000"}
    bad = client.post("/api/facilities/search", json=feature)
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "body"
    feature["properties"] = {"x\u0000": 1}
    assert client.post("/api/facilities/search", json=feature).status_code == 400


def test_form_with_nul_is_refused_before_login_runs(client: FlaskClient) -> None:
    resp = client.post("/login", data={"username": "zhou\u0000", "password": "x"})
    assert resp.status_code == 400 and "username" in resp.get_data(as_text=True)


def test_ordinary_requests_pass(client: FlaskClient) -> None:
    assert client.get("/facilities?q=%E5%8D%9A%E7%89%A9").status_code == 200  # 博物
    assert client.get("/api/facilities?kind=museum&limit=1").status_code == 200


UPLOAD = "名称,经度,纬度,座位数\n测试书房,113.6654,34.7802,20\n".encode()


@pytest.mark.parametrize(("field", "value"), [("source", "web\x00test"), ("kind", "study_room\x00"),
                                              ("crs", "wgs84\x00"), ("mode", "x\x00")])
def test_upload_form_fields_with_nul_are_400(login_as, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    data = {"kind": "study_room", "crs": "wgs84", "mode": "reject-file", "source": "webtest", field: value}
    resp = login_as("clerk").post("/import", data={"file": (io.BytesIO(UPLOAD), "rooms.csv"), **data},
                                  content_type="multipart/form-data")
    assert resp.status_code == 400 and field in resp.get_data(as_text=True)


def test_upload_file_name_with_nul_is_400(login_as) -> None:  # type: ignore[no-untyped-def]
    resp = login_as("clerk").post("/import", data={"file": (io.BytesIO(UPLOAD), "ro\x00oms.csv"),
                                                   "kind": "study_room", "crs": "wgs84"},
                                  content_type="multipart/form-data")
    assert resp.status_code == 400


def test_uploads_are_checked_after_the_permission_check(client: FlaskClient) -> None:
    resp = client.post("/import", data={"file": (io.BytesIO(UPLOAD), "a.csv"), "source": "x\x00"},
                       content_type="multipart/form-data")
    assert resp.status_code == 302 and resp.headers["X-Registry-Denied"] == "facility.import"  # sign in first
