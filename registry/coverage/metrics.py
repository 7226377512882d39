"""Coverage metrics: pure functions, numpy/GeoDataFrames in, DataFrames/GeoDataFrames out.

No database and no Flask here.  Distances are straight-line metres between
EPSG:4547 coordinates (see :mod:`registry.coverage.inputs`), found with a
KD-tree (:class:`scipy.spatial.cKDTree`); a cell is *covered* at radius R when
its nearest facility is at most R metres away (inclusive).

Metrics (per census unit and for the city):

* residents per facility and facilities per 100,000 residents, against the
  target of the kind's rule where one exists (MUS-1: ≤ 100,000 residents per
  museum) — :func:`residents_per_facility`;
* residents within R metres of the nearest facility, number and share —
  :func:`covered_population`;
* nearest-facility distance distribution (population-weighted median and 90th
  percentile, and per cell) — :func:`distance_distribution`;
* two-step floating catchment (2SFCA) capacity per resident — :func:`two_step_fca`;
* the uncovered cells ranked by population (hot spots) — :func:`hot_spots`.

:func:`compute_coverage` runs all of them and returns a :class:`CoverageResult`.

Examples
--------
Three cells and two kindergartens on a line (metres, EPSG:4547):

>>> import numpy as np
>>> from registry.coverage.inputs import FacilitySet, LayerInfo, PopulationGrid
>>> grid = PopulationGrid(np.array([[0, 0], [400, 0], [1000, 0]]), [100, 200, 300],
...                       ["A", "A", "B"], [1, 2, 3], LayerInfo("t", 2020, "test"))
>>> facs = FacilitySet([1, 2], np.array([[0, 100], [1000, 250]]), [30, 60], ["A", "B"])
>>> near = nearest_facility(grid.xy, facs.xy)
>>> near.distance_m.round(1).tolist()
[100.0, 412.3, 250.0]
>>> covered_population(grid.population, near.distance_m, 300)
(400.0, 0.6666666666666666)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from registry.coverage.inputs import (
    METRIC_CRS,
    FacilitySet,
    LayerInfo,
    PopulationGrid,
    UnitTable,
)

HISTOGRAM_EDGES_M = (0, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, math.inf)
"""Bins of the nearest-distance histogram (metres)."""


# --------------------------------------------------------------------------- nearest distances
@dataclass(frozen=True)
class Nearest:
    """Nearest facility of every cell.

    Attributes
    ----------
    distance_m : ndarray
        Straight-line metres to the nearest facility (``inf`` when there is none).
    index : ndarray of int
        Position of that facility in the facility arrays (``-1`` when there is none).
    """

    distance_m: np.ndarray
    index: np.ndarray


def nearest_facility(cell_xy: np.ndarray, facility_xy: np.ndarray, *, tree: cKDTree | None = None,
                     workers: int = -1) -> Nearest:
    """Distance from every cell to its nearest facility (KD-tree, EPSG:4547 metres).

    Parameters
    ----------
    cell_xy, facility_xy : ndarray, shape (n, 2) and (m, 2)
        Metric coordinates.
    tree : cKDTree, optional
        A tree already built over ``facility_xy``.
    workers : int, default -1
        Threads for the query (-1: all cores).
    """
    cell_xy = np.asarray(cell_xy, dtype=float).reshape(-1, 2)
    facility_xy = np.asarray(facility_xy, dtype=float).reshape(-1, 2)
    if len(facility_xy) == 0 or len(cell_xy) == 0:
        return Nearest(np.full(len(cell_xy), np.inf), np.full(len(cell_xy), -1, dtype=np.int64))
    tree = tree if tree is not None else cKDTree(facility_xy)
    dist, idx = tree.query(cell_xy, k=1, workers=workers)
    return Nearest(np.asarray(dist, dtype=float), np.asarray(idx, dtype=np.int64))


def covered_population(population: np.ndarray, distance_m: np.ndarray, radius_m: float) -> tuple[float, float | None]:
    """Residents whose nearest facility is within ``radius_m`` (inclusive), and their share.

    The share is ``None`` when there are no residents at all.
    """
    population = np.asarray(population, dtype=float)
    covered = float(population[np.asarray(distance_m) <= radius_m].sum())
    total = float(population.sum())
    return covered, (covered / total if total > 0 else None)


# --------------------------------------------------------------------------- distribution
def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | Sequence[float]
                      ) -> float | None | list[float | None]:
    """The smallest value ``v`` such that at least ``q`` of the total weight has value ≤ ``v``.

    ``q`` may be a sequence (one sort for all).  Returns ``None`` when the
    weights sum to zero, ``inf`` if that value is infinite.

    >>> weighted_quantile(np.array([100., 200, 300]), np.array([1., 1, 2]), 0.5)
    200.0
    >>> weighted_quantile(np.array([100., 200, 300]), np.array([1., 1, 2]), [0.5, 0.9])
    [200.0, 300.0]
    """
    qs = [q] if np.isscalar(q) else list(q)
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    keep = weights > 0
    if not keep.any():
        out: list[float | None] = [None] * len(qs)
    else:
        values, weights = values[keep], weights[keep]
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(weights[order])
        # Tolerate rounding in the cumulative sum.
        pos = np.searchsorted(cum, np.asarray(qs) * cum[-1] - 1e-9 * cum[-1], side="left")
        out = [float(values[order][min(int(p), len(order) - 1)]) for p in pos]
    return out[0] if np.isscalar(q) else out


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def distance_distribution(distance_m: np.ndarray, population: np.ndarray) -> dict[str, float | None]:
    """Nearest-facility distance statistics.

    Returns
    -------
    dict
        ``median_m`` and ``p90_m`` weighted by residents (half / 90 % of the
        residents live at most this far from a facility), ``mean_m`` (resident
        mean), and ``cell_median_m`` / ``cell_p90_m`` over populated cells
        unweighted.  ``None`` when undefined (no residents, or no facility).
    """
    distance_m = np.asarray(distance_m, dtype=float)
    population = np.asarray(population, dtype=float)
    populated = population > 0
    median, p90 = weighted_quantile(distance_m, population, [0.5, 0.9])
    out: dict[str, float | None] = {
        "median_m": _finite_or_none(median),
        "p90_m": _finite_or_none(p90),
        "mean_m": None,
        "cell_median_m": None,
        "cell_p90_m": None,
    }
    if populated.any() and np.isfinite(distance_m[populated]).all():
        out["mean_m"] = float(np.average(distance_m[populated], weights=population[populated]))
        out["cell_median_m"] = float(np.quantile(distance_m[populated], 0.5, method="inverted_cdf"))
        out["cell_p90_m"] = float(np.quantile(distance_m[populated], 0.9, method="inverted_cdf"))
    return out


def distance_histogram(distance_m: np.ndarray, population: np.ndarray,
                       edges: Sequence[float] = HISTOGRAM_EDGES_M) -> list[dict[str, float | None]]:
    """Residents per nearest-distance band ``[lo, hi)``; the last band is open (``hi = None``)."""
    distance_m = np.asarray(distance_m, dtype=float)
    population = np.asarray(population, dtype=float)
    bins = np.asarray(edges, dtype=float)
    idx = np.clip(np.searchsorted(bins, distance_m, side="right") - 1, 0, len(bins) - 2)
    sums = np.bincount(idx, weights=population, minlength=len(bins) - 1)
    return [{"from_m": float(bins[i]), "to_m": None if math.isinf(bins[i + 1]) else float(bins[i + 1]),
             "population": float(sums[i])} for i in range(len(bins) - 1)]


# --------------------------------------------------------------------------- per facility
def residents_per_facility(population: float | None, n_facilities: int,
                           max_residents: int | None = None) -> dict[str, Any]:
    """Residents per facility, facilities per 100,000 residents, and the target verdict.

    Parameters
    ----------
    population : float or None
        Residents of the area (``None``: unknown).
    n_facilities : int
        Facilities inside the area.
    max_residents : int, optional
        The rule's target "at most this many residents per facility" (MUS-1: 100,000).

    Returns
    -------
    dict
        ``residents_per_facility`` (``None`` without facility), ``per_100k``,
        ``target``, ``status`` (``meets`` / ``short`` / ``unknown`` / ``None``
        without target) and ``needed`` (more facilities to meet the target).

    >>> residents_per_facility(250_000, 2, 100_000)["status"]
    'short'
    >>> residents_per_facility(250_000, 2, 100_000)["needed"]
    1
    """
    known = population is not None and math.isfinite(population)
    rpf = population / n_facilities if known and n_facilities > 0 else None
    per_100k = n_facilities / population * 100_000 if known and population > 0 else None
    status: str | None = None
    needed: int | None = None
    if max_residents is not None:
        if not known:
            status = "unknown"
        else:
            required = math.ceil(population / max_residents) if population > 0 else 0
            needed = max(0, required - n_facilities)
            status = "meets" if needed == 0 else "short"
    return {"population": population if known else None, "facilities": int(n_facilities),
            "residents_per_facility": rpf, "per_100k": per_100k, "target": max_residents,
            "status": status, "needed": needed}


# --------------------------------------------------------------------------- 2SFCA
@dataclass(frozen=True)
class Access:
    """Two-step floating catchment result.

    Attributes
    ----------
    per_resident : ndarray
        Capacity reachable per resident of each cell (``A_i``).
    facility_ratio : ndarray
        Capacity per resident in each facility's catchment (``R_j``; ``NaN`` when
        the capacity is unknown or nobody lives in the catchment).
    n_capacity_unknown : int
        Facilities left out because their capacity is unknown (the ratios are
        then a lower bound).
    """

    per_resident: np.ndarray
    facility_ratio: np.ndarray
    n_capacity_unknown: int


def pairs_within(facility_xy: np.ndarray, cell_tree: cKDTree, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(facility index, cell index) of every pair at most ``radius_m`` apart."""
    if len(facility_xy) == 0 or cell_tree.n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    pairs = cKDTree(facility_xy).sparse_distance_matrix(cell_tree, radius_m, output_type="ndarray")
    return pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)


