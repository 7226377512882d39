"""Site selection: the maximal covering location problem (MCLP), greedy and exact.

Given the existing sites (kept), candidate sites and a radius, choose ``k``
candidates that cover the most residents not yet within the radius of an
existing site (Church & ReVelle 1974).  Optional capacity: each new site
serves at most ``capacity`` residents (residents are then split between sites).

* :func:`greedy` — lazy greedy (CELF) on a sparse candidate × cell coverage
  structure; fast for a million cells and tens of thousands of candidates.
  Coverage is submodular, so besides the classic (1 - 1/e) guarantee every
  run reports a data-dependent upper bound on the optimum (the value of the
  chosen set plus the ``k`` largest marginal gains left, Minoux 1978;
  Leskovec et al. 2007) and hence a proven optimality gap.
* :func:`exact` — a mixed-integer programme solved by CBC through PuLP,
  for moderate sizes; reports the optimality gap against the solver's proof or
  an LP-relaxation bound when stopped by the time limit.

Everything works on EPSG:4547 metres.

Examples
--------
Two cells of 100 residents 600 m apart, one candidate between them and one on each:

>>> import numpy as np
>>> p = build_problem(np.array([[0., 0], [600, 0]]), np.array([100., 100]), np.zeros(2, bool),
...                   np.array([[300., 0], [0, 0], [600, 0]]), 300)
>>> greedy(p, 1).value
200.0
>>> exact(p, 1).value
200.0
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from registry.coverage.params import CoverageInputError

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``."""

EXACT_MAX_CANDIDATES = 20_000
EXACT_MAX_PAIRS = 400_000


@dataclass(eq=False)
class CoverageProblem:
    """An MCLP instance over the demand that existing sites leave uncovered.

    Attributes
    ----------
    demand_index : ndarray of int
        Positions (in the caller's cell arrays) of the demand cells that at
        least one candidate reaches.
    weights : ndarray
        Residents of those cells.
    candidates_xy : ndarray, shape (m, 2)
        Candidate positions (EPSG:4547).
    indptr, indices, distance : ndarray
        CSR structure: the cells (positions in ``weights``) within the radius of
        candidate ``j`` are ``indices[indptr[j]:indptr[j+1]]``, nearest first.
    capacity : ndarray or None
        Residents each candidate may serve (``None``: unlimited).
    radius_m : float
    covered_before : float
        Residents already within the radius of an existing site.
    total_population : float
        Residents of the whole layer.
    unreachable : float
        Uncovered residents no candidate reaches.
    """

    demand_index: np.ndarray
    weights: np.ndarray
    candidates_xy: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    distance: np.ndarray
    capacity: np.ndarray | None
    radius_m: float
    covered_before: float
    total_population: float
    unreachable: float

    @property
    def n_candidates(self) -> int:
        return len(self.candidates_xy)

    @property
    def n_pairs(self) -> int:
        return len(self.indices)

    def cells_of(self, j: int) -> np.ndarray:
        return self.indices[self.indptr[j]:self.indptr[j + 1]]

    @property
    def pair_candidate(self) -> np.ndarray:
        """Candidate of every pair (the row index of the CSR structure)."""
        return np.repeat(np.arange(self.n_candidates), np.diff(self.indptr))


