"""The /import pages and /export downloads, as a signed-in clerk."""

from __future__ import annotations

import io
import re

import pytest

pytestmark = pytest.mark.postgis

CSV = ("编号,名称,经度,纬度,座位数,备注\n"
       "W1,<script>alert(1)</script>书房,113.6654,34.7802,20,x\n"
       "W2,坏书房,abc,34.78,-1,y\n").encode("utf-8")


def upload(client, data: bytes = CSV, mode: str = "reject-file"):  # type: ignore[no-untyped-def]
    return client.post("/import", data={"file": (io.BytesIO(data), "rooms.csv"), "kind": "study_room",
                                        "crs": "wgs84", "mode": mode, "source": "webtest"},
                       content_type="multipart/form-data")


def test_form_lists_header_aliases_and_templates(login_as) -> None:  # type: ignore[no-untyped-def]
    html = login_as("clerk").get("/import").get_data(as_text=True)
    assert 'name="crs"' in html and "座位数" in html and "阅览座席" in html and "/import/template/museum.xlsx" in html


def test_preview_highlights_errors_escapes_and_commits_valid_rows(login_as) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    resp = upload(clerk)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'class="bad"' in html and 'data-row="3"' in html and "备注" in html
    assert 'id="n-rejected">1<' in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    report = clerk.get(f"/import/preview/{token}/report.csv")
    assert report.status_code == 200 and report.data.startswith("\ufeff".encode()) and "坏书房".encode() in report.data
    done = clerk.post("/import/commit", data={"token": token, "mode": "import-valid"})
    assert done.status_code == 302
    batch_page = clerk.get(done.headers["Location"]).get_data(as_text=True)
    assert "rooms.csv" in batch_page and "committed" in batch_page
    batch_id = int(done.headers["Location"].rstrip("/").split("/")[-1].split("?")[0])
    assert clerk.get(f"/import/batches/{batch_id}/report.csv").status_code == 200
    assert "rooms.csv" in clerk.get("/import/batches").get_data(as_text=True)
    export = clerk.get(f"/export?format=csv&batch={batch_id}")
    assert export.data.startswith("\ufeff".encode()) and "书房".encode() in export.data
    assert "'<script>".encode() not in export.data  # only = + - @ are neutralised
    back = clerk.post(f"/import/batches/{batch_id}/rollback")
    assert back.status_code == 302
    assert "rolled_back" in clerk.get(f"/import/batches/{batch_id}").get_data(as_text=True)


def test_unusable_file_is_a_clear_422(login_as) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    resp = upload(clerk, b"")
    assert resp.status_code == 422 and "0 字节" in resp.get_data(as_text=True)


def test_bad_parameters_are_400(login_as, client) -> None:  # type: ignore[no-untyped-def]
    clerk = login_as("clerk")
    resp = clerk.post("/import", data={"file": (io.BytesIO(CSV), "a.csv"), "kind": "study_room", "crs": ""},
                      content_type="multipart/form-data")
    assert resp.status_code == 400
    assert client.get("/export?format=shp").status_code == 400
    assert client.get("/export?district=abc").status_code == 400


def test_export_formats_and_formula_injection(client) -> None:  # type: ignore[no-untyped-def]
    geo = client.get("/export?format=geojson&kind=museum")
    assert geo.status_code == 200 and b'"FeatureCollection"' in geo.data
    gpkg = client.get("/export?format=gpkg&kind=museum")
    assert gpkg.status_code == 200 and gpkg.data[:16].startswith(b"SQLite format 3")
    tpl = client.get("/import/template/study_room.csv")
    assert tpl.data.startswith("\ufeff编号,名称".encode())