def two_step_fca(cell_xy: np.ndarray, population: np.ndarray, facility_xy: np.ndarray, capacity: np.ndarray,
                 radius_m: float, *, cell_tree: cKDTree | None = None) -> Access:
    """Two-step floating catchment area (Luo & Wang 2003) with a straight-line catchment.

    Step 1: for each facility ``j`` with known capacity ``S_j``,
    ``R_j = S_j / Σ_{k: d_kj ≤ r} P_k``.  Step 2: for each cell ``i``,
    ``A_i = Σ_{j: d_ij ≤ r} R_j``.  Facilities with unknown capacity are left
    out (counted in :attr:`Access.n_capacity_unknown`).

    >>> a = two_step_fca(np.array([[0., 0], [200, 0], [600, 0]]), np.array([100., 100, 50]),
    ...                  np.array([[100., 0], [600, 0]]), np.array([40., 10]), 300)
    >>> a.per_resident.tolist()
    [0.2, 0.2, 0.2]
    """
    cell_xy = np.asarray(cell_xy, dtype=float).reshape(-1, 2)
    population = np.asarray(population, dtype=float)
    capacity = np.asarray(capacity, dtype=float)
    known = np.isfinite(capacity)
    ratio = np.full(len(capacity), np.nan)
    access = np.zeros(len(cell_xy))
    if known.any() and len(cell_xy):
        tree = cell_tree if cell_tree is not None else cKDTree(cell_xy)
        fac_pos = np.flatnonzero(known)
        fi, ci = pairs_within(np.asarray(facility_xy, dtype=float)[fac_pos], tree, radius_m)
        demand = np.bincount(fi, weights=population[ci], minlength=len(fac_pos))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(demand > 0, capacity[fac_pos] / demand, np.nan)
        ratio[fac_pos] = r
        contrib = np.nan_to_num(r[fi], nan=0.0)
        access = np.bincount(ci, weights=contrib, minlength=len(cell_xy))
    return Access(access, ratio, int((~known).sum()))


