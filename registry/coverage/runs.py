"""Saved analysis runs: store parameters and results, re-open, re-run and compare them.

A run keeps (table ``coverage_run``):

* ``params`` — everything needed to run the analysis again: kind, filters,
  radii, population layer, as-of date, solver, candidates, scenario;
* ``results`` — the figures as computed then (city, census units, distance
  histogram, hot spots, chosen sites) and the facilities that took part, so a
  run can be shown, exported and compared without recomputing; a re-run
  (:func:`rerun`) computes afresh from ``params`` against today's data.

Saving will later be restricted to the analyst role; it is open for now.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.coverage.params import CoverageRequest, SiteRequest
from registry.coverage.service import (
    CoverageAnalysis,
    SiteAnalysis,
    WhatIfAnalysis,
    get_coverage,
    get_site_selection,
    get_whatif,
)
from registry.coverage.whatif import parse_scenario
from registry.models import PG_INTEGER_MAX, CoverageRun

ANALYSES = ("coverage", "whatif", "site_selection")
HOT_SPOTS_KEPT = 200


class RunNotFound(LookupError):
    """No saved run with that id."""


def facility_rows(frame: Any) -> list[list[Any]]:
    """Compact facility list: ``[id, name, lon, lat, capacity, status]``."""
    rows = []
    for fid, name, status, cap, geom in zip(frame["id"], frame["name"], frame["status"], frame["capacity"],
                                            frame.geometry.values):
        rows.append([int(fid), str(name), round(geom.x, 7), round(geom.y, 7),
                     None if cap is None or (isinstance(cap, float) and math.isnan(cap)) else float(cap),
                     None if status is None else str(status)])
    return rows


def _save(session: Session, analysis: str, kind: str, params: dict[str, Any], results: dict[str, Any],
          layer: dict[str, Any], radii: list[float], as_of: str, solver: str | None, title: str | None,
          created_by: str | None) -> CoverageRun:
    run = CoverageRun(analysis=analysis, kind=kind, title=(title or "").strip()[:200] or None,
                      layer_name=layer.get("name") or params.get("layer"), layer_id=layer.get("id"),
                      radii_m=[float(r) for r in radii], as_of=dt.date.fromisoformat(as_of), solver=solver,
                      params=params, results=results, created_by=created_by)
    session.add(run)
    session.flush()
    return run


def save_coverage(session: Session, analysis: CoverageAnalysis, *, title: str | None = None,
                  created_by: str | None = None) -> CoverageRun:
    """Save a coverage analysis (caller commits)."""
    params = analysis.request.to_params()
    results = analysis.to_dict(HOT_SPOTS_KEPT) | {"facilities": facility_rows(analysis.facilities)}
    return _save(session, "coverage", analysis.request.kind, params, results, results["layer"],
                 results["radii_m"], params["as_of"], None, title, created_by)


def save_whatif(session: Session, analysis: WhatIfAnalysis, *, title: str | None = None,
                created_by: str | None = None) -> CoverageRun:
    """Save a what-if analysis (parameters include the scenario)."""
    params = analysis.request.to_params() | {"scenario": analysis.result.scenario.to_dict()}
    results = analysis.to_dict(HOT_SPOTS_KEPT) | {"facilities": facility_rows(analysis.after.facilities)}
    after = results["after"]
    return _save(session, "whatif", analysis.request.kind, params, results, after["layer"], after["radii_m"],
                 params["as_of"], None, title, created_by)


def save_site_selection(session: Session, analysis: SiteAnalysis, *, title: str | None = None,
                        created_by: str | None = None) -> CoverageRun:
    """Save a site-selection analysis."""
    params = analysis.request.to_params()
    results = analysis.to_dict() | {"facilities": facility_rows(analysis.facilities)}
    return _save(session, "site_selection", analysis.request.kind, params, results, results["layer"],
                 [analysis.request.radius_m], params["as_of"], analysis.request.solver, title, created_by)


def list_runs(session: Session, kind: str | None = None, analysis: str | None = None,
              limit: int = 100) -> list[CoverageRun]:
    """Saved runs, newest first."""
    stmt = select(CoverageRun).order_by(CoverageRun.created_at.desc(), CoverageRun.id.desc()).limit(limit)
    if kind:
        stmt = stmt.where(CoverageRun.kind == kind)
    if analysis:
        stmt = stmt.where(CoverageRun.analysis == analysis)
    return list(session.scalars(stmt))


def get_run(session: Session, run_id: int) -> CoverageRun:
    """The run ``run_id``; raises :class:`RunNotFound`."""
    run = session.get(CoverageRun, int(run_id)) if 0 < int(run_id) <= PG_INTEGER_MAX else None
    if run is None:
        raise RunNotFound(f"no saved analysis with id {run_id}")
    return run


def rerun(session: Session, run: CoverageRun) -> CoverageAnalysis | WhatIfAnalysis | SiteAnalysis:
    """Run a saved analysis again with its parameters, against the current data."""
    if run.analysis == "site_selection":
        return get_site_selection(session, SiteRequest.from_params(run.params))
    request = CoverageRequest.from_params(run.params)
    if run.analysis == "whatif":
        sc = run.params.get("scenario") or {}
        return get_whatif(session, request, parse_scenario(sc.get("add"), sc.get("remove")))
    return get_coverage(session, request)


# --------------------------------------------------------------------------- reading results
def main_results(run: CoverageRun) -> dict[str, Any]:
    """The coverage result of a run (the *after* side of a what-if)."""
    return run.results["after"] if run.analysis == "whatif" else run.results


def run_summary(run: CoverageRun) -> dict[str, Any]:
    """One line per run for lists: ids, parameters and the headline figure."""
    res = main_results(run)
    headline: dict[str, Any] = {}
    if run.analysis == "site_selection":
        headline = {"share_before": res["city"].get("share_before"), "share_after": res["city"].get("share_after"),
                    "newly_covered": res["city"].get("newly_covered")}
    else:
        city = res["city"]
        headline = {"residents_per_facility": city.get("residents_per_facility"),
                    "facilities": city.get("facilities")}
        if city.get("radii"):
            headline["covered_share"] = city["radii"][0].get("covered_share")
    return {"id": run.id, "analysis": run.analysis, "kind": run.kind, "title": run.title,
            "layer": run.layer_name, "layer_modelled": bool((res.get("layer") or {}).get("is_modelled")),
            "radius_m": list(run.radii_m or []), "as_of": run.as_of.isoformat(), "solver": run.solver,
            "created_at": run.created_at.isoformat() if run.created_at else None, "created_by": run.created_by,
            "filters": run.params.get("filters"), "headline": headline}


def city_figures(run: CoverageRun) -> dict[str, float | None]:
    """Flat ``{figure: value}`` of the city results (per-radius figures suffixed ``@<radius>``)."""
    res = main_results(run)
    city = res["city"]
    if run.analysis == "site_selection":
        keys = ("population", "covered_before", "covered_after", "share_before", "share_after", "newly_covered")
        return {k: city.get(k) for k in keys}
    out: dict[str, float | None] = {k: city.get(k) for k in ("population", "facilities", "residents_per_facility",
                                                             "per_100k", "needed", "capacity_total")}
    out["median_m"] = (city.get("distance") or {}).get("median_m")
    out["p90_m"] = (city.get("distance") or {}).get("p90_m")
    for r in city.get("radii") or []:
        for key in ("covered_population", "covered_share", "access_per_1000"):
            out[f"{key}@{r['radius_m']:g}"] = r.get(key)
    return out


def unit_figures(run: CoverageRun) -> dict[str, dict[str, Any]]:
    """Per census unit ``{code: {name, figure: value}}`` like :func:`city_figures`."""
    res = main_results(run)
    out: dict[str, dict[str, Any]] = {}
    for u in res.get("units") or []:
        if run.analysis == "site_selection":
            row = {k: u.get(k) for k in ("population", "share_before", "share_after", "newly_covered")}
        else:
            row = {k: u.get(k) for k in ("population", "facilities", "residents_per_facility", "per_100k",
                                         "median_m", "p90_m")}
            for r in u.get("radii") or []:
                row[f"covered_share@{r['radius_m']:g}"] = r.get("covered_share")
                row[f"access_per_1000@{r['radius_m']:g}"] = r.get("access_per_1000")
        out[u["code"]] = {"name": u.get("name"), **row}
    return out


def _diff(a: Any, b: Any) -> float | None:
    numbers = isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
    if numbers and np.isfinite(a) and np.isfinite(b):
        return float(b) - float(a)
    return None


def compare_runs(a: CoverageRun, b: CoverageRun) -> dict[str, Any]:
    """Two runs side by side: parameters that differ, city figures and per-unit figures with ``b - a``."""
    pa, pb = a.params, b.params
    params = [{"name": k, "a": pa.get(k), "b": pb.get(k)} for k in sorted(set(pa) | set(pb))
              if pa.get(k) != pb.get(k)]
    ca, cb = city_figures(a), city_figures(b)
    city = [{"figure": k, "a": ca.get(k), "b": cb.get(k), "delta": _diff(ca.get(k), cb.get(k))}
            for k in list(dict.fromkeys([*ca, *cb]))]
    ua, ub = unit_figures(a), unit_figures(b)
    units = []
    for code in list(dict.fromkeys([*ua, *ub])):
        ra, rb = ua.get(code, {}), ub.get(code, {})
        figures = [k for k in dict.fromkeys([*ra, *rb]) if k != "name"]
        units.append({"code": code, "name": ra.get("name") or rb.get("name"),
                      "figures": {k: {"a": ra.get(k), "b": rb.get(k), "delta": _diff(ra.get(k), rb.get(k))}
                                  for k in figures}})
    return {"a": run_summary(a), "b": run_summary(b), "params_differ": params, "city": city, "units": units,
            "same_kind": a.kind == b.kind}
