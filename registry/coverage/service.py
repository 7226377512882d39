"""Coverage use cases: read layers and facilities from PostGIS, run the metrics.

Statements come from :mod:`registry.spatial` (section "coverage"); the numbers
come from :mod:`registry.coverage.metrics` and :mod:`registry.coverage.siting`.
Population grids and nearest-facility distances are cached in the process
(:mod:`registry.coverage.cache`): the first query on a layer reads its cells
once (binary ``COPY``), later queries only read the facilities (a few
thousand rows) and, when those changed, recompute distances with a KD-tree.

Framework-neutral: the web layer and the CLI call these functions with a
session and a request from :mod:`registry.coverage.params`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from registry import localtime
from registry.coverage import cache
from registry.coverage.inputs import (
    FacilitySet,
    LayerInfo,
    PopulationGrid,
    UnitTable,
    lonlat_to_metric,
)
from registry.coverage.layers import CENSUS_LAYER, census_layer_info
from registry.coverage.metrics import (
    CoverageResult,
    Nearest,
    compute_coverage,
    describe,
    nearest_facility,
)
from registry.coverage.params import (
    CoverageInputError,
    CoverageRequest,
    FacilityFilter,
    SiteRequest,
)
from registry.coverage.siting import (
    Progress,
    SiteSelectionResult,
    grid_candidates,
    select_sites,
)
from registry.coverage.standards import standard_for
from registry.coverage.whatif import Scenario, WhatIfResult, apply_scenario, compare
from registry.kinds import spec_for
from registry.spatial import (
    select_census_units,
    select_coverage_facilities,
    select_layer_cells_copy,
    select_population_layer,
    select_population_layers,
)

_COPY_DTYPE = np.dtype([
    ("nfields", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_lon", ">i4"), ("lon", ">f8"),
    ("l_lat", ">i4"), ("lat", ">f8"), ("l_pop", ">i4"), ("population", ">f8"), ("l_code", ">i4"),
    ("census_code", ">i4"),
])
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00"


# --------------------------------------------------------------------------- layers
def get_layers(session: Session) -> list[dict[str, Any]]:
    """Every population layer (and the census-totals layer) with cell count and total."""
    out = []
    for layer, n, total in session.execute(select_population_layers()):
        out.append(_layer_info(layer).to_dict() | {"n_cells": int(n), "total_population": float(total)})
    census = load_units(session).frame["census_population"]
    out.append(census_layer_info().to_dict() | {"n_cells": 0, "total_population": float(census.sum())})
    return out


def _layer_info(layer: Any) -> LayerInfo:
    return LayerInfo(name=layer.name, year=layer.year, source=layer.source, crs=layer.crs,
                     geometry_kind=layer.geometry_kind, cell_size_m=layer.cell_size_m,
                     is_modelled=bool(layer.is_modelled), description=layer.description or "", id=layer.id)


def _engine_key(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url)


def load_grid(session: Session, name: str) -> PopulationGrid:
    """The population layer ``name`` as a :class:`PopulationGrid` (cached per layer).

    ``census_2020`` gives an empty grid whose info says ``geometry_kind="units"``.

    Raises
    ------
    CoverageInputError
        If no layer has that name.
    """
    if name == CENSUS_LAYER:
        return PopulationGrid(np.empty((0, 2)), [], [], [], census_layer_info())
    layer = session.scalars(select_population_layer(name)).first()
    if layer is None:
        names = [row[0].name for row in session.execute(select_population_layers())] + [CENSUS_LAYER]
        raise CoverageInputError(f"unknown population layer {name!r}; available: {', '.join(names)}", "layer")
    key = (_engine_key(session), layer.id, layer.created_at.isoformat() if layer.created_at else "")

    def read() -> PopulationGrid:
        grid = _read_grid(session, layer)
        grid.cache_key = key  # type: ignore[attr-defined]
        return grid

    return cache.GRIDS.get_or_create(key, read)


def _read_grid(session: Session, layer: Any) -> PopulationGrid:
    stmt = select_layer_cells_copy(layer.id)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    raw = session.connection().connection.driver_connection
    buf = bytearray()
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy:
        for chunk in copy:
            buf += chunk
    data = _parse_copy(bytes(buf))
    # Census codes arrive as integers: index them as integers (fast), then name them.
    int_codes, index = np.unique(data["census_code"], return_inverse=True)
    names = np.array([str(c) if c > 0 else "" for c in int_codes], dtype=object)
    grid = PopulationGrid(lonlat_to_metric(data["lon"], data["lat"]), data["population"].astype(float),
                          names[index] if len(index) else np.empty(0, dtype=object),
                          data["id"].astype(np.int64), _layer_info(layer))
    grid.__dict__["unit_index"] = (names, index.astype(np.int64))  # same as the cached property would compute
    grid.tree  # noqa: B018 - build the KD-tree now, while the grid is being cached
    return grid


def _parse_copy(buf: bytes) -> np.ndarray:
    """Rows of a binary COPY of :func:`registry.spatial.select_layer_cells_copy` (fixed-width)."""
    if not buf.startswith(_COPY_HEADER):
        raise RuntimeError("unexpected COPY header")
    ext = int.from_bytes(buf[15:19], "big")
    body = buf[19 + ext:-2]  # trailer: int16 -1
    rows = np.frombuffer(body, dtype=_COPY_DTYPE)
    if len(rows) and not ((rows["nfields"] == 5).all() and (rows["l_id"] == 8).all() and (rows["l_pop"] == 8).all()
                          and (rows["l_lon"] == 8).all() and (rows["l_lat"] == 8).all()
                          and (rows["l_code"] == 4).all()):
        raise RuntimeError("unexpected COPY row layout")
    return rows


def load_units(session: Session) -> UnitTable:
    """The census units (15 in the shipped data) with 2020 population and polygons."""
    rows = session.execute(select_census_units()).all()
    frame = pd.DataFrame({"code": [r.code for r in rows], "name": [r.name for r in rows],
                          "unit_type": [r.unit_type for r in rows],
                          "census_population": [float(r.pop_2020) for r in rows]})
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.empty(0, dtype=object)
    return UnitTable(frame, np.asarray(geoms, dtype=object))


# --------------------------------------------------------------------------- facilities
def _created_before(as_of: dt.date | None) -> dt.datetime | None:
    if as_of is None:
        return None
    return localtime.start_of_next_day(as_of)


def load_facilities(session: Session, kind: str, filters: FacilityFilter, as_of: dt.date | None,
                    units: UnitTable) -> tuple[FacilitySet, gpd.GeoDataFrame]:
    """Facilities of ``kind`` matching ``filters``: the numeric set and a WGS-84 GeoDataFrame for maps."""
    spec = spec_for(kind)
    stmt = select_coverage_facilities(kind, filters.statuses, dict(filters.equals), spec.capacity_field,
                                      _created_before(as_of), filters.district)
    rows = session.execute(stmt).all()
    lon = np.array([r.lon for r in rows], dtype=float)
    lat = np.array([r.lat for r in rows], dtype=float)
    lonlat = np.column_stack([lon, lat]) if rows else np.empty((0, 2))
    codes = units.locate(lonlat)
    capacity = np.array([np.nan if r.capacity is None else r.capacity for r in rows], dtype=float)
    fset = FacilitySet(np.array([r.id for r in rows], dtype=np.int64), lonlat_to_metric(lon, lat), capacity, codes,
                       np.array([r.name for r in rows], dtype=object))
    return fset, facility_frame(fset, lonlat, kind, [r.status for r in rows])


def facility_frame(fset: FacilitySet, lonlat: np.ndarray, kind: str, statuses: list[Any]) -> gpd.GeoDataFrame:
    """Facilities as a WGS-84 GeoDataFrame (``id``, ``kind``, ``name``, ``status``, ``capacity``, ``unit_code``)."""
    return gpd.GeoDataFrame(
        {"id": fset.ids, "kind": kind, "name": fset.names, "status": statuses,
         "capacity": fset.capacity, "unit_code": fset.unit, "hypothetical": fset.ids < 0},
        geometry=shapely.points(lonlat) if len(lonlat) else [], crs=4326,
    )


def _scenario_frame(fset: FacilitySet, kind: str, base: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from registry.coverage.inputs import metric_to_lonlat

    status = dict(zip(base["id"], base["status"]))
    lonlat = metric_to_lonlat(fset.xy) if len(fset) else np.empty((0, 2))
    return facility_frame(fset, lonlat, kind, [status.get(i, "hypothetical") for i in fset.ids])


def _nearest(session: Session, grid: PopulationGrid, facilities: FacilitySet) -> Nearest:
    if not grid.info.has_cells:
        return Nearest(np.empty(0), np.empty(0, dtype=np.int64))
    key = (getattr(grid, "cache_key", None) or id(grid), facilities.fingerprint())
    return cache.NEAREST.get_or_create(key, lambda: nearest_facility(grid.xy, facilities.xy))


# --------------------------------------------------------------------------- coverage
@dataclass
class CoverageAnalysis:
    """A coverage result with what the maps need: facilities and unit polygons."""

    request: CoverageRequest
    result: CoverageResult
    facilities: gpd.GeoDataFrame
    units: UnitTable

    def to_dict(self, hot_spot_limit: int | None = 100) -> dict[str, Any]:
        return self.result.to_dict(hot_spot_limit)


def _context(kind: str, filters: FacilityFilter, as_of: dt.date, grid: PopulationGrid,
             facilities: FacilitySet, extra: dict[str, Any] | None = None,
             units: UnitTable | None = None) -> dict[str, Any]:
    spec = spec_for(kind)
    std = standard_for(kind)
    notes = []
    census = float(np.nansum(units.frame["census_population"].to_numpy(float))) if units is not None else 0.0
    if grid.info.has_cells and len(grid) and census > 0 and abs(grid.total / census - 1) > 0.05:
        share = 100 * grid.total / census
        notes.append({"zh": f"该图层人口为2020年普查总数的 {share:.0f}%（可能只覆盖部分区域或年份不同）；"
                            f"每设施服务人口仍计入各单元内的全部设施。",
                      "en": f"This layer holds {share:.0f}% of the 2020 census population (partial extent or "
                            f"another year); residents per facility still counts every facility in each unit."})
    if grid.info.is_modelled:
        notes.append({"zh": "人口为模型推算的合成分布，仅供演示，不能作为实际规划决策依据。",
                      "en": "The population is a modelled, synthetic distribution: for demonstration, "
                            "not for real planning decisions."})
    if not grid.info.has_cells:
        notes.append({"zh": "普查总数图层没有人口空间分布：覆盖率和距离指标为“未知”。",
                      "en": "The census-totals layer has no positions: coverage and distance figures are unknown."})
    unknown_cap = int((~np.isfinite(facilities.capacity)).sum()) if spec.capacity_field else 0
    if unknown_cap:
        notes.append({"zh": f"{unknown_cap} 个设施容量未知，未计入2SFCA供给（比值为下限）。",
                      "en": f"{unknown_cap} facilities have unknown capacity and are left out of the 2SFCA "
                            f"supply (ratios are a lower bound)."})
    notes.append({"zh": "设施属性为当前值（登记库不保存历史）；截止日期仅排除此后登记的设施。",
                  "en": "Facility attributes are current values (the registry keeps no history); the as-of date "
                        "only leaves out facilities recorded after it."})
    return {
        "kind": kind, "kind_label": {"zh": spec.zh, "en": spec.en},
        "filters": filters.to_dict(), "filters_text": filters.describe(), "as_of": as_of.isoformat(),
        "standard": {"rule_ids": list(std.rule_ids), "basis": {"zh": std.basis_zh, "en": std.basis_en},
                     "default_radii_m": list(std.radii_m),
                     "residents_per_facility_max": std.residents_per_facility_max},
        "capacity": {"field": spec.capacity_field, "unit": {"zh": std.capacity_unit_zh, "en": std.capacity_unit_en}}
        if spec.capacity_field else None,
        "computed_at": localtime.now().isoformat(timespec="seconds"),
        "n_facilities": len(facilities),
        "notes": notes,
        **(extra or {}),
    }


def get_coverage(session: Session, request: CoverageRequest, scenario: Scenario | None = None) -> CoverageAnalysis:
    """Run a coverage analysis (optionally with a what-if scenario applied)."""
    units = load_units(session)
    grid = load_grid(session, request.layer)
    facilities, frame = load_facilities(session, request.kind, request.filters, request.as_of, units)
    if scenario is not None and not scenario.empty:
        facilities = apply_scenario(facilities, scenario, units)
        frame = _scenario_frame(facilities, request.kind, frame)
    return _analyse(session, request, grid, units, facilities, frame,
                    {"scenario": scenario.to_dict()} if scenario is not None and not scenario.empty else None)


def _analyse(session: Session, request: CoverageRequest, grid: PopulationGrid, units: UnitTable,
             facilities: FacilitySet, frame: gpd.GeoDataFrame, extra: dict[str, Any] | None) -> CoverageAnalysis:
    spec = spec_for(request.kind)
    std = standard_for(request.kind)
    result = compute_coverage(
        grid, facilities, units, request.radii, max_residents=std.residents_per_facility_max,
        with_capacity=spec.capacity_field is not None, nearest=_nearest(session, grid, facilities),
        hot_spot_limit=request.hot_spots,
        context=_context(request.kind, request.filters, request.as_of_date, grid, facilities, extra, units),
    )
    return CoverageAnalysis(request, result, frame, units)


@dataclass
class WhatIfAnalysis:
    """Before/after of a scenario with the facility layers of both."""

    request: CoverageRequest
    result: WhatIfResult
    before: CoverageAnalysis
    after: CoverageAnalysis

    def to_dict(self, hot_spot_limit: int | None = 100) -> dict[str, Any]:
        return self.result.to_dict(hot_spot_limit)


def get_whatif(session: Session, request: CoverageRequest, scenario: Scenario) -> WhatIfAnalysis:
    """Coverage before and after adding/removing hypothetical sites (nothing is saved)."""
    if scenario.empty:
        raise CoverageInputError("a what-if needs sites to add or facilities to remove", "add")
    units = load_units(session)
    grid = load_grid(session, request.layer)
    facilities, frame = load_facilities(session, request.kind, request.filters, request.as_of, units)
    before = _analyse(session, request, grid, units, facilities, frame, None)
    changed = apply_scenario(facilities, scenario, units)
    after = _analyse(session, request, grid, units, changed, _scenario_frame(changed, request.kind, frame),
                     {"scenario": scenario.to_dict()})
    return WhatIfAnalysis(request, WhatIfResult(scenario, before.result, after.result,
                                                compare(before.result, after.result)), before, after)


# --------------------------------------------------------------------------- site selection
@dataclass
class SiteAnalysis:
    """A site-selection result with the existing facilities and unit polygons for maps."""

    request: SiteRequest
    result: SiteSelectionResult
    facilities: gpd.GeoDataFrame
    units: UnitTable
    hot_spots: gpd.GeoDataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()


def get_site_selection(session: Session, request: SiteRequest, progress: Progress | None = None) -> SiteAnalysis:
    """Choose ``k`` new sites covering the most residents left uncovered by the existing ones."""
    units = load_units(session)
    if progress:
        progress("population layer", 0, 1)
    grid = load_grid(session, request.layer)
    if not grid.info.has_cells or not len(grid):
        raise CoverageInputError("site selection needs a gridded or point population layer, not census totals",
                                 "layer")
    facilities, frame = load_facilities(session, request.kind, request.filters, request.as_of, units)
    near = _nearest(session, grid, facilities)
    covered = near.distance_m <= request.radius_m
    cands = request.candidates
    if cands.type == "grid":
        cand_xy = grid_candidates(grid.xy, grid.population, covered, cands.spacing_m, request.radius_m)
        names = None
    else:
        lonlat = np.asarray(cands.lonlat, dtype=float).reshape(-1, 2)
        cand_xy = lonlat_to_metric(lonlat[:, 0], lonlat[:, 1])
        names = np.asarray(cands.names, dtype=object)
    if not len(cand_xy):
        raise CoverageInputError("no candidate site reaches an uncovered resident", "candidates")
    extra = {"layer": grid.info.to_dict() | {"n_cells": len(grid), "total_population": grid.total},
             "candidates": {"type": cands.type, "spacing_m": cands.spacing_m if cands.type == "grid" else None,
                            "n": len(cand_xy)}}
    context = _context(request.kind, request.filters, request.as_of_date, grid, facilities, extra, units)
    context["provenance"] = describe(grid.info, [request.radius_m])
    result = select_sites(grid, near.distance_m, cand_xy, request.radius_m, request.k, units=units,
                          solver=request.solver, capacity=request.capacity, candidate_names=names,
                          time_limit=request.time_limit_s, progress=progress, context=context)
    return SiteAnalysis(request, result, frame, units)