# --------------------------------------------------------------------------- hot spots
def cell_squares(xy: np.ndarray, cell_size_m: float) -> np.ndarray:
    """Square cells of ``cell_size_m`` around EPSG:4547 centres (shapely polygons, EPSG:4547)."""
    h = cell_size_m / 2.0
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return shapely.box(xy[:, 0] - h, xy[:, 1] - h, xy[:, 0] + h, xy[:, 1] + h)


def hot_spots(grid: PopulationGrid, distance_m: np.ndarray, radius_m: float, *, top: int | None = 200,
              unit_names: Mapping[str, str] | None = None) -> gpd.GeoDataFrame:
    """Populated cells farther than ``radius_m`` from every facility, most residents first.

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``rank``, ``cell_id``, ``population``, ``nearest_m`` (``None`` without
        facility), ``unit_code``, ``unit_name``; geometry is the cell square
        when the layer has a cell size, else the point.
    """
    distance_m = np.asarray(distance_m, dtype=float)
    uncovered = np.flatnonzero((distance_m > radius_m) & (grid.population > 0))
    if top is not None and len(uncovered) > top > 0:
        # The top-N populations (with every cell tied at the cut), then an exact order.
        cut = np.partition(grid.population[uncovered], len(uncovered) - top)[len(uncovered) - top]
        uncovered = uncovered[grid.population[uncovered] >= cut]
    order = uncovered[np.lexsort((grid.ids[uncovered], -grid.population[uncovered]))]
    if top is not None:
        order = order[:top]
    xy = grid.xy[order]
    size = grid.info.cell_size_m
    geoms = cell_squares(xy, size) if size else shapely.points(xy)
    names = unit_names or {}
    near = distance_m[order]
    frame = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "cell_id": grid.ids[order],
            "population": grid.population[order],
            "nearest_m": [None if not math.isfinite(d) else float(d) for d in near],
            "unit_code": grid.unit[order],
            "unit_name": [names.get(c, "") for c in grid.unit[order]],
        },
        geometry=gpd.GeoSeries(geoms, crs=METRIC_CRS),
    )
    return frame.to_crs(4326)