def build_problem(cell_xy: np.ndarray, population: np.ndarray, covered: np.ndarray, candidates_xy: np.ndarray,
                  radius_m: float, capacity: float | np.ndarray | None = None,
                  cell_tree: cKDTree | None = None) -> CoverageProblem:
    """Set up the MCLP.

    Parameters
    ----------
    cell_xy, population : ndarray
        Demand cells (EPSG:4547) and residents.
    covered : ndarray of bool
        Cells already within the radius of an existing site.
    candidates_xy : ndarray, shape (m, 2)
        Candidate sites (EPSG:4547).
    radius_m : float
        Service radius.
    capacity : float or ndarray, optional
        Residents one new site may serve (scalar for all, or one per candidate).
    """
    cell_xy = np.asarray(cell_xy, dtype=float).reshape(-1, 2)
    population = np.asarray(population, dtype=float)
    covered = np.asarray(covered, dtype=bool)
    cand = np.asarray(candidates_xy, dtype=float).reshape(-1, 2)
    if not (math.isfinite(radius_m) and radius_m > 0):
        raise CoverageInputError("radius must be a positive number of metres", "radius")
    caps = None
    if capacity is not None:
        caps = np.broadcast_to(np.asarray(capacity, dtype=float), (len(cand),)).copy()
        if (~np.isfinite(caps)).any() or (caps < 0).any():
            raise CoverageInputError("capacity must be a number of residents ≥ 0", "capacity")
    todo = np.flatnonzero(~covered & (population > 0))
    covered_before = float(population[covered].sum())
    total = float(population.sum())
    if not len(todo) or not len(cand):
        empty = np.empty(0, dtype=np.int64)
        return CoverageProblem(empty, np.empty(0), cand, np.zeros(len(cand) + 1, dtype=np.int64), empty,
                               np.empty(0), caps, float(radius_m), covered_before, total,
                               float(population[todo].sum()))
    tree = cKDTree(cell_xy[todo]) if cell_tree is None else cell_tree
    pairs = cKDTree(cand).sparse_distance_matrix(tree, float(radius_m), output_type="ndarray")
    ci, di, dist = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), pairs["v"].astype(float)
    if cell_tree is not None:  # the tree indexes every cell: keep uncovered ones and renumber
        pos = np.full(len(cell_xy), -1, dtype=np.int64)
        pos[todo] = np.arange(len(todo))
        di = pos[di]
        keep = di >= 0
        ci, di, dist = ci[keep], di[keep], dist[keep]
    used, di = np.unique(di, return_inverse=True)
    order = np.lexsort((di, dist, ci))  # by candidate, then nearest first
    ci, di, dist = ci[order], di[order], dist[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(ci, minlength=len(cand)))]).astype(np.int64)
    weights = population[todo][used]
    return CoverageProblem(todo[used], weights, cand, indptr, di, dist, caps, float(radius_m), covered_before,
                           total, float(population[todo].sum() - weights.sum()))


