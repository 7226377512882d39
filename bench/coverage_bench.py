"""Benchmark: coverage of a 1,000,000-cell population grid against 10,000 facilities, and site selection.

Starts its own throw-away PostGIS cluster on a free port, migrates it, loads
the 15 census units, and writes (through the registry's own code):

* a synthetic population layer of 1,000 x 1,000 cells of 100 m (EPSG:4547)
  centred on Zhengzhou — a dense centre, satellite towns and a rural
  background (``registry.coverage.layers.write_layer``, census codes by SQL);
* 10,000 kindergartens placed where people live (probability ∝ residents),
  with places.

Then, in the same run and on the same data read from PostGIS:

* **reference**: plain geopandas — ``read_postgis`` of cells and facilities,
  ``to_crs(4547)``, ``sjoin_nearest(max_distance=300)``, sum of covered residents;
* **ours, cold**: :func:`registry.coverage.service.get_coverage` with empty caches
  (binary ``COPY`` of the cells, KD-tree, every metric: per census unit and city,
  distance distribution, 2SFCA, hot spots);
* **ours, repeated**: the same query again (facilities read again, distances
  reused because the facility set is unchanged);
* **ours, after a change**: one facility inserted before each query
  (distances recomputed, cells cached);
* **site selection**: k = 20 among 10,000 candidate points over the 1,000,000 cells
  (lazy greedy), and on a subsample (a window around the centre) greedy vs the
  exact CBC optimum.

Prints medians and ratios; the figures go to docs/BENCHMARKS.md.

Run::

    .venv/bin/python bench/coverage_bench.py --repeat 5
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CENTRE = (113.65, 34.75)
RADIUS = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(fn, repeat: int) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, out


def synthetic_grid(side: int, cell: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres (EPSG:4547) and residents: dense centre, towns, rural background (~12 million)."""
    from registry.coverage.inputs import lonlat_to_metric

    rng = np.random.default_rng(seed)
    cx, cy = lonlat_to_metric(np.array([CENTRE[0]]), np.array([CENTRE[1]]))[0]
    cx, cy = (np.floor(cx / cell) * cell, np.floor(cy / cell) * cell)
    offs = (np.arange(side) - side / 2 + 0.5) * cell
    gx, gy = np.meshgrid(cx + offs, cy + offs)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    dens = 2500 * np.exp(-np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) / 6000)
    for _ in range(12):
        tx, ty = cx + rng.uniform(-40_000, 40_000), cy + rng.uniform(-40_000, 40_000)
        dens += rng.uniform(200, 900) * np.exp(-np.hypot(xy[:, 0] - tx, xy[:, 1] - ty) / 2000)
    dens += 8
    pop = np.round(dens * rng.lognormal(0, 0.5, len(dens)) * 0.12)
    return xy, pop


def build(url: str, side: int, cell: float, n_facilities: int) -> tuple[str, np.ndarray, np.ndarray]:
    import geopandas as gpd
    import shapely
    from sqlalchemy import text

    from registry.config import DATA_DIR
    from registry.coverage.inputs import LayerInfo, metric_to_lonlat
    from registry.coverage.layers import ImportedLayer, write_layer
    from registry.db import session_scope
    from registry.sample import load_census_units, load_districts

    xy, pop = synthetic_grid(side, cell)
    lonlat = metric_to_lonlat(xy)
    rng = np.random.default_rng(5)
    t = time.perf_counter()
    with session_scope(url) as session:
        load_districts(session, DATA_DIR / "zhengzhou_districts_wgs84.geojson")
        load_census_units(session, DATA_DIR / "zhengzhou_census_units15_wgs84.geojson",
                          DATA_DIR / "zhengzhou_census2020_population.csv")
        cells = gpd.GeoDataFrame({"population": pop, "cell": [None] * len(pop)},
                                 geometry=shapely.points(lonlat), crs=4326)
        write_layer(session, ImportedLayer(LayerInfo("bench_grid_100m", 2020, "synthetic benchmark grid", "EPSG:4326",
                                                     "cells", cell, True), cells))
        print(f"  wrote {len(pop):,} cells ({pop.sum():,.0f} residents) in {time.perf_counter() - t:.1f} s",
              flush=True)
        pick = rng.choice(len(pop), n_facilities, replace=False, p=pop / pop.sum())
        fxy = xy[pick] + rng.uniform(-cell / 2, cell / 2, (n_facilities, 2))
        flonlat = metric_to_lonlat(fxy)
        ids = session.execute(text(
            "INSERT INTO facility (kind, source, external_id, name, status, geom, is_synthetic) "
            "SELECT 'kindergarten', 'bench', 'B' || i, '基准园' || i, 'open', ST_SetSRID(ST_MakePoint(x, y), 4326), "
            "true FROM unnest(CAST(:x AS float8[]), CAST(:y AS float8[])) WITH ORDINALITY AS t(x, y, i) "
            "RETURNING id"), {"x": flonlat[:, 0].tolist(), "y": flonlat[:, 1].tolist()}).scalars().all()
        session.execute(text("INSERT INTO kindergarten (id, places) SELECT id, 90 + (id % 10) * 30 "
                             "FROM unnest(CAST(:ids AS int[])) AS id"), {"ids": list(ids)})
        session.execute(text("ANALYZE"))
    cand = rng.choice(len(pop), 10_000, replace=False, p=pop / pop.sum())
    cand_xy = xy[cand] + rng.uniform(-cell / 2, cell / 2, (10_000, 2))
    return "bench_grid_100m", cand_xy, xy