# --------------------------------------------------------------------------- orchestration
@dataclass
class CoverageResult:
    """Every metric of one analysis.

    Attributes
    ----------
    context : dict
        Parameters and provenance (kind, radii, layer, filters, as-of, rule basis).
    city : dict
        City-wide figures; ``radii`` holds one dict per radius.
    units : DataFrame
        One row per census unit; per-radius columns end in ``_<radius>``
        (``covered_share_300``).
    histogram : list of dict
        Residents per nearest-distance band.
    hot_spots : dict
        Radius -> GeoDataFrame of :func:`hot_spots`.
    distance_m : ndarray
        Nearest-facility distance of every cell (not serialised).
    access : dict
        Radius -> 2SFCA capacity per resident of every cell (not serialised).
    """

    context: dict[str, Any]
    city: dict[str, Any]
    units: pd.DataFrame
    histogram: list[dict[str, Any]]
    hot_spots: dict[float, gpd.GeoDataFrame] = field(default_factory=dict)
    distance_m: np.ndarray = field(default_factory=lambda: np.empty(0))
    access: dict[float, np.ndarray] = field(default_factory=dict)

    @property
    def radii(self) -> list[float]:
        return list(self.context.get("radii_m", []))

    def to_dict(self, hot_spot_limit: int | None = 100) -> dict[str, Any]:
        """JSON-ready dict (hot spots as GeoJSON feature collections)."""
        return {
            **self.context,
            "city": _jsonable(self.city),
            "units": [_jsonable(row) for row in units_records(self.units, self.radii)],
            "distance_histogram": self.histogram,
            "hot_spots": {
                _radius_key(r): _feature_collection(g if hot_spot_limit is None else g.head(hot_spot_limit))
                for r, g in self.hot_spots.items()
            },
        }


def _radius_key(r: float) -> str:
    return f"{r:g}"


def units_records(units: pd.DataFrame, radii: Sequence[float]) -> list[dict[str, Any]]:
    """Per-unit rows with the per-radius columns nested under ``radii``."""
    suffixes = [f"_{_radius_key(r)}" for r in radii]
    out = []
    for row in units.to_dict(orient="records"):
        flat = {k: v for k, v in row.items() if not any(k.endswith(s) for s in suffixes)}
        flat["radii"] = [
            {"radius_m": float(r), **{k[: -len(s)]: v for k, v in row.items() if k.endswith(s)}}
            for r, s in zip(radii, suffixes)
        ]
        out.append(flat)
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if obj is pd.NA:
        return None
    return obj


