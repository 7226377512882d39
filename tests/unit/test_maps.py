"""Unit tests of the Folium map builders and the offline (vendored) assets.  No database."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pytest
import shapely

import maps
from maps import (
    KIND_STYLES,
    UnvendoredAssetError,
    base_map,
    districts_map,
    facilities_map,
    find_external_requests,
    inline_assets,
    radius_map,
    render_parts,
    standalone_html,
    use_local_assets,
)
from maps._html import POPUP_JS, facility_popup_html
from maps.assets import STATIC_VENDOR_DIR, VENDORED_URLS, local_url
from maps.facilities import MarkerRows

XSS = "<img src=x onerror=alert(1)>"
REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- fixtures


def _facilities(
    n: int = 10, kinds: tuple[str, ...] = tuple(KIND_STYLES), crs: object = 4326
) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    gdf = gpd.GeoDataFrame(
        {
            "id": np.arange(1, n + 1),
            "kind": [kinds[i % len(kinds)] for i in range(n)],
            "name": [f"设施{i}" for i in range(n)],
            "address": ["郑州市金水区花园路1号"] * n,
            "district_name": ["金水区"] * n,
            "status": ["open"] * n,
            "compliance_status": [["compliant", "non_compliant", "unknown", None][i % 4] for i in range(n)],
        },
        geometry=gpd.points_from_xy(rng.uniform(113.5, 113.8, n), rng.uniform(34.6, 34.9, n)),
        crs=crs,
    )
    return gdf


@pytest.fixture
def facilities() -> gpd.GeoDataFrame:
    gdf = _facilities()
    gdf.loc[0, "name"] = XSS
    gdf.loc[1, "address"] = "`${alert(2)}` \\u003c"
    return gdf


@pytest.fixture
def districts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"adcode": ["410102", "410105"], "name": ["中原区", XSS], "population": [1_000_000, None]},
        geometry=[shapely.box(113.50, 34.70, 113.62, 34.80), shapely.box(113.62, 34.70, 113.80, 34.85)],
        crs=4326,
    )


def _render(m: folium.Map) -> str:
    return m.get_root().render()


def _js(text: str) -> str:
    """``text`` as folium's JSON output spells it (non-ASCII as \\uXXXX)."""
    return json.dumps(text)[1:-1]


