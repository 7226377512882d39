"""The pages in a real headless Chromium with no network: no console errors, no failed requests,
markers in the DOM, the XSS name as text, screenshots in ``test-artifacts/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"

def frame_of(page, fragment: str):  # type: ignore[no-untyped-def]
    """The child frame whose URL contains ``fragment``."""
    for frame in page.frames:
        if fragment in frame.url and frame != page.main_frame:
            return frame
    raise AssertionError(f"no frame with {fragment!r} in {[f.url for f in page.frames]}")


def marker_count(frame) -> int:  # type: ignore[no-untyped-def]
    """Leaflet marker elements (facility markers and cluster icons) in the DOM of a frame."""
    return frame.evaluate("() => document.querySelectorAll('.leaflet-marker-icon').length")


def no_horizontal_overflow(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


FIND_MAP = "Object.keys(window).map(k => window[k]).find(v => v && window.L && v instanceof L.Map)"


def test_home_page(visit, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    page, log = visit("/")
    assert page.title().startswith("首页概览")
    assert page.locator("h1").inner_text() == "全市设施概况：按类型和区县"
    assert page.locator(".card").count() == 6
    assert page.locator("#district-counts tbody tr").count() >= 12
    assert page.locator("#targets li.target").count() >= 3
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / "home.png"), full_page=True)
    log.assert_clean()


def test_keyboard_skip_link_and_language_toggle(visit) -> None:  # type: ignore[no-untyped-def]
    page, log = visit("/facilities?kind=museum")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the first control of the page, reached from the keyboard
    assert page.evaluate("() => document.activeElement.tagName") in ("A", "INPUT", "SELECT", "BUTTON")
    with page.expect_navigation():
        page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Museum" and "kind=museum" in page.url
    log.assert_clean()


def test_all_kinds_map(visit, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    page, log = visit("/map")
    frame = frame_of(page, "/map/frame")
    frame.wait_for_selector(".leaflet-marker-icon")
    assert marker_count(frame) >= 20
    overlays = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [o.strip().split("（")[0] for o in overlays] == ["行政区划", "博物馆", "城市书房", "停车场", "电梯", "幼儿园"]
    assert frame.locator("path.leaflet-interactive").count() >= 12  # the districts are drawn
    assert frame.locator(".rg-legend").count() >= 1
    # a layer can be switched off: fewer markers
    before = marker_count(frame)
    frame.locator(".leaflet-control-layers-overlays label", has_text="电梯").locator("input").uncheck()
    assert marker_count(frame) < before
    page.screenshot(path=str(artifacts_dir / "map.png"))
    # a click on a cluster zooms in on it
    frame.wait_for_function(f"() => !({FIND_MAP})._animatingZoom")
    zoom = frame.evaluate(f"() => ({FIND_MAP}).getZoom()")
    target = frame.evaluate("""() => {
        for (const e of document.querySelectorAll('.marker-cluster')) {
            const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (e.contains(document.elementFromPoint(x, y))) { return {x, y}; }  // not under another kind's cluster
        }
        return null;
    }""")
    assert target, "no cluster icon can be clicked"
    box = frame.frame_element().bounding_box()
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    frame.wait_for_function(f"() => ({FIND_MAP}).getZoom() > {zoom} && !({FIND_MAP})._animatingZoom",
                            timeout=10_000)
    log.assert_clean()


def test_xss_name_is_text_in_map_popup(visit, xss_facility: int, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    page, log = visit("/map/frame?kinds=museum")
    # the initial fitBounds is animated; Leaflet ignores setView while a zoom animation runs
    page.wait_for_function(f"() => !({FIND_MAP})._animatingZoom")
    found = page.evaluate(f"""() => {{
        const map = {FIND_MAP};
        let hit = null;
        map.eachLayer(l => {{ if (l.zoomToShowLayer) {{ l.getLayers().forEach(m => {{
            const p = m.getPopup && m.getPopup();
            if (p && String(p.getContent()).includes('/facilities/{xss_facility}"')) {{ hit = m; }}
        }}); }} }});
        if (!hit) {{ return false; }}
        window.__xss = hit;
        map.setView(hit.getLatLng(), map.getMaxZoom(), {{animate: false}});
        return true;
    }}""")
    assert found, "no marker for the XSS facility on the map"
    page.wait_for_function("() => window.__xss && window.__xss._icon", timeout=10_000)
    page.evaluate("() => window.__xss.openTooltip()")
    tooltip = page.locator(".leaflet-tooltip")
    assert tooltip.count() == 1 and XSS in tooltip.inner_text()
    assert page.locator(".leaflet-tooltip img").count() == 0
    page.evaluate("() => window.__xss.closeTooltip()")
    page.evaluate("() => window.__xss.openPopup()")
    opened = page.locator(".leaflet-popup-content").count() == 1
    assert opened
    popup = page.locator(".leaflet-popup-content .rg-title")
    assert popup.inner_text() == XSS
    assert page.locator(".leaflet-popup-content img").count() == 0
    page.mouse.move(5, 5)
    page.screenshot(path=str(artifacts_dir / "map-xss-popup.png"))
    log.assert_clean()  # no dialog: alert(1) never ran


def test_facility_page(visit, xss_facility: int, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    page, log = visit(f"/facilities/{xss_facility}")
    assert page.locator("h1#facility-name").inner_text() == XSS
    assert page.locator("img[src='x']").count() == 0
    frame = frame_of(page, f"/map/facility/{xss_facility}/frame")
    frame.wait_for_selector(".leaflet-marker-icon")
    assert marker_count(frame) >= 1
    assert frame.locator("path.leaflet-interactive").count() >= 1  # the 500 m circle
    assert page.locator("#findings tbody tr[data-rule='MUS-6']").count() == 1
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / "facility.png"), full_page=True)
    log.assert_clean()


def test_list_search_with_xss_name(visit, xss_facility: int) -> None:  # type: ignore[no-untyped-def]
    page, log = visit("/facilities?kind=museum")
    page.fill("#f-q", "<img src=x")
    with page.expect_navigation():
        page.press("#f-q", "Enter")
    cells = page.locator("#facility-table tbody tr td.col-name a")
    assert cells.all_inner_texts() == [XSS]
    assert page.locator("img[src='x']").count() == 0
    log.assert_clean()


def test_radius_page_typed_and_clicked(visit, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    page, log = visit("/radius?lon=113.6654&lat=34.7579&radius=800")
    rows = page.locator("#radius-table tbody tr")
    assert rows.count() >= 1
    frame = frame_of(page, "/map/radius/frame")
    frame.wait_for_selector(".leaflet-marker-icon")
    assert marker_count(frame) >= rows.count()  # every facility found (and the centre) is drawn
    page.screenshot(path=str(artifacts_dir / "radius.png"))
    # a click on the map starts a new search around that point
    box = frame.locator(".folium-map").bounding_box()
    with page.expect_navigation():
        frame.locator(".folium-map").click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.7})
    assert "lon=" in page.url and "lon=113.6654&" not in page.url
    assert page.locator("#result-summary").count() == 1
    log.assert_clean()


@pytest.mark.parametrize("path", ["/", "/facilities?kind=study_room", "/radius?lon=113.6654&lat=34.7579&radius=500",
                                  "/map"])
def test_tablet_layout_has_no_overflow(visit, path: str, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    page, log = visit(path, width=820, height=1180)
    assert no_horizontal_overflow(page)
    name = path.strip("/").split("?")[0].replace("/", "-") or "home"
    page.screenshot(path=str(artifacts_dir / f"tablet-{name}.png"))
    log.assert_clean()


def test_long_chinese_name_does_not_overflow(visit, engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from registry.models import Facility, StudyRoom

    long_name = "郑州市金水区" + "城市书房" * 30 + "旗舰店"
    with Session(engine) as session:
        obj = StudyRoom(source="browser-tests", external_id="long-1", name=long_name, address=long_name,
                        status="open", geom="SRID=4326;POINT(113.70 34.78)", is_synthetic=True)
        session.add(obj)
        session.commit()
        fid = obj.id
    try:
        for width in (1366, 820):
            page, log = visit(f"/facilities/{fid}", width=width)
            assert no_horizontal_overflow(page)
            page, log = visit("/facilities?kind=study_room&q=旗舰店", width=width)
            assert no_horizontal_overflow(page)
            log.assert_clean()
    finally:
        with Session(engine) as session:
            session.execute(delete(Facility.__table__).where(Facility.id == fid))
            session.commit()


def test_standalone_export_opens_offline(visit, live_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    with urllib.request.urlopen(live_server + "/map/export.html?kinds=museum,study_room") as resp:
        body = resp.read()
    path = tmp_path / "export.html"
    path.write_bytes(body)
    page, log = visit("")
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector(".leaflet-marker-icon")
    assert marker_count(page) >= 5
    assert page.locator(".leaflet-control-layers-overlays label").count() == 3
    log.assert_clean()


def test_coverage_page(visit, artifacts_dir: Path, live_server: str) -> None:  # type: ignore[no-untyped-def]
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(live_server + "/coverage")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            pytest.skip("the coverage page (registry/web/coverage.py) is not registered yet")
    page, log = visit("/coverage?kind=kindergarten")
    assert page.locator("iframe").count() >= 1
    for frame in page.frames:
        if frame != page.main_frame:
            frame.wait_for_selector(".leaflet-container")
    frames = [f for f in page.frames if f != page.main_frame]
    markers = sum(marker_count(f) for f in frames) + marker_count(page)
    paths = sum(f.locator("path.leaflet-interactive").count() for f in frames) + \
        page.locator("path.leaflet-interactive").count()
    assert markers + paths > 0
    page.screenshot(path=str(artifacts_dir / "coverage.png"), full_page=True)
    log.assert_clean()


def test_compliance_dashboard(visit, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    page, log = visit("/compliance")
    assert page.locator("h1").count() == 1
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / "compliance.png"), full_page=True)
    log.assert_clean()


def test_rule_drill_down_from_the_rule_catalogue(visit) -> None:  # type: ignore[no-untyped-def]
    page, log = visit("/rules")
    link = page.locator("tr#SR-2 a[href*='rule=SR-2']").first
    with page.expect_navigation():
        link.click()
    assert "rule=SR-2" in page.url
    assert page.locator("#rule-filter .rule-id").inner_text() == "SR-2"
    assert page.locator("#facility-table tbody tr").count() >= 1
    log.assert_clean()


def test_fast_marker_cluster_layer_loads_and_zooms_without_errors(visit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Layers above ``fast_threshold`` (FastMarkerCluster): no error while loading, a cluster click zooms in."""
    import geopandas as gpd
    import numpy as np
    import shapely

    import maps

    rng = np.random.default_rng(7)
    n = 5000
    gdf = gpd.GeoDataFrame({"id": np.arange(n), "kind": ["elevator"] * n, "name": [f"电梯{i}" for i in range(n)],
                            "address": None, "district_name": None, "status": "in_use", "compliance_status": None},
                           geometry=shapely.points(112.72 + rng.random(n) * 1.5, 34.26 + rng.random(n) * 0.71),
                           crs=4326)
    path = tmp_path / "fast.html"
    path.write_text(maps.standalone_html(maps.facilities_map(gdf)), encoding="utf-8")
    page, log = visit("")
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector(".marker-cluster")
    page.wait_for_function(f"() => !({FIND_MAP})._animatingZoom")
    zoom = page.evaluate(f"() => ({FIND_MAP}).getZoom()")
    target = page.evaluate("""() => {
        for (const e of document.querySelectorAll('.marker-cluster')) {
            const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (e.contains(document.elementFromPoint(x, y))) { return {x, y}; }
        }
        return null;
    }""")
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function(f"() => ({FIND_MAP}).getZoom() > {zoom} && !({FIND_MAP})._animatingZoom", timeout=10_000)
    log.assert_clean()


def test_radius_form_by_keyboard_only(visit) -> None:  # type: ignore[no-untyped-def]
    """Type a GCJ-02 point, tab through the form, submit with Enter: results and the centre in WGS-84."""
    page, log = visit("/radius")
    page.focus("#f-lon")
    page.keyboard.type("113.6714")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "f-lat"
    page.keyboard.type("34.7566")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "f-crs"
    page.keyboard.press("ArrowDown")  # WGS-84 -> GCJ-02, chosen from the keyboard
    crs = page.evaluate("() => document.activeElement.value")
    assert crs == "gcj02"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "f-radius"
    page.keyboard.press("Control+A")
    page.keyboard.type("1000")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"crs={crs}" in page.url and "radius=1000" in page.url
    assert page.locator("#radius-table tbody tr").count() >= 1
    log.assert_clean()