def _feature_collection(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    features = []
    for row, geom in zip(gdf.drop(columns=gdf.geometry.name).to_dict(orient="records"), gdf.geometry.values):
        features.append({"type": "Feature", "properties": _jsonable(row),
                         "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-7))})
    return {"type": "FeatureCollection", "features": features}


def describe(info: LayerInfo, radii: Sequence[float]) -> dict[str, str]:
    """Which layer and which radii produced a result, in Chinese and English."""
    modelled_zh = "模型推算，非实测" if info.is_modelled else "实测/导入"
    modelled_en = "modelled, not observed" if info.is_modelled else "observed/imported"
    if radii:
        r_zh = "、".join(f"{r:,.0f} 米" for r in radii) + "（直线距离，EPSG:4547）"
        r_en = ", ".join(f"{r:,.0f} m" for r in radii) + " (straight line, EPSG:4547)"
    else:
        r_zh, r_en = "无（仅按人口）", "none (by population only)"
    return {
        "zh": f"人口图层 {info.name}（{info.year}年，{modelled_zh}）；服务半径 {r_zh}",
        "en": f"Population layer {info.name} ({info.year}, {modelled_en}); radius {r_en}",
    }


def compute_coverage(grid: PopulationGrid, facilities: FacilitySet, units: UnitTable, radii: Sequence[float], *,
                     max_residents: int | None = None, with_capacity: bool = False,
                     nearest: Nearest | None = None, hot_spot_limit: int | None = 200,
                     context: Mapping[str, Any] | None = None) -> CoverageResult:
    """Compute every coverage metric for one kind, per census unit and for the city.

    Parameters
    ----------
    grid : PopulationGrid
        Demand.  A layer with ``geometry_kind == "units"`` (census totals)
        has no cells: then only the per-facility figures are computed and the
        radius figures are ``None`` (unknown).
    facilities : FacilitySet
        Supply (all of them serve residents, wherever they are; residents per
        facility counts those inside each unit).
    units : UnitTable
        Census units; their ``census_population`` is used when ``grid`` has no cells.
    radii : sequence of float
        Service radii in metres (may be empty: by population only).
    max_residents : int, optional
        Target residents per facility (MUS-1).
    with_capacity : bool
        Compute 2SFCA (the kind has a capacity field).
    nearest : Nearest, optional
        Precomputed nearest distances for ``grid`` and ``facilities`` (cache).
    hot_spot_limit : int or None
        Hot spots kept per radius.
    context : mapping, optional
        Parameters copied into the result (kind, filters, as-of...).
    """
    radii = sorted({float(r) for r in radii})
    for r in radii:
        if not math.isfinite(r) or r <= 0:
            raise ValueError(f"radius must be a positive number of metres, not {r!r}")
    has_cells = grid.info.has_cells and len(grid) > 0
    if has_cells and nearest is None:
        nearest = nearest_facility(grid.xy, facilities.xy)
    dist = nearest.distance_m if has_cells and nearest is not None else np.empty(0)
    access = {r: two_step_fca(grid.xy, grid.population, facilities.xy, facilities.capacity, r,
                              cell_tree=grid.tree)
              for r in radii} if with_capacity and has_cells else {}

    codes = units.frame["code"].to_numpy(dtype=object)
    city_pop = grid.total if has_cells else float(np.nansum(units.frame["census_population"].to_numpy(float)))
    in_city = facilities.unit != ""
    city = residents_per_facility(city_pop, int(in_city.sum()), max_residents)
    city["facilities_outside_units"] = int((~in_city).sum())
    city["capacity_total"] = float(np.nansum(facilities.capacity[in_city])) if with_capacity else None
    city["capacity_unknown"] = int((~np.isfinite(facilities.capacity[in_city])).sum()) if with_capacity else None
    if has_cells:
        cells = _UnitAggregates(grid, dist, codes)
        city["distance"] = cells.distribution(None)
        city["radii"] = [cells.radius_figures(None, r, access.get(r)) for r in radii]
    else:
        cells = None
        city["distance"] = _no_distance()
        city["radii"] = [_no_radius_figures(r) for r in radii]

    rows = []
    for k, (code, name, utype, census_pop) in enumerate(units.frame[
            ["code", "name", "unit_type", "census_population"]].itertuples(index=False)):
        population = cells.population[k] if cells is not None else (None if pd.isna(census_pop) else float(census_pop))
        fac_in = facilities.unit == code
        row: dict[str, Any] = {"code": code, "name": name, "unit_type": utype}
        row |= residents_per_facility(population, int(fac_in.sum()), max_residents)
        row["capacity_total"] = float(np.nansum(facilities.capacity[fac_in])) if with_capacity else None
        dd = cells.distribution(k) if cells is not None else _no_distance()
        row["median_m"], row["p90_m"] = dd["median_m"], dd["p90_m"]
        for r in radii:
            fig = cells.radius_figures(k, r, access.get(r)) if cells is not None else _no_radius_figures(r)
            row |= {f"{key}_{_radius_key(r)}": v for key, v in fig.items() if key != "radius_m"}
        rows.append(row)

    unit_names = dict(zip(units.frame["code"], units.frame["name"]))
    spots = {r: hot_spots(grid, dist, r, top=hot_spot_limit, unit_names=unit_names) for r in radii} \
        if has_cells else {}
    ctx = dict(context or {})
    ctx["radii_m"] = radii
    ctx["layer"] = grid.info.to_dict() | {"n_cells": len(grid) if has_cells else 0,
                                          "total_population": city_pop}
    ctx["provenance"] = describe(grid.info, radii)
    return CoverageResult(
        context=ctx, city=city, units=pd.DataFrame(rows),
        histogram=distance_histogram(dist, grid.population) if has_cells else [],
        hot_spots=spots, distance_m=dist,
        access={r: a.per_resident for r, a in access.items()},
    )


def _no_distance() -> dict[str, None]:
    return {"median_m": None, "p90_m": None, "mean_m": None, "cell_median_m": None, "cell_p90_m": None}


def _no_radius_figures(radius: float) -> dict[str, Any]:
    return {"radius_m": radius, "covered_population": None, "covered_share": None,
            "uncovered_population": None, "access_per_1000": None, "no_access_share": None}


class _UnitAggregates:
    """Per-unit sums by ``bincount`` and quantiles from one sort (fast on a million cells).

    Unit ``k`` is the k-th row of the unit table; ``None`` means the whole city
    (every cell, including cells outside every unit).
    """

    def __init__(self, grid: PopulationGrid, dist: np.ndarray, codes: np.ndarray) -> None:
        self.pop = grid.population
        self.dist = dist
        grid_codes, grid_index = grid.unit_index
        lookup = {c: i for i, c in enumerate(codes)}
        remap = np.array([lookup.get(c, len(codes)) for c in grid_codes], dtype=np.int64)
        self.k = remap[grid_index] if len(grid_index) else np.empty(0, dtype=np.int64)  # len(codes) = outside
        self.n = len(codes) + 1
        self.population = np.bincount(self.k, weights=self.pop, minlength=self.n)
        self.order = np.argsort(dist)
        # Group by unit, keeping the distance order inside each unit (radix sort on small ints).
        k_sorted = self.k[self.order].astype(np.int16 if self.n < 32000 else np.int64)
        self.grouped = self.order[np.argsort(k_sorted, kind="stable")]
        counts = np.bincount(self.k, minlength=self.n)
        self.bounds = np.concatenate([[0], np.cumsum(counts)])

        self._cache: dict[tuple[str, float], np.ndarray] = {}

    def _by_unit(self, key: tuple[str, float], weights: Any) -> np.ndarray:
        """Sums per unit (last entry: outside every unit), computed once per key."""
        if key not in self._cache:
            self._cache[key] = np.bincount(self.k, weights=weights(), minlength=self.n)
        return self._cache[key]

    def _pick(self, sums: np.ndarray, k: int | None) -> float:
        return float(sums.sum()) if k is None else float(sums[k])

    def distribution(self, k: int | None) -> dict[str, float | None]:
        idx = self.order if k is None else self.grouped[self.bounds[k]:self.bounds[k + 1]]
        d, w = self.dist[idx], self.pop[idx]
        out = _no_distance()
        populated = w > 0
        if not populated.any():
            return out
        cum = np.cumsum(w)
        pos = np.searchsorted(cum, np.array([0.5, 0.9]) * cum[-1] * (1 - 1e-12), side="left")
        median, p90 = (float(d[min(int(p), len(d) - 1)]) for p in pos)
        out["median_m"], out["p90_m"] = _finite_or_none(median), _finite_or_none(p90)
        dp = d[populated]
        if np.isfinite(dp).all():
            out["mean_m"] = float(np.average(dp, weights=w[populated]))
            m = len(dp)
            out["cell_median_m"] = float(dp[max(math.ceil(0.5 * m) - 1, 0)])
            out["cell_p90_m"] = float(dp[max(math.ceil(0.9 * m) - 1, 0)])
        return out

    def radius_figures(self, k: int | None, radius: float, access: Access | None) -> dict[str, Any]:
        total = float(self.pop.sum()) if k is None else float(self.population[k])
        covered = self._pick(self._by_unit(("covered", radius),
                                           lambda: np.where(self.dist <= radius, self.pop, 0.0)), k)
        out: dict[str, Any] = {"radius_m": radius, "covered_population": covered,
                               "covered_share": covered / total if total > 0 else None,
                               "uncovered_population": total - covered,
                               "access_per_1000": None, "no_access_share": None}
        if access is not None and total > 0:
            a = access.per_resident
            weighted = self._pick(self._by_unit(("access", radius), lambda: self.pop * a), k)
            none = self._pick(self._by_unit(("no_access", radius), lambda: np.where(a <= 0, self.pop, 0.0)), k)
            out["access_per_1000"] = weighted / total * 1000
            out["no_access_share"] = none / total
        return out