# --------------------------------------------------------------------------- solutions
@dataclass
class Selection:
    """Chosen candidates and how good the choice is.

    Attributes
    ----------
    solver : str
        ``greedy`` or ``exact``.
    chosen : list of int
        Candidate positions, in the order they were picked (exact: ordered by
        marginal gain).
    gains : list of float
        Residents newly covered by each chosen site, given those before it.
    served : ndarray
        Residents newly covered per demand cell (positions of ``weights``).
    value : float
        Residents newly covered in total.
    upper_bound : float or None
        Proven upper bound on the optimum (``None`` when unknown).
    status : str
        ``optimal``, ``feasible`` (stopped early), ``heuristic``.
    seconds : float
        Solve time.
    """

    solver: str
    chosen: list[int]
    gains: list[float]
    served: np.ndarray
    value: float
    upper_bound: float | None
    status: str
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Proven relative optimality gap ``(bound - value) / bound``."""
        if self.upper_bound is None:
            return None
        if self.upper_bound <= 0:
            return 0.0
        return max(0.0, (self.upper_bound - self.value) / self.upper_bound)

    def summary(self) -> dict[str, Any]:
        return {"solver": self.solver, "status": self.status, "value": self.value,
                "upper_bound": self.upper_bound, "gap": self.gap, "seconds": self.seconds, **self.info}


def _assign(problem: CoverageProblem, j: int, residual: np.ndarray, cap: float) -> float:
    """Serve the cells of ``j`` nearest first, up to ``cap``; update ``residual``; return residents served."""
    cells = problem.cells_of(j)
    take = residual[cells]
    if not math.isfinite(cap):
        served = float(take.sum())
        residual[cells] = 0.0
        return served
    cum = np.cumsum(take)
    full = cum <= cap
    served_each = np.where(full, take, 0.0)
    first_partial = int(np.searchsorted(cum, cap, side="right"))
    if first_partial < len(cells):
        already = cum[first_partial - 1] if first_partial > 0 else 0.0
        served_each[first_partial] = max(0.0, cap - already)
    residual[cells] = take - served_each
    return float(served_each.sum())


def greedy(problem: CoverageProblem, k: int, progress: Progress | None = None) -> Selection:
    """Lazy greedy (CELF): repeatedly pick the candidate covering the most residents still uncovered.

    Marginal gains only fall as sites are added (submodularity), so a stale
    gain is an upper bound and most candidates are never re-evaluated.
    """
    if k < 1:
        raise CoverageInputError("k must be at least 1", "k")
    t0 = time.perf_counter()
    m = problem.n_candidates
    residual = problem.weights.copy()
    caps = problem.capacity if problem.capacity is not None else np.full(m, np.inf)
    pair_cand = problem.pair_candidate
    reach = np.bincount(pair_cand, weights=residual[problem.indices], minlength=m)
    first = np.minimum(reach, caps)
    heap = [(-float(g), int(j)) for j, g in enumerate(first) if g > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    evaluations = 0
    while heap and len(chosen) < k:
        _neg, j = heapq.heappop(heap)
        cells = problem.cells_of(j)
        gain = min(float(residual[cells].sum()), float(caps[j]))
        evaluations += 1
        if gain <= 0:
            continue
        if heap and gain < -heap[0][0] - 1e-9:
            heapq.heappush(heap, (-gain, j))
            continue
        served = _assign(problem, j, residual, float(caps[j]))
        chosen.append(j)
        gains.append(served)
        if progress:
            progress("greedy", len(chosen), k)
    value = float(sum(gains))
    bound = None
    if problem.capacity is None:
        # Submodular bounds: OPT <= f(S_0) + top-k gains at S_0, and <= f(S) + top-k gains at S.
        final = np.bincount(pair_cand, weights=residual[problem.indices], minlength=m)
        bound = min(_top_sum(first, k), value + _top_sum(final, k))
        bound = max(bound, value)
    served = problem.weights - residual
    return Selection("greedy", chosen, gains, served, value, bound,
                     "heuristic", time.perf_counter() - t0, {"evaluations": evaluations})


def _top_sum(values: np.ndarray, k: int) -> float:
    if not len(values):
        return 0.0
    if len(values) <= k:
        return float(values.sum())
    return float(np.partition(values, len(values) - k)[len(values) - k:].sum())


def exact(problem: CoverageProblem, k: int, *, time_limit: float = 60.0, progress: Progress | None = None,
          threads: int | None = None) -> Selection:
    """Solve the MCLP exactly with CBC (PuLP).

    Uncapacitated: ``max Σ w_i z_i`` s.t. ``z_i ≤ Σ_{j covers i} y_j``,
    ``Σ y_j ≤ k``, ``y`` binary, ``0 ≤ z ≤ 1``.  Capacitated: flows ``x_ji``
    with ``Σ_j x_ji ≤ w_i``, ``Σ_i x_ji ≤ cap_j y_j``, ``x_ji ≤ w_i y_j``.

    The gap is 0 when CBC proves optimality; when the time limit stops it, the
    bound is the LP relaxation's optimum.

    Raises
    ------
    CoverageInputError
        If the instance is too large for the exact solver.
    """
    import pulp

    if k < 1:
        raise CoverageInputError("k must be at least 1", "k")
    if problem.n_candidates > EXACT_MAX_CANDIDATES or problem.n_pairs > EXACT_MAX_PAIRS:
        raise CoverageInputError(
            f"the exact solver takes at most {EXACT_MAX_CANDIDATES:,} candidates and {EXACT_MAX_PAIRS:,} "
            f"candidate-cell pairs (this problem: {problem.n_candidates:,} and {problem.n_pairs:,}); "
            f"use the greedy solver, a coarser candidate grid or a smaller area", "solver")
    t0 = time.perf_counter()
    if progress:
        progress("exact: building the model", 0, 2)
    model, y, x = _mip(problem, k, integer=True)
    if progress:
        progress("exact: solving with CBC", 1, 2)
    model.solve(_cbc(timeLimit=max(1, int(time_limit)), gapRel=0.0, threads=threads))
    status = pulp.LpStatus[model.status]
    if status not in ("Optimal",) or model.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        if problem.weights.sum() == 0 or not problem.n_pairs:
            return Selection("exact", [], [], np.zeros(len(problem.weights)), 0.0, 0.0, "optimal",
                             time.perf_counter() - t0)
        raise CoverageInputError(f"the exact solver found no solution ({status}); raise the time limit", "solver")
    picked = [j for j, var in y.items() if (var.value() or 0) > 0.5]
    optimal = model.sol_status == pulp.LpSolutionOptimal
    if x is None:
        ordered, gains, served = _order_by_gain(problem, picked)
    else:  # the optimal flows say who is served by which site
        flows = np.array([max(0.0, v.value() or 0.0) for v in x])
        per_site = np.bincount(problem.pair_candidate, weights=flows, minlength=problem.n_candidates)
        ordered = sorted(picked, key=lambda j: (-per_site[j], j))
        gains = [float(per_site[j]) for j in ordered]
        served = np.bincount(problem.indices, weights=flows, minlength=len(problem.weights))
    value = float(sum(gains))
    bound = value if optimal else _lp_bound(problem, k)
    if progress:
        progress("exact: done", 2, 2)
    return Selection("exact", ordered, gains, served, value, max(bound, value), "optimal" if optimal else "feasible",
                     time.perf_counter() - t0, {"time_limit_s": time_limit})


def _mip(problem: CoverageProblem, k: int, integer: bool) -> tuple[Any, dict[int, Any], list[Any] | None]:
    import pulp

    model = pulp.LpProblem("mclp", pulp.LpMaximize)
    cat = pulp.LpBinary if integer else pulp.LpContinuous
    useful = np.flatnonzero(np.diff(problem.indptr) > 0)
    var = model.add_variable  # PuLP >= 3.3: variables belong to their model
    y = {int(j): var(f"y_{j}", 0, 1, cat) for j in useful}
    w = problem.weights
    cand_of_pair = problem.pair_candidate
    x = None
    if problem.capacity is None:
        z = [var(f"z_{i}", 0, 1) for i in range(len(w))]
        model += pulp.LpAffineExpression([(z[i], float(w[i])) for i in range(len(w))])
        by_cell = np.argsort(problem.indices, kind="stable")
        cells, starts = np.unique(problem.indices[by_cell], return_index=True)
        ends = np.append(starts[1:], len(by_cell))
        for cell, s, e in zip(cells, starts, ends):
            expr = pulp.LpAffineExpression([(y[int(cand_of_pair[p])], 1.0) for p in by_cell[s:e]] + [(z[cell], -1.0)])
            model += pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=0.0)
    else:
        x = [var(f"x_{p}", 0) for p in range(problem.n_pairs)]
        model += pulp.lpSum(x)
        by_cell = np.argsort(problem.indices, kind="stable")
        cells, starts = np.unique(problem.indices[by_cell], return_index=True)
        ends = np.append(starts[1:], len(by_cell))
        for cell, s, e in zip(cells, starts, ends):
            model += pulp.LpAffineExpression([(x[p], 1.0) for p in by_cell[s:e]]) <= float(w[cell])
        for j in useful:
            lo, hi = problem.indptr[j], problem.indptr[j + 1]
            model += pulp.LpAffineExpression([(x[p], 1.0) for p in range(lo, hi)] +
                                             [(y[int(j)], -float(problem.capacity[j]))]) <= 0
            for p in range(lo, hi):
                model += x[p] - float(w[problem.indices[p]]) * y[int(j)] <= 0
    model += pulp.lpSum(y.values()) <= int(k)
    return model, y, x


def _lp_bound(problem: CoverageProblem, k: int) -> float:
    import pulp

    model, _y, _x = _mip(problem, k, integer=False)
    model.solve(_cbc())
    return float(pulp.value(model.objective) or 0.0)


def _cbc(**options: Any) -> Any:
    """CBC through ``COIN_CMD``: the binary bundled with PuLP if present, else ``cbc`` on the PATH."""
    import os
    import stat

    import pulp
    from pulp.apis import coin_api

    path = coin_api.COIN_CMD.executableExtension(coin_api.pulp_cbc_path)
    if os.path.isfile(path):
        if not os.access(path, os.X_OK):
            os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        options["path"] = path
    solver = pulp.COIN_CMD(msg=False, **options)
    if not solver.available():
        raise CoverageInputError("the exact solver needs CBC (it ships with PuLP; or install coinor-cbc)", "solver")
    return solver


def _order_by_gain(problem: CoverageProblem, picked: list[int]) -> tuple[list[int], list[float], np.ndarray]:
    """Order a chosen set greedily (largest marginal gain first) and serve cells accordingly."""
    residual = problem.weights.copy()
    caps = problem.capacity if problem.capacity is not None else np.full(problem.n_candidates, np.inf)
    left = list(picked)
    ordered, gains = [], []
    while left:
        best = max(left, key=lambda j: (min(float(residual[problem.cells_of(j)].sum()), float(caps[j])), -j))
        gains.append(_assign(problem, best, residual, float(caps[best])))
        ordered.append(best)
        left.remove(best)
    return ordered, gains, problem.weights - residual


# --------------------------------------------------------------------------- candidates
def grid_candidates(cell_xy: np.ndarray, population: np.ndarray, covered: np.ndarray, spacing_m: float,
                    radius_m: float) -> np.ndarray:
    """A regular lattice (EPSG:4547, ``spacing_m`` apart) of points that reach uncovered residents.

    Lattice points are aligned to multiples of ``spacing_m`` and kept only if
    an uncovered populated cell lies within ``radius_m`` (others cannot help).
    """
    if not (math.isfinite(spacing_m) and spacing_m >= 10):
        raise CoverageInputError("candidate grid spacing must be at least 10 metres", "spacing")
    todo = np.flatnonzero(~np.asarray(covered, bool) & (np.asarray(population, float) > 0))
    if not len(todo):
        return np.empty((0, 2))
    pts = np.asarray(cell_xy, float)[todo]
    minx, miny = (np.floor((pts.min(axis=0) - radius_m) / spacing_m) * spacing_m)
    maxx, maxy = pts.max(axis=0) + radius_m
    nx = int((maxx - minx) // spacing_m) + 1
    ny = int((maxy - miny) // spacing_m) + 1
    if nx * ny > 20_000_000:
        raise CoverageInputError(f"a {spacing_m:g} m candidate grid over this area has {nx * ny:,} points; "
                                 f"use a larger spacing", "spacing")
    gx = minx + spacing_m * np.arange(nx)
    gy = miny + spacing_m * np.arange(ny)
    lattice = np.column_stack([np.repeat(gx, ny), np.tile(gy, nx)])
    dist, _ = cKDTree(pts).query(lattice, k=1, distance_upper_bound=radius_m, workers=-1)
    return lattice[np.isfinite(dist)]


# --------------------------------------------------------------------------- orchestration
@dataclass
class SiteSelectionResult:
    """Chosen sites, coverage before/after, and the solvers' reports.

    Attributes
    ----------
    context : dict
        Parameters and provenance (kind, radius, k, layer, solver, candidates).
    sites : GeoDataFrame
        Chosen sites (EPSG:4326): ``rank``, ``name``, ``lon``, ``lat``,
        ``newly_covered``, ``cumulative``, ``unit_code``, ``unit_name``.
    city : dict
        ``population``, ``covered_before``, ``covered_after`` and shares.
    units : DataFrame
        The same per census unit.
    solvers : dict
        Solver name -> :meth:`Selection.summary`; with both, ``gap_vs_exact``.
    """

    context: dict[str, Any]
    sites: Any
    city: dict[str, Any]
    units: Any
    solvers: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        from registry.coverage.metrics import _feature_collection, _jsonable

        return {**self.context, "city": _jsonable(self.city),
                "units": [_jsonable(r) for r in self.units.to_dict(orient="records")],
                "solvers": _jsonable(self.solvers), "sites": _feature_collection(self.sites)}


def select_sites(grid: Any, existing_distance_m: np.ndarray, candidates_xy: np.ndarray, radius_m: float, k: int, *,
                 units: Any, solver: str = "greedy", capacity: float | None = None,
                 candidate_names: np.ndarray | None = None, time_limit: float = 60.0,
                 progress: Progress | None = None, context: dict[str, Any] | None = None) -> SiteSelectionResult:
    """Choose ``k`` new sites among ``candidates_xy`` for the residents of ``grid``.

    Parameters
    ----------
    grid : PopulationGrid
        Demand.
    existing_distance_m : ndarray
        Each cell's distance to the nearest existing site (kept); ``inf`` if none.
    candidates_xy : ndarray
        Candidate positions (EPSG:4547).
    radius_m : float
        Service radius.
    k : int
        Number of new sites.
    units : UnitTable
        Census units for the per-unit before/after table.
    solver : {"greedy", "exact", "both"}
        ``both`` reports the greedy sites and the gap against the exact optimum.
    capacity : float, optional
        Residents one new site may serve.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    from registry.coverage.inputs import metric_to_lonlat

    if solver not in ("greedy", "exact", "both"):
        raise CoverageInputError(f"solver must be greedy, exact or both, not {solver!r}", "solver")
    covered = np.asarray(existing_distance_m) <= radius_m
    if progress:
        progress("coverage matrix", 0, 1)
    problem = build_problem(grid.xy, grid.population, covered, candidates_xy, radius_m, capacity,
                            cell_tree=grid.tree)
    if progress:
        progress("coverage matrix", 1, 1)
    results: dict[str, Selection] = {}
    if solver in ("greedy", "both"):
        results["greedy"] = greedy(problem, k, progress)
    skipped: dict[str, Any] = {}
    if solver in ("exact", "both"):
        try:
            results["exact"] = exact(problem, k, time_limit=time_limit, progress=progress)
        except CoverageInputError as exc:
            if solver == "exact":
                raise
            # With both solvers, a problem too large for the exact one still gets the greedy answer.
            skipped = {"exact": {"solver": "exact", "status": "skipped", "reason": str(exc), "value": None,
                                 "upper_bound": None, "gap": None, "seconds": 0.0}}
    main = results["greedy"] if solver in ("greedy", "both") else results["exact"]
    solvers: dict[str, Any] = {name: sel.summary() for name, sel in results.items()} | skipped
    if "greedy" in results and "exact" in results and results["exact"].value > 0:
        solvers["gap_vs_exact"] = max(0.0, (results["exact"].value - results["greedy"].value) /
                                      results["exact"].value)

    # Chosen sites.
    cand_xy = problem.candidates_xy[main.chosen] if main.chosen else np.empty((0, 2))
    lonlat = metric_to_lonlat(cand_xy) if len(cand_xy) else np.empty((0, 2))
    unit_codes = units.locate(lonlat)
    unit_names = dict(zip(units.frame["code"], units.frame["name"]))
    names = [str(candidate_names[j]) if candidate_names is not None and candidate_names[j] else f"候选点 {j + 1}"
             for j in main.chosen]
    sites = gpd.GeoDataFrame(
        {"rank": np.arange(1, len(main.chosen) + 1), "candidate": main.chosen, "name": names,
         "lon": lonlat[:, 0], "lat": lonlat[:, 1], "newly_covered": main.gains,
         "cumulative": np.cumsum(main.gains) if main.gains else [],
         "unit_code": unit_codes, "unit_name": [unit_names.get(c, "") for c in unit_codes]},
        geometry=shapely.points(lonlat) if len(lonlat) else [], crs=4326,
    )

    # Before / after per unit and city.
    served = np.zeros(len(grid))
    served[problem.demand_index] = main.served
    before_cells = np.where(covered, grid.population, 0.0)
    after_cells = before_cells + served
    frame = pd.DataFrame({"unit": grid.unit, "population": grid.population, "before": before_cells,
                          "after": after_cells})
    by_unit = frame.groupby("unit", sort=False)[["population", "before", "after"]].sum()
    rows = []
    for code, name in zip(units.frame["code"], units.frame["name"]):
        pop, b, a = (by_unit.loc[code].tolist() if code in by_unit.index else [0.0, 0.0, 0.0])
        rows.append({"code": code, "name": name, "population": pop, "covered_before": b, "covered_after": a,
                     "share_before": b / pop if pop else None, "share_after": a / pop if pop else None,
                     "newly_covered": a - b})
    total = float(grid.population.sum())
    city = {"population": total, "covered_before": problem.covered_before,
            "covered_after": problem.covered_before + main.value,
            "share_before": problem.covered_before / total if total else None,
            "share_after": (problem.covered_before + main.value) / total if total else None,
            "newly_covered": main.value, "unreachable_uncovered": problem.unreachable}
    ctx = dict(context or {})
    ctx.update({"radius_m": float(radius_m), "k": int(k), "solver": solver, "capacity": capacity,
                "n_candidates": int(problem.n_candidates), "n_pairs": int(problem.n_pairs)})
    return SiteSelectionResult(ctx, sites, city, pd.DataFrame(rows), solvers)