def reference(url: str, layer: str) -> float:
    import geopandas as gpd
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        cells = gpd.read_postgis(text(
            "SELECT c.id, c.population, c.geom FROM population_cell c JOIN population_layer l ON l.id = c.layer_id "
            "WHERE l.name = :n"), conn, geom_col="geom", params={"n": layer})
        facs = gpd.read_postgis(text("SELECT id, geom FROM facility WHERE kind = 'kindergarten' "
                                     "AND deleted_at IS NULL"), conn, geom_col="geom")
    engine.dispose()
    joined = gpd.sjoin_nearest(cells.to_crs(4547), facs.to_crs(4547), max_distance=RADIUS, distance_col="d")
    joined = joined[~joined.index.duplicated()]
    return float(joined["population"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=1000, help="cells per side (1000 -> 1,000,000 cells)")
    parser.add_argument("--cell", type=float, default=100.0, help="cell size in metres")
    parser.add_argument("--facilities", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--subsample", type=int, default=2_000, help="candidates in the exact-solver subsample")
    args = parser.parse_args()

    from registry import migrate
    from registry.coverage import cache, service
    from registry.coverage.params import coverage_request
    from registry.db import session_scope
    from registry.localdb import LocalCluster

    var = Path(tempfile.mkdtemp(prefix="coverage-bench-"))
    var.chmod(0o755)
    cluster = LocalCluster(var_dir=var / "db", port=free_port(), dbname="coverage_bench")
    try:
        cluster.start()
        url = cluster.url
        migrate.upgrade(url)
        print(f"cluster on port {cluster.port}; building data ...", flush=True)
        layer, cand_xy, _ = build(url, args.side, args.cell, args.facilities)
        req = coverage_request({"kind": "kindergarten", "layer": layer, "radius": str(int(RADIUS)), "status": "open"})

        print("reference: geopandas read_postgis + to_crs + sjoin_nearest(max_distance=300) ...", flush=True)
        ref_t, ref_all, ref_cov = timed(lambda: reference(url, layer), max(1, min(3, args.repeat)))

        with session_scope(url) as session:
            def cold() -> object:
                cache.clear_all()
                return service.get_coverage(session, req)

            cold_t, cold_all, analysis = timed(cold, max(1, min(3, args.repeat)))
            ours_cov = analysis.result.city["radii"][0]["covered_population"]
            warm_t, warm_all, _ = timed(lambda: service.get_coverage(session, req), args.repeat)

            from sqlalchemy import text

            def changed() -> object:
                session.execute(text(
                    "WITH f AS (INSERT INTO facility (kind, source, external_id, name, status, geom, is_synthetic) "
                    "VALUES ('kindergarten', 'bench', 'X' || clock_timestamp(), '新园', 'open', "
                    "ST_SetSRID(ST_MakePoint(113.6 + random() / 10, 34.7 + random() / 10), 4326), true) RETURNING id) "
                    "INSERT INTO kindergarten (id, places) SELECT id, 120 FROM f"))
                return service.get_coverage(session, req)

            misses = cache.NEAREST.misses
            change_t, change_all, _ = timed(changed, args.repeat)
            assert cache.NEAREST.misses == misses + args.repeat, "every change must recompute the distances"
            session.rollback()

            service.get_coverage(session, req)  # distances cached as in a planner's session
            grid = service.load_grid(session, layer)
            near = service._nearest(session, grid, service.load_facilities(
                session, "kindergarten", req.filters, None, service.load_units(session))[0])
            covered = near.distance_m <= RADIUS
            # Scenario B: candidates where the *uncovered* residents live (the planner's shortlist).
            rng = np.random.default_rng(13)
            need = np.where(covered, 0.0, grid.population)
            pick = rng.choice(len(need), len(cand_xy), replace=False, p=need / need.sum())
            cand_b = grid.xy[pick] + rng.uniform(-args.cell / 2, args.cell / 2, (len(cand_xy), 2))
            scenarios = [("A: where residents live", site_scenario(session, layer, cand_xy, covered, grid, args)),
                         ("B: where uncovered residents live", site_scenario(session, layer, cand_b, covered, grid,
                                                                            args))]
    finally:
        cluster.destroy()
        shutil.rmtree(var, ignore_errors=True)

    n_cells = args.side * args.side
    print()
    print(f"coverage of {n_cells:,} cells x {args.facilities:,} facilities at {RADIUS:.0f} m "
          f"(2 cores; medians)")
    print(f"  reference geopandas (read_postgis, to_crs, sjoin_nearest): {ref_t:7.3f} s  runs {fmt(ref_all)}")
    print(f"  ours, cold (COPY cells, KD-tree, all metrics):              {cold_t:7.3f} s  runs {fmt(cold_all)}")
    print(f"  ours, repeated query:                                       {warm_t:7.3f} s  runs {fmt(warm_all)}")
    print(f"  ours, after inserting a facility:                           {change_t:7.3f} s  runs {fmt(change_all)}")
    print(f"  ratio cold / reference:      {cold_t / ref_t:.3f}")
    print(f"  ratio repeated / reference:  {warm_t / ref_t:.3f}")
    print(f"  ratio changed / reference:   {change_t / ref_t:.3f}")
    print(f"  covered residents: ours {ours_cov:,.0f}, reference {ref_cov:,.0f} "
          f"({'equal' if abs(ours_cov - ref_cov) < 1e-6 * max(1, ref_cov) else 'DIFFERENT'})")
    print()
    for title, sc in scenarios:
        print(f"site selection k={args.k} from {sc['n']:,} candidates over {n_cells:,} cells, candidates {title}")
        print(f"  whole request (facilities, matrix, lazy greedy, before/after): {sc['t']:.3f} s  runs {fmt(sc['all'])}")
        g = sc["greedy"]
        print(f"  greedy solver alone: {g['seconds']:.3f} s, newly covered {g['value']:,.0f}, "
              f"proven gap <= {100 * g['gap']:.2f} % (submodular bound)")
        sub, gs, es = sc["sub"]
        print(f"  subsample: {sub.n_candidates:,} random candidates of the {sc['n']:,}, "
              f"{len(sub.weights):,} uncovered cells they reach, {sub.n_pairs:,} pairs")
        print(f"    greedy {gs.value:,.0f} in {gs.seconds:.3f} s; exact ({es.status}) {es.value:,.0f} "
              f"in {es.seconds:.1f} s; gap greedy vs exact = {100 * (es.value - gs.value) / es.value:.3f} %")
        if sc["full"] is not None:
            full, gf, ef = sc["full"]
            print(f"  all {full.n_candidates:,} candidates ({full.n_pairs:,} pairs): greedy {gf.value:,.0f}, exact "
                  f"({ef.status}) {ef.value:,.0f} in {ef.seconds:.1f} s; gap "
                  f"{100 * (ef.value - gf.value) / ef.value:.3f} %")
        print()


def site_scenario(session, layer: str, cand_xy: np.ndarray, covered: np.ndarray, grid, args) -> dict:
    """Time the whole site-selection request, then greedy vs exact on a subsample and (if small enough) all."""
    from registry.coverage import service
    from registry.coverage.inputs import metric_to_lonlat
    from registry.coverage.params import site_request
    from registry.coverage.siting import EXACT_MAX_PAIRS, build_problem, exact, greedy

    lonlat = metric_to_lonlat(cand_xy)
    sreq = site_request({"kind": "kindergarten", "layer": layer, "radius": str(int(RADIUS)), "k": str(args.k),
                         "status": "open", "candidates": {"type": "points", "points": lonlat.tolist()}})
    t, runs, site = timed(lambda: service.get_site_selection(session, sreq), max(1, min(3, args.repeat)))
    sub_idx = np.random.default_rng(9).choice(len(cand_xy), args.subsample, replace=False)
    sub = build_problem(grid.xy, grid.population, covered, cand_xy[sub_idx], RADIUS, cell_tree=grid.tree)
    full = build_problem(grid.xy, grid.population, covered, cand_xy, RADIUS, cell_tree=grid.tree)
    return {"n": len(cand_xy), "t": t, "all": runs, "greedy": site.result.solvers["greedy"],
            "sub": (sub, greedy(sub, args.k), exact(sub, args.k, time_limit=600)),
            "full": (full, greedy(full, args.k), exact(full, args.k, time_limit=600))
            if full.n_pairs <= EXACT_MAX_PAIRS else None}


def fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


if __name__ == "__main__":
    main()
