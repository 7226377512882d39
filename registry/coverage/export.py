"""Export a saved run: CSV tables, GeoJSON, PNG charts and a standalone HTML map.

Every export names the population layer (and whether it is modelled), the
radii, the kind, the filters and the as-of date, in columns (CSV), in a
``metadata`` member (GeoJSON), in the chart title (PNG) or in the map's
layer names (HTML).
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from registry.coverage.inputs import UnitTable
from registry.coverage.runs import main_results
from registry.models import CoverageRun

FORMATS = ("csv", "geojson", "png", "html")
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei",
             "PingFang SC")


def _provenance_columns(run: CoverageRun) -> dict[str, Any]:
    res = main_results(run)
    layer = res.get("layer") or {}
    return {"run_id": run.id, "analysis": run.analysis, "kind": run.kind, "as_of": run.as_of.isoformat(),
            "layer": run.layer_name, "layer_year": layer.get("year"), "layer_modelled": layer.get("is_modelled"),
            "radius_m": ";".join(f"{r:g}" for r in run.radii_m or []), "filters": res.get("filters_text", "")}


# --------------------------------------------------------------------------- tables
def units_table(run: CoverageRun) -> pd.DataFrame:
    """Per census unit figures plus a city row (code ``city``), one column per figure and radius."""
    res = main_results(run)
    rows = []
    for u in res.get("units") or []:
        rows.append(_flat_unit(u))
    city = dict(res["city"])
    if run.analysis == "site_selection":
        rows.append({"code": "city", "name": "全市", **{k: v for k, v in city.items() if not isinstance(v, dict)}})
    else:
        flat = {"code": "city", "name": "全市"}
        for k, v in city.items():
            if k == "distance":
                flat["median_m"], flat["p90_m"] = v.get("median_m"), v.get("p90_m")
            elif k != "radii":
                flat[k] = v
        for r in city.get("radii") or []:
            flat |= {f"{k}_{r['radius_m']:g}": v for k, v in r.items() if k != "radius_m"}
        rows.append(flat)
    frame = pd.DataFrame(rows)
    for k, v in reversed(_provenance_columns(run).items()):
        frame.insert(0, k, v)
    return frame


def _flat_unit(u: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in u.items() if k != "radii"}
    for r in u.get("radii") or []:
        out |= {f"{k}_{r['radius_m']:g}": v for k, v in r.items() if k != "radius_m"}
    return out


def sites_table(run: CoverageRun) -> pd.DataFrame:
    """Chosen sites of a site-selection run (or the hypothetical sites of a what-if)."""
    if run.analysis == "site_selection":
        rows = [f["properties"] for f in run.results["sites"]["features"]]
    elif run.analysis == "whatif":
        rows = [{"rank": i + 1, **s} for i, s in enumerate(run.results["scenario"]["add"])]
    else:
        rows = []
    frame = pd.DataFrame(rows)
    for k, v in reversed(_provenance_columns(run).items()):
        frame.insert(0, k, v)
    return frame


def hot_spots_table(run: CoverageRun) -> pd.DataFrame:
    """Hot-spot cells of every radius (rank, population, nearest distance, unit, centre lon/lat)."""
    res = main_results(run)
    rows = []
    for radius, fc in (res.get("hot_spots") or {}).items():
        for f in fc["features"]:
            c = shapely.geometry.shape(f["geometry"]).centroid
            rows.append({"radius_m": float(radius), **f["properties"], "lon": round(c.x, 6), "lat": round(c.y, 6)})
    frame = pd.DataFrame(rows)
    prov = _provenance_columns(run)
    prov.pop("radius_m")
    for k, v in reversed(prov.items()):
        frame.insert(0, k, v)
    return frame


TABLES = {"units": units_table, "sites": sites_table, "hot_spots": hot_spots_table}


def run_csv(run: CoverageRun, table: str | None = None) -> str:
    """One table of a run as UTF-8 CSV (with BOM, so Excel opens the Chinese names)."""
    table = table or ("sites" if run.analysis == "site_selection" else "units")
    if table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
    frame = TABLES[table](run)
    buf = io.StringIO()
    buf.write("\ufeff")
    frame.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, float_format="%.6g")
    return buf.getvalue()


# --------------------------------------------------------------------------- GeoJSON
def run_geojson(run: CoverageRun, units: UnitTable | None = None) -> dict[str, Any]:
    """A FeatureCollection: census units with their figures, hot spots, facilities and sites.

    Each feature has ``layer`` = ``unit`` | ``hot_spot`` | ``facility`` | ``site``;
    the run's parameters and provenance are in the ``metadata`` member.
    """
    res = main_results(run)
    features: list[dict[str, Any]] = []
    if units is not None and units.geoms is not None:
        figures = {u["code"]: _flat_unit(u) for u in res.get("units") or []}
        for code, geom in zip(units.frame["code"], units.geoms):
            props = {"layer": "unit", **_clean(figures.get(code, {"code": code}))}
            features.append({"type": "Feature", "properties": props,
                             "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-6))})
    for radius, fc in (res.get("hot_spots") or {}).items():
        for f in fc["features"]:
            features.append({**f, "properties": {"layer": "hot_spot", "radius_m": float(radius), **f["properties"]}})
    for fid, name, lon, lat, cap, status in run.results.get("facilities") or []:
        features.append({"type": "Feature", "properties": {"layer": "facility", "id": fid, "name": name,
                                                            "capacity": cap, "status": status,
                                                            "hypothetical": fid < 0},
                         "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    if run.analysis == "site_selection":
        for f in run.results["sites"]["features"]:
            features.append({**f, "properties": {"layer": "site", **f["properties"]}})
    return {"type": "FeatureCollection", "metadata": _metadata(run), "features": features}


def _metadata(run: CoverageRun) -> dict[str, Any]:
    res = main_results(run)
    return {"run_id": run.id, "analysis": run.analysis, "kind": run.kind, "title": run.title,
            "params": run.params, "layer": res.get("layer"), "provenance": res.get("provenance"),
            "standard": res.get("standard"), "notes": res.get("notes"),
            "created_at": run.created_at.isoformat() if run.created_at else None}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


# --------------------------------------------------------------------------- charts
def _cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_FONTS if n in names), None)


def run_png(run: CoverageRun, chart: str = "units") -> bytes:
    """A PNG chart of a run.

    ``units``: the headline figure per census unit (share within the first
    radius; residents per facility against the target for museums; share
    before/after for site selection).  ``distance``: residents by distance to
    the nearest facility.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if chart not in ("units", "distance"):
        raise ValueError(f"chart must be units or distance, not {chart!r}")
    res = main_results(run)
    font = _cjk_font()
    rc = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    with plt.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # missing CJK glyphs on machines without the fonts
        fig, ax = plt.subplots(figsize=(9, 5.2), dpi=110)
        try:
            if chart == "distance":
                _distance_chart(ax, res)
            elif run.analysis == "site_selection":
                _site_chart(ax, res)
            else:
                _units_chart(ax, res)
            prov = (res.get("provenance") or {}).get("zh", "")
            fig.suptitle(f"#{run.id} {res.get('kind_label', {}).get('zh', run.kind)} · {run.as_of:%Y-%m-%d}",
                         fontsize=12)
            fig.text(0.01, 0.01, prov, fontsize=7.5, color="#555")
            fig.tight_layout(rect=(0, 0.04, 1, 0.95))
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
        finally:
            plt.close(fig)
    return buf.getvalue()