def _external_attribute_urls(html: str) -> list[str]:
    """src/href attributes pointing at another host, outside scripts/styles and ``<a>`` links."""
    markup = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", "", html, flags=re.DOTALL | re.IGNORECASE)
    markup = re.sub(r"<a\b[^>]*>", "", markup, flags=re.IGNORECASE)
    return re.findall(r"""(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", markup, flags=re.IGNORECASE)


class _Tags(HTMLParser):
    """Collect start tags and text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(fragment: str) -> _Tags:
    p = _Tags()
    p.feed(fragment)
    p.close()
    return p


def _marker_rows(m: folium.Map) -> list[list]:
    rows: list[list] = []
    stack = [m]
    while stack:
        el = stack.pop()
        if isinstance(el, MarkerRows):
            rows.extend(json.loads(el.rows_json))
        stack.extend(el._children.values())
    return rows


def _children_of_type(m: folium.Map, cls: type) -> list:
    """Elements of ``cls`` below ``m``, in document order."""
    found = []
    for child in m._children.values():
        if isinstance(child, cls):
            found.append(child)
        found.extend(_children_of_type(child, cls))
    return found


# --------------------------------------------------------------------------- vendored files


def _vendor_script():
    spec = importlib.util.spec_from_file_location("vendor_assets", REPO / "scripts" / "vendor_assets.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_vendored_files_match_manifest() -> None:
    assert _vendor_script().verify(STATIC_VENDOR_DIR) == []


def test_every_vendored_lib_has_a_licence() -> None:
    for lib in (p for p in STATIC_VENDOR_DIR.iterdir() if p.is_dir()):
        assert any(f.name.upper().startswith(("LICENSE", "MIT-LICEN")) for f in lib.iterdir()), lib.name


@pytest.mark.parametrize(
    "cls",
    [
        folium.Map,
        folium.plugins.MarkerCluster,
        folium.plugins.FastMarkerCluster,
        folium.plugins.FeatureGroupSubGroup,
        folium.plugins.Fullscreen,
        folium.plugins.MousePosition,
    ],
)
def test_folium_default_urls_are_vendored(cls: type) -> None:
    for _name, url in [*cls.default_js, *cls.default_css]:
        assert url in VENDORED_URLS, url
        assert (STATIC_VENDOR_DIR / VENDORED_URLS[url]).is_file(), url


def test_vendored_css_references_exist() -> None:
    """Every url() in a vendored stylesheet resolves (missing icons = missing assets)."""
    css_files = [STATIC_VENDOR_DIR / rel for rel in VENDORED_URLS.values() if rel.endswith(".css")]
    checked = 0
    for css in css_files:
        for url in re.findall(r"url\(\s*[\"']?([^\"')]+)", css.read_text(encoding="utf-8")):
            if url.startswith(("data:", "#")):
                continue
            assert not re.match(r"(https?:)?//", url), f"{css.name} -> {url}"
            target = css.parent / url.split("?")[0].split("#")[0]
            assert target.is_file(), f"{css.name} -> {url}"
            checked += 1
    assert checked >= 20  # leaflet images, awesome-markers sprites, FA and glyphicon fonts


def test_local_url() -> None:
    assert local_url("https://code.jquery.com/jquery-3.7.1.min.js") == "/static/vendor/jquery/jquery.min.js"
    assert local_url("/static/vendor/x.js") == "/static/vendor/x.js"
    assert local_url("https://example.invalid/unknown.js") is None


# --------------------------------------------------------------------------- offline rendering


def test_base_map_default_has_no_internet_reference() -> None:
    m = base_map()
    assert isinstance(m, folium.Map)
    html = _render(m)
    assert "http://" not in html and "https://" not in html
    assert '<script src="/static/vendor/leaflet/leaflet.js"></script>' in html
    assert "L.tileLayer" not in html


def test_builders_render_without_cdn(facilities: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> None:
    m = districts_map(districts)
    m = facilities_map(facilities, m=m)
    m = radius_map((34.75, 113.65), 500, facilities.iloc[:2], m=m)
    html = _render(m)
    assert find_external_requests(html) == []
    assert "http://" not in html and "https://" not in html
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in html


def test_use_local_assets_covers_elements_added_later() -> None:
    m = folium.Map(tiles=None)
    use_local_assets(m, "/assets/vendor")
    folium.plugins.Fullscreen().add_to(m)
    folium.plugins.MousePosition().add_to(m)
    fg = folium.FeatureGroup().add_to(m)
    folium.plugins.FeatureGroupSubGroup(fg).add_to(m)
    folium.plugins.MarkerCluster().add_to(m)
    html = _render(m)
    assert find_external_requests(html) == []
    assert "/assets/vendor/leaflet.fullscreen/Control.FullScreen.js" in html
    assert "/assets/vendor/leaflet-mouse-position/L.Control.MousePosition.css" in html


def test_folium_class_lists_are_not_modified() -> None:
    use_local_assets(base_map())
    assert folium.Map.default_js[0][1].startswith("https://cdn.jsdelivr.net/")
    assert folium.plugins.MarkerCluster.default_js[0][1].startswith("https://")


def test_unvendored_plugin_is_refused() -> None:
    m = base_map()
    folium.plugins.Draw().add_to(m)
    with pytest.raises(UnvendoredAssetError, match="Draw"):
        _render(m)
    use_local_assets(m, strict=False)
    assert find_external_requests(_render(m))  # left as it was, and visible to the check


def test_render_parts() -> None:
    parts = render_parts(base_map())
    assert "/static/vendor/leaflet/leaflet.css" in parts.header
    assert 'class="folium-map"' in parts.html
    assert "L.map(" in parts.script


def test_find_external_requests() -> None:
    html = (
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<script src="//cdn.example/x.js"></script>'
        "<style>.a{background:url('http://img.example/a.png')}"
        ".b{background:url(\"data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg'/%3e\")}</style>"
        '<a href="https://leafletjs.com">Leaflet</a><img src="/static/ok.png">'
    )
    assert find_external_requests(html) == [
        "https://cdn.example/x.css",
        "//cdn.example/x.js",
        "http://img.example/a.png",
    ]


# --------------------------------------------------------------------------- standalone export


def test_standalone_export_has_no_external_src_or_href(facilities: gpd.GeoDataFrame) -> None:
    m = facilities_map(facilities)
    html = standalone_html(m)
    assert find_external_requests(html) == []
    assert _external_attribute_urls(html) == []
    assert "<script src=" not in html and 'rel="stylesheet"' not in html
    assert "data:font/woff2;base64," in html
    assert "data:image/png;base64," in html  # leaflet / awesome-markers images
    assert "sourceMappingURL" not in html
    assert len(html) < 3_000_000
    # the live map is still served from /static/vendor afterwards
    assert '<script src="/static/vendor/leaflet/leaflet.js">' in _render(m)


def test_standalone_export_without_fonts(facilities: gpd.GeoDataFrame) -> None:
    html = standalone_html(facilities_map(facilities), fonts="omit")
    assert "@font-face" not in html
    assert find_external_requests(html) == []


def test_inline_assets_refuses_external_links() -> None:
    with pytest.raises(ValueError):
        inline_assets('<script src="https://cdn.example/x.js"></script>')


# --------------------------------------------------------------------------- base map


def test_basemap_choices() -> None:
    osm = _render(base_map(basemap="osm"))
    assert "tile.openstreetmap.org" in osm
    tdt = _render(base_map(basemap="tianditu", key="k&y"))
    assert "vec_w/wmts" in tdt and "cva_w/wmts" in tdt and "tk=k%26y" in tdt
    with pytest.raises(ValueError, match="key"):
        base_map(basemap="tianditu")
    with pytest.raises(ValueError, match="unknown basemap"):
        base_map(basemap="google")
    with pytest.warns(UserWarning, match="GCJ-02"):
        amap = base_map(basemap="amap")
    assert "webrd0{s}.is.autonavi.com" in _render(amap)
    both = _render(base_map(basemap=["none", "osm"]))
    assert _js("无底图") in both and "OpenStreetMap" in both


# --------------------------------------------------------------------------- districts


def test_districts_map(districts: gpd.GeoDataFrame) -> None:
    m = districts_map(districts)
    assert isinstance(m, folium.Map)
    html = _render(m)
    assert _js("中原区") in html
    assert XSS not in html and "\\u003cimg" not in html  # escaped in tooltip data and label
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html  # &lt;img ...&gt; inside JSON
    assert "rg-district-label" in html
    groups = [g for g in _children_of_type(m, folium.FeatureGroup) if g.layer_name == "行政区划"]
    assert len(groups) == 1


def test_districts_value_column(districts: gpd.GeoDataFrame) -> None:
    html = _render(districts_map(districts, value_column="population", value_label="常住人口"))
    assert _js("常住人口") in html and _js("无数据") in html


def test_districts_require_name(districts: gpd.GeoDataFrame) -> None:
    with pytest.raises(KeyError):
        districts_map(districts.drop(columns="name"))


# --------------------------------------------------------------------------- facilities


def test_one_feature_group_per_kind(facilities: gpd.GeoDataFrame) -> None:
    m = facilities_map(facilities)
    assert isinstance(m, folium.Map)
    names = [g.layer_name for g in _children_of_type(m, folium.FeatureGroup)]
    for style in KIND_STYLES.values():
        assert sum(n.startswith(style.label) for n in names) == 1, style.label
    assert len(_children_of_type(m, folium.LayerControl)) == 1
    html = _render(m)
    for style in KIND_STYLES.values():  # legend lists the kinds in Chinese with their colours
        assert style.label in html and style.color in html


def test_kinds_argument_orders_and_adds_empty_layers(facilities: gpd.GeoDataFrame) -> None:
    m = facilities_map(facilities[facilities["kind"] == "museum"], kinds=["elevator", "museum"])
    names = [g.layer_name for g in _children_of_type(m, folium.FeatureGroup)]
    assert names == ["电梯（0）", "博物馆（2）"]


def test_adding_to_an_existing_map(facilities: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> None:
    m = base_map()
    assert districts_map(districts, m=m) is m
    assert facilities_map(facilities, m=m) is m
    assert radius_map((34.75, 113.65), 300, facilities, m=m) is m
    assert len(_children_of_type(m, folium.LayerControl)) == 1


def test_popups_and_tooltips_escape_user_text(facilities: gpd.GeoDataFrame) -> None:
    m = facilities_map(facilities)
    html = _render(m)
    assert XSS not in html and "\\u003cimg" not in html
    assert "${alert(2)}" not in html
    rows = _marker_rows(m)
    assert len(rows) == len(facilities)
    xss_row = next(r for r in rows if "img src=x" in r[3])
    tooltip, popup = _parse(xss_row[3]), _parse(xss_row[4])
    assert tooltip.tags == [] and "".join(tooltip.text) == XSS
    assert "img" not in popup.tags and XSS in popup.text
    addr_row = next(r for r in rows if "alert(2)" in r[4])
    assert "`" not in addr_row[4] and "${" not in addr_row[4] and "\\" not in addr_row[4]


def test_popup_content_in_chinese() -> None:
    popup = facility_popup_html(
        name="河南博物院", kind_label="博物馆", address=None, district="金水区", status="开放",
        compliance="non_compliant", href="/facilities/7",
    )  # fmt: skip
    text = "".join(_parse(popup).text)
    for part in ("河南博物院", "博物馆", "金水区", "开放", "不合规", "地址", "—", "查看详情"):
        assert part in text
    assert 'href="/facilities/7"' in popup


def test_compliance_labels_and_links(facilities: gpd.GeoDataFrame) -> None:
    rows = _marker_rows(facilities_map(facilities, link_prefix="/app/f/"))
    popups = "".join(r[4] for r in rows)
    for label in ("合规", "不合规", "未知"):
        assert f">{label}<" in popups
    assert 'href="/app/f/1"' in popups
    no_links = _marker_rows(facilities_map(facilities, link_prefix=None))
    assert all("href" not in r[4] for r in no_links)
    assert "开放" in popups  # status "open" of a museum


def test_fast_path_for_big_layers(facilities: gpd.GeoDataFrame) -> None:
    m = facilities_map(facilities, fast_threshold=1)
    fast = _children_of_type(m, folium.plugins.FastMarkerCluster)
    assert len(fast) == len(KIND_STYLES)
    html = _render(m)
    assert XSS not in html  # raw name only as JSON-escaped data, escaped again in JS (rgEsc)
    assert "rgEsc" in html and "chunkedLoading" in html
    small = facilities_map(facilities)
    assert not _children_of_type(small, folium.plugins.FastMarkerCluster)
    assert _children_of_type(small, folium.plugins.MarkerCluster)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_fast_path_js_escaping() -> None:
    script = POPUP_JS + (
        "process.stdout.write(JSON.stringify([rgEsc(process.argv[1]),"
        " rgPopup(process.argv[1], '幼儿园', '`${x}`\\\\', null, '开办', 'unknown', '/facilities/3')]));"
    )
    out = subprocess.run(["node", "-e", script, XSS], check=True, capture_output=True, text=True).stdout
    tooltip, popup = json.loads(out)
    assert _parse(tooltip).tags == [] and "".join(_parse(tooltip).text) == XSS
    parsed = _parse(popup)
    assert "img" not in parsed.tags and XSS in parsed.text
    assert "`" not in popup and "${" not in popup and "未知" in popup and "—" in popup


def test_fast_path_handles_100k_points_quickly() -> None:
    import time

    big = _facilities(100_000, kinds=("parking_lot",))
    start = time.perf_counter()
    m = facilities_map(big)
    html = _render(m)
    elapsed = time.perf_counter() - start
    assert len(_children_of_type(m, folium.plugins.FastMarkerCluster)) == 1
    assert elapsed < 30  # about 3 s on the 2-core CI machine
    assert len(html) < 20_000_000


# --------------------------------------------------------------------------- CRS and transforms


def test_crs_is_converted(facilities: gpd.GeoDataFrame) -> None:
    projected = facilities.to_crs(3857)
    rows = _marker_rows(facilities_map(projected))
    lat, lon = facilities.geometry.y.iloc[2], facilities.geometry.x.iloc[2]
    row = next(r for r in rows if "设施2" in r[3])
    assert row[0] == pytest.approx(lat, abs=1e-6) and row[1] == pytest.approx(lon, abs=1e-6)


def test_missing_crs_warns(facilities: gpd.GeoDataFrame) -> None:
    no_crs = gpd.GeoDataFrame(facilities.drop(columns="geometry"), geometry=list(facilities.geometry))
    assert no_crs.crs is None
    with pytest.warns(UserWarning, match="no CRS"):
        facilities_map(no_crs)


def test_display_transform_shifts_only_the_display(facilities: gpd.GeoDataFrame) -> None:
    def shift(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return lon + 0.005, lat + 0.001

    before = facilities.geometry.copy()
    m = base_map(basemap="amap", transform=shift)
    rows = _marker_rows(facilities_map(facilities, m=m))
    row = next(r for r in rows if "设施2" in r[3])
    assert row[1] == pytest.approx(facilities.geometry.x.iloc[2] + 0.005, abs=1e-6)
    assert row[0] == pytest.approx(facilities.geometry.y.iloc[2] + 0.001, abs=1e-6)
    assert facilities.geometry.equals(before)
    html = _render(radius_map((34.75, 113.65), 300, facilities.iloc[:0], m=base_map(), transform=shift))
    assert "113.655" in html


# --------------------------------------------------------------------------- radius


def test_radius_map(facilities: gpd.GeoDataFrame) -> None:
    found = facilities.iloc[:3].assign(distance_m=[12.0, 150.4, 299.9])
    m = radius_map((34.75, 113.65), 300, found)
    assert isinstance(m, folium.Map)
    circles = _children_of_type(m, folium.Circle)
    assert len(circles) == 1 and circles[0].options["radius"] == 300
    rows = _marker_rows(m)
    assert len(rows) == 3 and "（150 米）" in rows[1][3]
    assert find_external_requests(_render(m)) == []
    with pytest.raises(ValueError):
        radius_map((34.75, 113.65), -5, found)
    with pytest.raises(ValueError):
        radius_map((113.65, 34.75, 0), 300, found)


def test_public_api() -> None:
    for name in (
        "base_map",
        "districts_map",
        "facilities_map",
        "radius_map",
        "use_local_assets",
        "inline_assets",
    ):
        assert callable(getattr(maps, name))
