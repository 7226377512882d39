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


def test_uploads_are_removed_after_commit_unusable_files_and_stale_previews(app, login_as, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import time

    app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path)
    app.config["IMPORT_UPLOAD_MAX_AGE"] = 3600
    stale = tmp_path / ("s" * 24)
    stale.mkdir()
    (stale / "upload.bin").write_bytes(b"x")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh_other = tmp_path / ("f" * 24)
    fresh_other.mkdir()
    clerk = login_as("clerk")
    assert upload(clerk, b"").status_code == 422
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh_other.name]  # stale swept, unusable not kept
    html = upload(clerk).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert (tmp_path / token / "upload.bin").exists()
    done = clerk.post("/import/commit", data={"token": token, "mode": "import-valid"})
    assert done.status_code == 302
    assert not (tmp_path / token).exists()
    assert clerk.post("/import/commit", data={"token": token}).status_code == 404


def test_batch_page_shows_review_flags_and_a_suspect_crs(app, login_as, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Near-duplicates and outside-city points are listed with links; a suspected wrong CRS is shown on top."""
    from registry.coords import wgs84_to_bd09

    app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path)
    rows = ["编号,名称,所属区县,经度,纬度",
            "R1,金水区城市书房(花园路店),金水区,113.66540,34.78020",
            "R2,金水区城市书房花园路店,金水区,113.66555,34.78030",
            "R3,北京的书房,金水区,116.40,39.90"]
    clerk = login_as("clerk")
    html = upload(clerk, ("\n".join(rows) + "\n").encode("utf-8"), mode="import-valid").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    done = clerk.post("/import/commit", data={"token": token, "mode": "import-valid"})
    page = clerk.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="review"' in page and "疑似重复" in page and "坐标不在郑州市范围内" in page
    assert re.search(r'<a href="/facilities/\d+">#\d+</a>', page)
    # BD-09 points declared as WGS-84 (as in test_import_pipeline.test_suspect_crs_is_suggested): the batch
    # page says the declared coordinate system may be wrong
    import json

    import numpy as np
    import shapely
    from shapely.geometry import shape

    from registry.config import DATA_DIR

    polys = {f["properties"]["name"]: shape(f["geometry"]) for f in
             json.loads((DATA_DIR / "zhengzhou_districts_wgs84.geojson").read_text(encoding="utf-8"))["features"]
             if f["properties"]["level"] == "county"}
    rng = np.random.default_rng(3)
    x, y = rng.uniform(113.55, 113.80, 4000), rng.uniform(34.70, 34.85, 4000)
    bx, by = wgs84_to_bd09(x, y)
    body = ["编号,名称,所属区县,经度,纬度"]
    for name, poly in polys.items():
        inside, moved = shapely.contains_xy(poly, x, y), shapely.contains_xy(poly, bx, by)
        for k in [*np.flatnonzero(inside & ~moved)[:6], *np.flatnonzero(inside & moved)[:6]]:
            body.append(f"C{k},点{k},{name},{float(bx[k])!r},{float(by[k])!r}")
    html = upload(clerk, ("\n".join(body) + "\n").encode("utf-8"), mode="import-valid").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    done = clerk.post("/import/commit", data={"token": token, "mode": "import-valid"})
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    page = clerk.get(done.headers["Location"]).get_data(as_text=True)
    assert "BD-09" in page and 'id="review-crs_suspect"' in page, re.findall(r"<li class=.sev-warning.>[^<]*<", page)[:5]