def _units_chart(ax: Any, res: dict[str, Any]) -> None:
    units = res.get("units") or []
    names = [u["name"] for u in units]
    radii = res.get("radii_m") or []
    if radii and any(r.get("covered_share") is not None for u in units for r in u["radii"]):
        width = 0.8 / len(radii)
        x = np.arange(len(units))
        for i, radius in enumerate(radii):
            vals = [100 * (u["radii"][i]["covered_share"] or 0) for u in units]
            ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=f"{radius:,.0f} 米内")
        city = res["city"]["radii"]
        for i, r in enumerate(city):
            if r.get("covered_share") is not None:
                ax.axhline(100 * r["covered_share"], ls="--", lw=1, color=f"C{i}")
        ax.set_ylabel("居民占比 %（虚线：全市）")
        ax.legend(fontsize=8)
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
        return
    vals = [u["residents_per_facility"] or 0 for u in units]
    colors = ["#C62828" if u.get("status") == "short" else "#2E7D32" if u.get("status") == "meets" else "#1565C0"
              for u in units]
    ax.bar(names, vals, color=colors)
    target = res.get("standard", {}).get("residents_per_facility_max")
    if target:
        ax.axhline(target, ls="--", color="#333", lw=1)
        ax.text(len(units) - 0.5, target, f"目标 ≤ {target:,} 人/座 ({', '.join(res['standard']['rule_ids'])})",
                ha="right", va="bottom", fontsize=8)
    ax.set_ylabel("每设施服务人口（无设施记为 0）")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for label in ax.get_xticklabels():
        label.set_ha("right")


def _site_chart(ax: Any, res: dict[str, Any]) -> None:
    units = res.get("units") or []
    x = np.arange(len(units))
    ax.bar(x - 0.2, [100 * (u.get("share_before") or 0) for u in units], 0.4, label="选址前")
    ax.bar(x + 0.2, [100 * (u.get("share_after") or 0) for u in units], 0.4, label="选址后")
    ax.set_xticks(x, [u["name"] for u in units], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"{res.get('radius_m', 0):,.0f} 米内居民占比 %")
    ax.legend(fontsize=8)


def _distance_chart(ax: Any, res: dict[str, Any]) -> None:
    bins = res.get("distance_histogram") or []
    labels = [f"{b['from_m']:,.0f}–{b['to_m']:,.0f}" if b["to_m"] is not None else f"≥{b['from_m']:,.0f}"
              for b in bins]
    ax.bar(labels, [b["population"] / 10_000 for b in bins], color="#1565C0")
    ax.set_xlabel("到最近设施的直线距离（米）")
    ax.set_ylabel("居民（万人）")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)


