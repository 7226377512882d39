"""Coverage API and pages: JSON shapes, 400s naming the parameter, saving, re-opening and exporting runs."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from registry.coverage import runs, service
from registry.coverage.params import coverage_request


def test_api_coverage_kindergarten_defaults(client: FlaskClient) -> None:
    body = client.get("/api/coverage?kind=kindergarten&status=open&hot_spots=5").get_json()
    assert body["radii_m"] == [300.0] and body["layer"]["name"] == "modelled_grid_250m"
    assert body["layer"]["is_modelled"] is True and "modelled" in body["provenance"]["en"]
    assert "GB 50180-2018" in body["standard"]["basis"]["en"]
    assert len(body["units"]) == 15
    assert sum(u["population"] for u in body["units"]) == body["city"]["population"] == 12_600_574
    r = body["city"]["radii"][0]
    assert 0 <= r["covered_share"] <= 1 and r["access_per_1000"] is not None
    assert len(body["hot_spots"]["300"]["features"]) == 5
    assert body["filters"]["status"] == ["open"]


def test_api_coverage_study_room_two_radii_and_museum_target(client: FlaskClient) -> None:
    sr = client.get("/api/coverage?kind=study_room").get_json()
    assert sr["radii_m"] == [500.0, 1000.0]
    assert sr["city"]["radii"][0]["covered_share"] <= sr["city"]["radii"][1]["covered_share"]
    museum = client.get("/api/coverage?kind=museum&layer=census_2020").get_json()
    assert museum["radii_m"] == [] and museum["city"]["target"] == 100_000
    assert museum["city"]["status"] in ("meets", "short") and museum["layer"]["geometry_kind"] == "units"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("", "kind"),
        ("kind=library", "kind"),
        ("kind=kindergarten&radius=-5", "radius"),
        ("kind=kindergarten&radius=abc", "radius"),
        ("kind=kindergarten&layer=nope", "layer"),
        ("kind=kindergarten&status=flying", "status"),
        ("kind=kindergarten&where=colour:red", "where"),
        ("kind=kindergarten&as_of=yesterday", "as_of"),
        ("kind=kindergarten&hot_spots=99999", "hot_spots"),
    ],
)
def test_api_coverage_bad_input_is_a_400_naming_the_parameter(client: FlaskClient, query: str, parameter: str) -> None:
    resp = client.get(f"/api/coverage?{query}")
    assert resp.status_code == 400 and resp.is_json
    assert resp.get_json()["parameter"] == parameter


def test_api_what_if(login_as) -> None:
    c = login_as(None)
    base = c.get("/api/coverage?kind=kindergarten&hot_spots=1").get_json()
    spot = base["hot_spots"]["300"]["features"][0]
    ring = spot["geometry"]["coordinates"][0]
    lon = sum(p[0] for p in ring[:4]) / 4
    lat = sum(p[1] for p in ring[:4]) / 4
    body = c.post("/api/coverage/what-if", json={"kind": "kindergarten",
                                                 "add": [{"lon": lon, "lat": lat, "capacity": 300}]}).get_json()
    assert body["delta"]["city"]["radii"][0]["covered_population"] >= spot["properties"]["population"]
    assert body["after"]["city"]["facilities"] == body["before"]["city"]["facilities"] + 1
    assert body["scenario"]["add"][0]["capacity"] == 300
    bad = c.post("/api/coverage/what-if", json={"kind": "kindergarten", "remove": [987654321]})
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "remove"
    empty = c.post("/api/coverage/what-if", json={"kind": "kindergarten"})
    assert empty.status_code == 400 and empty.get_json()["parameter"] == "add"
    not_json = c.post("/api/coverage/what-if", data="x", content_type="text/plain")
    assert not_json.status_code == 400 and not_json.get_json()["parameter"] == "body"


def test_api_site_selection(login_as) -> None:
    c = login_as(None)
    body = c.post("/api/site-selection", json={"kind": "kindergarten", "k": 3, "solver": "both",
                                               "candidates": {"type": "grid", "spacing": 1000}}).get_json()
    assert len(body["sites"]["features"]) == 3 and body["k"] == 3 and body["radius_m"] == 300
    assert body["city"]["share_after"] > body["city"]["share_before"]
    assert body["solvers"]["gap_vs_exact"] <= 0.02 and body["solvers"]["exact"]["status"] == "optimal"
    assert body["layer"]["name"] == "modelled_grid_250m" and "run_id" not in body
    bad = c.post("/api/site-selection", json={"kind": "museum", "k": 2})
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "radius"
    # Saving needs the analyst role.
    refused = c.post("/api/site-selection", json={"kind": "kindergarten", "k": 1, "save": True,
                                                  "candidates": {"type": "grid", "spacing": 2000}})
    assert refused.status_code == 401


def test_api_site_selection_saved_by_an_analyst(login_as) -> None:
    c = login_as("analyst")
    body = c.post("/api/site-selection", json={"kind": "kindergarten", "k": 1, "save": True, "title": "试算",
                                               "candidates": {"type": "grid", "spacing": 2000}}).get_json()
    run = c.get(f"/api/coverage/runs/{body['run_id']}").get_json()
    assert run["analysis"] == "site_selection" and run["title"] == "试算" and run["created_by"] == c.user.username
    assert run["params"]["k"] == 1 and run["results"]["sites"]["features"]


def test_save_page_needs_analysis_save(login_as) -> None:
    params = '{"kind": "museum", "radius_m": [], "layer": "census_2020"}'
    anonymous = login_as(None).post("/coverage/runs", data={"analysis": "coverage", "params": params})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    viewer = login_as("viewer").post("/coverage/runs", data={"analysis": "coverage", "params": params})
    assert viewer.status_code == 403
    analyst = login_as("analyst")
    saved = analyst.post("/coverage/runs", data={"analysis": "coverage", "params": params, "title": "博物馆"})
    assert saved.status_code == 303
    page = analyst.get(saved.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "博物馆" in html and "MUS-1" in html and "census_2020" in html
    bad = analyst.post("/coverage/runs", data={"analysis": "coverage", "params": "{"})
    assert bad.status_code == 400


def test_api_save_run_and_list(login_as) -> None:
    c = login_as("analyst")
    created = c.post("/api/coverage/runs", json={"analysis": "whatif", "title": "加一所", "params": {
        "kind": "kindergarten", "radius_m": [300], "layer": "modelled_grid_250m",
        "scenario": {"add": [{"lon": 113.66, "lat": 34.75, "capacity": 200}], "remove": []}}})
    assert created.status_code == 201
    run_id = created.get_json()["id"]
    listed = c.get("/api/coverage/runs?kind=kindergarten").get_json()["runs"]
    assert listed[0]["id"] == run_id and listed[0]["analysis"] == "whatif"
    bad = c.post("/api/coverage/runs", json={"analysis": "magic", "params": {}})
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "analysis"
    assert c.get("/api/coverage/runs/987654321").status_code == 404
    assert c.get("/api/coverage/runs/99999999999").status_code == 404  # beyond an integer column


def test_coverage_page_form_and_results(client: FlaskClient) -> None:
    form = client.get("/coverage").get_data(as_text=True)
    assert 'name="kind"' in form and "modelled_grid_250m" in form
    page = client.get("/coverage?kind=kindergarten&status=open")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "modelled_grid_250m" in html and "300" in html and 'id="unit-table"' in html
    assert 'srcdoc="' in html and "/static/vendor/leaflet/leaflet.js" in html
    nonce = re.search(r'<script nonce="([^"]+)"', html).group(1)
    assert f"nonce-{nonce}" in page.headers["Content-Security-Policy"]
    assert "cdn.jsdelivr" not in html
    for name in ("中原区", "郑州航空港经济综合实验区", "登封市"):
        assert name in html


def test_coverage_page_what_if_and_errors(client: FlaskClient) -> None:
    page = client.get("/coverage?kind=study_room&add=113.66,34.75,30")
    assert page.status_code == 200 and 'class="delta' in page.get_data(as_text=True)
    bad = client.get("/coverage?kind=kindergarten&radius=abc")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'data-parameter="radius"' in html and 'aria-invalid="true"' in html


def test_site_selection_page(login_as) -> None:
    c = login_as(None)
    assert 'name="candidate_mode"' in c.get("/site-selection").get_data(as_text=True)
    resp = c.post("/site-selection", data={"kind": "kindergarten", "k": "2", "candidate_mode": "list",
                                           "candidate_points": "113.66,34.75,甲\n113.62,34.76,乙\n113.70,34.80,丙"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="site-table"' in html and html.count("<tr><td>") >= 2
    bad = c.post("/site-selection", data={"kind": "kindergarten", "candidate_mode": "list", "candidate_points": ""})
    assert bad.status_code == 400 and 'data-parameter="candidates"' in bad.get_data(as_text=True)


def test_run_pages_compare_and_exports(client: FlaskClient, session) -> None:
    a = runs.save_coverage(session, service.get_coverage(session, coverage_request({"kind": "parking_lot"})))
    b = runs.save_coverage(session, service.get_coverage(session, coverage_request({"kind": "parking_lot",
                                                                                    "radius": "500"})))
    session.flush()
    listing = client.get("/coverage/runs").get_data(as_text=True)
    assert f'data-run="{a.id}"' in listing and f'data-run="{b.id}"' in listing
    detail = client.get(f"/coverage/runs/{a.id}")
    assert detail.status_code == 200 and "export.geojson" in detail.get_data(as_text=True)
    cmp = client.get(f"/coverage/runs/compare?a={a.id}&b={b.id}").get_data(as_text=True)
    assert "radius_m" in cmp and 'id="compare-city"' in cmp
    csv_resp = client.get(f"/coverage/runs/{a.id}/export.csv")
    assert csv_resp.status_code == 200 and "modelled_grid_250m" in csv_resp.get_data(as_text=True)
    gj = client.get(f"/coverage/runs/{a.id}/export.geojson").get_json()
    assert gj["type"] == "FeatureCollection" and gj["metadata"]["run_id"] == a.id
    png = client.get(f"/coverage/runs/{a.id}/export.png?chart=distance")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    page = client.get(f"/coverage/runs/{a.id}/export.html")
    assert page.status_code == 200 and "attachment" in page.headers["Content-Disposition"]
    assert client.get(f"/coverage/runs/{a.id}/export.pdf").status_code == 404
    assert client.get(f"/coverage/runs/{a.id}/export.csv?table=nope").status_code == 400
    assert client.get("/coverage/runs/987654321").status_code == 404
    assert client.get("/coverage/runs/2147483648").status_code == 404
    assert client.get("/coverage/runs/compare?a=1").status_code == 400
    assert client.get("/api/coverage/layers").get_json()["layers"][0]["name"]


def test_openapi_fragment_lists_every_api_route(app) -> None:
    from registry.web.coverage import openapi_paths

    paths = openapi_paths()
    routes = {r.rule.removeprefix("/api").replace("<int:run_id>", "{run_id}") for r in app.url_map.iter_rules()
              if r.endpoint.startswith("coverage.api")}
    assert routes == set(paths)
