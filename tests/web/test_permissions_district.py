"""A clerk limited to one district: every facility/import write endpoint refuses data of other districts.

The write endpoints needing ``facility.write`` or ``facility.import`` are enumerated from
``app.url_map``; each must have a real request below (a new one fails the first test).  A clerk
limited to 二七区 (410103) is refused (403, or 422 for an uploaded file) on a 金水区 (410105)
facility, deleted facility, change and import batch and nothing changes; the same requests by a
clerk limited to 金水区 go through.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from registry import editing
from registry.audit import Actor
from registry.auth.permissions import endpoint_permission, write_endpoints
from registry.importer import ImportOptions, run_import

pytestmark = pytest.mark.postgis

OWN, OTHER = "410105", "410103"
ROOM_CSV = "编号,名称,经度,纬度,状态,座位数\nD1,区县限制书房,113.6654,34.7802,开放,20\n".encode()
SETUP = Actor(name="setup", via="system")


@pytest.fixture()
def world(session: Session, tmp_path, login_as) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    fac = editing.create_facility(session, SETUP, "museum", {"name": "区县限制博物馆", "lon": 113.665, "lat": 34.79})
    change = editing.update_facility(session, SETUP, fac, {"address": "花园路 1 号"})
    gone = editing.create_facility(session, SETUP, "museum", {"name": "已删除博物馆", "lon": 113.666, "lat": 34.791})
    editing.delete_facility(session, SETUP, gone)
    path = tmp_path / "rooms.csv"
    path.write_bytes(ROOM_CSV.replace(b"D1", b"D0"))
    batch = run_import(session.connection(), path, ImportOptions(crs="wgs84", kind="study_room", source="district"))
    assert batch.committed and fac.district_code == OWN and gone.district_code == OWN
    session.flush()
    assert change is not None
    return {"fac": fac.id, "gone": gone.id, "event": change.id, "batch": batch.batch_id,
            "uploader": lambda: login_as("clerk", district_code=OWN)}


Request = Callable[[FlaskClient, dict[str, Any]], Any]


def _upload(client: FlaskClient, w: dict[str, Any]) -> Any:
    return client.post("/import", data={"file": (io.BytesIO(ROOM_CSV), "rooms.csv"), "kind": "study_room",
                                        "crs": "wgs84", "source": "district-web"}, content_type="multipart/form-data")


def _commit(client: FlaskClient, w: dict[str, Any]) -> Any:
    """Commit a file previewed by a clerk of its district (a preview refused to ``client`` offers no commit)."""
    preview = _upload(w["uploader"](), w).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', preview)
    assert token, preview[:500]
    return client.post("/import/commit", data={"token": token.group(1)})


MUSEUM = {"kind": "museum", "name": "新建区县博物馆", "lon": 113.667, "lat": 34.792}
REQUESTS: dict[str, Request] = {
    "facility_edit.api_create": lambda c, w: c.post("/api/facilities", json=MUSEUM),
    "facility_edit.new": lambda c, w: c.post("/facilities/new?kind=museum",
                                             data={"name": MUSEUM["name"], "lon": "113.667", "lat": "34.792"}),
    "facility_edit.api_update": lambda c, w: c.patch(f"/api/facilities/{w['fac']}", json={"name": "改名"}),
    "facility_edit.edit": lambda c, w: c.post(f"/facilities/{w['fac']}/edit", data={"name": "改名"}),
    "facility_edit.api_delete": lambda c, w: c.delete(f"/api/facilities/{w['fac']}"),
    "facility_edit.delete": lambda c, w: c.post(f"/facilities/{w['fac']}/delete"),
    "facility_edit.api_restore": lambda c, w: c.post(f"/api/facilities/{w['gone']}/restore"),
    "facility_edit.restore": lambda c, w: c.post(f"/facilities/{w['gone']}/restore"),
    "facility_edit.api_revert": lambda c, w: c.post(f"/api/facilities/{w['fac']}/history/{w['event']}/revert"),
    "facility_edit.revert": lambda c, w: c.post(f"/facilities/{w['fac']}/history/{w['event']}/revert"),
    "imports.batch_rollback": lambda c, w: c.post(f"/import/batches/{w['batch']}/rollback"),
    "imports.upload": _upload,
    "imports.commit": _commit,
}


def _data_endpoints() -> set[str]:
    from registry import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "postgresql+psycopg://n@127.0.0.1:1/n"})
    return {e for e, m, _ in write_endpoints(app)
            if endpoint_permission(e, m, app.view_functions[e]) in ("facility.write", "facility.import")}


DATA_ENDPOINTS = sorted(_data_endpoints())


def test_every_facility_write_endpoint_has_a_district_case() -> None:
    assert set(REQUESTS) == set(DATA_ENDPOINTS)


def _state(session: Session, w: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(session.execute(text(
        "SELECT (SELECT count(*) FROM facility), (SELECT count(*) FROM facility WHERE deleted_at IS NULL),"
        " (SELECT count(*) FROM audit_event), (SELECT name FROM facility WHERE id = :f),"
        " (SELECT status FROM import_batch WHERE id = :b)"), {"f": w["fac"], "b": w["batch"]}).one())


@pytest.mark.parametrize("endpoint", DATA_ENDPOINTS)
def test_clerk_of_another_district_is_refused_the_district_clerk_is_not(  # type: ignore[no-untyped-def]
        app: Flask, login_as, session: Session, world: dict[str, Any], endpoint: str) -> None:
    before = _state(session, world)
    resp = REQUESTS[endpoint](login_as("clerk", district_code=OTHER), world)
    body = resp.get_data(as_text=True)
    if endpoint in ("imports.upload", "imports.commit"):
        assert resp.status_code == 422 and OTHER in body and "本区县" in body, body[:300]
    else:
        assert resp.status_code == 403, (resp.status_code, body[:300])
    assert _state(session, world) == before

    resp = REQUESTS[endpoint](login_as("clerk", district_code=OWN), world)
    assert resp.status_code < 400, (resp.status_code, resp.get_data(as_text=True)[:300])
    if endpoint != "imports.upload":  # a preview writes nothing
        assert _state(session, world) != before