# --------------------------------------------------------------------------- HTML map
def run_map(run: CoverageRun, units: UnitTable | None, asset_base_url: str | None = None) -> Any:
    """The folium map of a run (choropleth, hot spots, circles, facilities, sites) from its stored results."""
    return result_map(main_results(run), run.results.get("facilities") or [], run.kind, run.analysis, units,
                      asset_base_url)


def result_map(res: dict[str, Any], facility_rows: list[list[Any]], kind: str, analysis: str,
               units: UnitTable | None, asset_base_url: str | None = None) -> Any:
    """The coverage map of a result dict (live or stored).

    Parameters
    ----------
    res : dict
        ``CoverageResult.to_dict()`` or ``SiteSelectionResult.to_dict()`` (or a stored run's results).
    facility_rows : list
        ``[id, name, lon, lat, capacity, status]`` per facility (negative ids: hypothetical).
    analysis : str
        ``coverage``, ``whatif`` or ``site_selection``.
    """
    from maps import base_map
    from maps.coverage import coverage_map

    m = base_map(asset_base_url=asset_base_url) if asset_base_url else base_map()
    facilities = gpd.GeoDataFrame(
        {"id": [r[0] for r in facility_rows], "kind": kind, "name": [r[1] for r in facility_rows],
         "capacity": [r[4] for r in facility_rows], "status": [r[5] for r in facility_rows],
         "hypothetical": [r[0] < 0 for r in facility_rows]},
        geometry=shapely.points([[r[2], r[3]] for r in facility_rows]) if facility_rows else [], crs=4326)
    unit_gdf, value_column, value_label, tips = None, None, None, None
    if units is not None and units.geoms is not None:
        unit_gdf, value_column, value_label, tips = unit_layer(res, units, analysis)
    site_mode = analysis == "site_selection"
    radii = [res["radius_m"]] if site_mode else list(res.get("radii_m") or [])
    hot, hot_r = None, None
    if res.get("hot_spots"):
        hot_r, fc = next(iter(res["hot_spots"].items()))
        hot = gpd.GeoDataFrame.from_features(fc["features"], crs=4326) if fc["features"] else None
        hot_r = float(hot_r)
    sites = None
    if site_mode and res["sites"]["features"]:
        sites = gpd.GeoDataFrame.from_features(res["sites"]["features"], crs=4326)
    m = coverage_map(unit_gdf, facilities, radii, m, value_column=value_column, value_label=value_label,
                     unit_tooltips=tips, hot_spots=hot, hot_spot_radius_m=hot_r, sites=sites,
                     site_radius_m=radii[0] if site_mode else None)
    focus = sites if sites is not None else (unit_gdf if unit_gdf is not None else None)
    if focus is not None and len(focus):
        minx, miny, maxx, maxy = focus.total_bounds
        pad = 0.02 if sites is not None else 0.0  # about 2 km around the chosen sites
        m.fit_bounds([[float(miny) - pad, float(minx) - pad], [float(maxy) + pad, float(maxx) + pad]])
    return m


def unit_layer(res: dict[str, Any], units: UnitTable, analysis: str = "coverage"
               ) -> tuple[gpd.GeoDataFrame, str | None, str | None, dict[str, str]]:
    """Census units with the headline figure of a result (for the choropleth) and tooltip columns."""
    figures = {u["code"]: u for u in res.get("units") or []}
    gdf = units.geodataframe()
    tips: dict[str, str] = {"population": "人口"}
    gdf["population"] = [figures.get(c, {}).get("population") for c in gdf["code"]]
    if analysis == "site_selection":
        gdf["share_after_pct"] = [_pct(figures.get(c, {}).get("share_after")) for c in gdf["code"]]
        gdf["share_before_pct"] = [_pct(figures.get(c, {}).get("share_before")) for c in gdf["code"]]
        tips["share_before_pct"] = "选址前覆盖率 %"
        return gdf, "share_after_pct", "选址后覆盖率 %", tips
    gdf["facilities"] = [figures.get(c, {}).get("facilities") for c in gdf["code"]]
    gdf["residents_per_facility"] = [figures.get(c, {}).get("residents_per_facility") for c in gdf["code"]]
    tips |= {"facilities": "设施数", "residents_per_facility": "每设施服务人口"}
    radii = res.get("radii_m") or []
    if radii and res["city"]["radii"] and res["city"]["radii"][0].get("covered_share") is not None:
        r = radii[0]
        gdf["covered_pct"] = [_pct((figures.get(c, {}).get("radii") or [{}])[0].get("covered_share"))
                              for c in gdf["code"]]
        return gdf, "covered_pct", f"{r:,.0f} 米内居民占比 %", tips
    return gdf, "residents_per_facility", "每设施服务人口", tips


def _pct(v: Any) -> float | None:
    return None if v is None else round(100 * float(v), 2)


def run_html(run: CoverageRun, units: UnitTable | None) -> str:
    """A standalone HTML map of the run (scripts and styles inlined; opens offline)."""
    from maps import standalone_html

    return standalone_html(run_map(run, units))
