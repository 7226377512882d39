"""Benchmark: radius and nearest queries on 1,000,000 facilities, raw SQL vs the HTTP API.

Starts its OWN throw-away PostGIS cluster (temp dir, free port), migrates it,
generates the facilities with SQL (``generate_series``), then in the same run
times, at the same random points:

(a) raw SQL through psycopg (prepared statements, one connection), in forms
    that return the SAME rows, in the same order, with the same columns as the
    API (every common property, the district name, lon/lat, each row's kind
    attributes with times as ``HH:MM``, the distance and the number matched):

    * ``dba``: what a DBA writes: the page of ids by distance first
      (``count(*) OVER ()`` for the total), then joined to ``facility``,
      ``district`` and the five kind tables, typed columns;
    * ``api_sql``: the API's own statement (the query layer's SQL, properties
      as JSON text), executed directly the way the API runs it (``$n``
      placeholders on a ``psycopg.RawCursor``);

    the *reference* of each query is the faster of the two (by median), so the
    ratio cannot flatter the API.  The nearest query is the exact one (k
    candidates from the geography KNN index, then ``ST_DWithin`` within the
    largest exact distance, ordered by spheroid ``ST_Distance``); the plain
    ``ORDER BY geography(geom) <-> point LIMIT 10`` (sphere order, which can
    differ) is timed for information only and the points where it differs are
    counted;
(b) the same questions through the JSON API served by gunicorn (a real server
    process) and a real HTTP client (``http.client``, keep-alive):
    ``/api/facilities?near=x,y&radius=1000`` (the default page of 100 features,
    the same rows as (a)) and ``/api/facilities?nearest=x,y&k=10``; every
    response is checked against the raw SQL's ids and total;
(c) radius requests per second with several concurrent clients, and the CPU
    each request costs in the server, PostgreSQL and the clients.

Run::

    .venv/bin/python bench/query_bench.py                 # 1,000,000 facilities
    .venv/bin/python bench/query_bench.py --facilities 100000 --points 200

``--database-url`` reuses a database this script generated before (skips the
cluster and the generation).  Prints medians, p99, requests/s, CPU per request,
the load average during each phase and the API/raw ratios; the figures go to
``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry import migrate  # noqa: E402
from registry.config import DATA_DIR  # noqa: E402
from registry.localdb import LocalCluster  # noqa: E402

# Zhengzhou's extent (city outline bbox, rounded): facilities are spread uniformly over it,
# ~93 per km², so a 1 km circle holds ~290 of them.
BBOX = (112.72, 34.26, 114.22, 34.97)
KINDS = (("elevator", 0.60), ("parking_lot", 0.25), ("kindergarten", 0.08), ("study_room", 0.04), ("museum", 0.03))
RADIUS_M = 1000
PAGE = 100  # the API's default page size: the raw SQL returns the same first 100 rows
K = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def generate(url: str, n: int) -> float:
    """Insert ``n`` facilities (and their kind rows) with SQL; return seconds taken."""
    import psycopg

    minx, miny, maxx, maxy = BBOX
    case = []
    acc = 0.0
    for kind, share in KINDS:
        acc += share
        case.append(f"WHEN r < {acc:.4f} THEN '{kind}'")
    kind_sql = "CASE " + " ".join(case[:-1]) + f" ELSE '{KINDS[-1][0]}' END"
    t0 = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(f"""
            INSERT INTO facility (kind, source, external_id, name, status, geom, is_synthetic)
            SELECT {kind_sql}, 'bench', 'B' || g, '设施' || g, 'open',
                   ST_SetSRID(ST_MakePoint({minx} + random() * {maxx - minx}, {miny} + random() * {maxy - miny}),
                              4326), true
            FROM (SELECT g, random() AS r FROM generate_series(1, {n}) AS g) AS s""")
        conn.execute("INSERT INTO elevator (id, faults_12m, last_inspection_date) SELECT id, (random() * 5)::int, "
                     "DATE '2024-01-01' + (random() * 700)::int FROM facility WHERE kind = 'elevator'")
        conn.execute("INSERT INTO parking_lot (id, spaces) SELECT id, (random() * 500)::int FROM facility "
                     "WHERE kind = 'parking_lot'")
        conn.execute("INSERT INTO kindergarten (id, places, operator_type) SELECT id, (random() * 300)::int, "
                     "(ARRAY['public', 'inclusive_private', 'for_profit'])[1 + floor(random() * 3)::int] "
                     "FROM facility WHERE kind = 'kindergarten'")
        conn.execute("INSERT INTO study_room (id, seats) SELECT id, (random() * 60)::int FROM facility "
                     "WHERE kind = 'study_room'")
        conn.execute("INSERT INTO museum (id, annual_visitors) SELECT id, (random() * 1e6)::int FROM facility "
                     "WHERE kind = 'museum'")
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def load_districts(url: str) -> None:
    from registry.db import session_scope
    from registry.sample import load_districts as _load

    with session_scope(url) as session:
        _load(session, DATA_DIR / "zhengzhou_districts_wgs84.geojson")


def random_points(n: int, seed: int = 42) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    minx, miny, maxx, maxy = BBOX
    pad = 0.02  # keep 1 km circles inside the data
    return [(round(rng.uniform(minx + pad, maxx - pad), 6), round(rng.uniform(miny + pad, maxy - pad), 6))
            for _ in range(n)]


# --------------------------------------------------------------------------- raw SQL
def _columns_sql() -> tuple[str, str]:
    """(select list, joins) of the DBA query: the API's columns, typed (times HH:MM, point lists as GeoJSON)."""
    from registry.kinds import KIND_SPECS, FieldType

    cols = ["f.id", "f.kind", "f.external_id", "f.source", "f.name", "f.address", "f.district_code",
            "f.declared_district", "f.status", "f.is_synthetic", "f.compliance_status", "d.name AS district",
            "ST_X(f.geom) AS lon", "ST_Y(f.geom) AS lat"]
    joins = ["LEFT JOIN district d ON d.adcode = f.district_code"]
    for i, spec in enumerate(KIND_SPECS.values()):
        alias = f"k{i}"
        joins.append(f"LEFT JOIN {spec.kind.value} {alias} ON {alias}.id = f.id")
        for fs in spec.fields:
            col = f"{alias}.{fs.name}"
            if fs.type is FieldType.TIME:
                col = f"to_char({col}, 'HH24:MI')"
            elif fs.type is FieldType.POINTS:
                col = f"ST_AsGeoJSON({col}, 6)"
            cols.append(f"{col} AS {spec.kind.value}_{fs.name}")
    return ", ".join(cols), " ".join(joins)


PT = "geography(ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326))"


def raw_statements() -> dict[str, str]:
    """The hand-written SQL: the same rows, order and columns as the API (ids first, distance, total last)."""
    cols, joins = _columns_sql()
    live = "f.deleted_at IS NULL"
    radius = f"""
        WITH page AS (
            SELECT f.id, ST_Distance(geography(f.geom), {PT}) AS distance_m, count(*) OVER () AS matched
            FROM facility f WHERE {live} AND ST_DWithin(geography(f.geom), {PT}, {RADIUS_M})
            ORDER BY distance_m, f.id LIMIT {PAGE})
        SELECT {cols}, page.distance_m, page.matched
        FROM page JOIN facility f ON f.id = page.id {joins} ORDER BY page.distance_m, f.id"""
    nearest = f"""
        WITH candidates AS (
            SELECT ST_Distance(geography(f.geom), {PT}) AS d FROM facility f WHERE {live}
            ORDER BY geography(f.geom) <-> {PT} LIMIT {K}),
        page AS (
            SELECT f.id, ST_Distance(geography(f.geom), {PT}) AS distance_m FROM facility f
            WHERE {live} AND ST_DWithin(geography(f.geom), {PT}, (SELECT max(d) * (1 + 1e-12) + 1e-6 FROM candidates))
            ORDER BY distance_m, f.id LIMIT {K})
        SELECT {cols}, page.distance_m, count(*) OVER () AS matched
        FROM page JOIN facility f ON f.id = page.id {joins} ORDER BY page.distance_m, f.id"""
    naive = f"""
        SELECT {cols}, ST_Distance(geography(f.geom), {PT}) AS distance_m
        FROM facility f {joins} WHERE {live} ORDER BY geography(f.geom) <-> {PT} LIMIT {K}"""
    return {"radius_dba": radius, "nearest_dba": nearest, "nearest_knn_sphere": naive}


def api_statement(session: Any, params: dict[str, list[str]]) -> tuple[str, list[Any]]:
    """The query layer's own SQL (``$n`` placeholders) and arguments for ``params`` (what the API executes,
    with :class:`psycopg.RawCursor`)."""
    from registry import query as ql

    q = ql.parse_params(params)
    fast = ql.fast_statement(q, ql._resolve(session, q))
    if fast is None:
        raise SystemExit(f"{params} does not take the compiled-statement path")
    return fast


def raw_sql(url: str, points: list[tuple[float, float]]) -> tuple[dict[str, list[float]], dict[str, list[Any]]]:
    """Time every raw form at every point (ms, interleaved per point); also return ids/totals per point."""
    import psycopg
    from sqlalchemy.orm import Session

    from registry.db import engine_for

    stmts = raw_statements()
    with Session(engine_for(url)) as session:
        api = {"radius_api_sql": lambda x, y: api_statement(session, {"near": [f"{x},{y}"],
                                                                       "radius": [str(RADIUS_M)]}),
               "nearest_api_sql": lambda x, y: api_statement(session, {"nearest": [f"{x},{y}"], "k": [str(K)]})}
        api_sql = {name: [make(x, y) for x, y in points] for name, make in api.items()}
    times: dict[str, list[float]] = {name: [] for name in (*stmts, *api_sql)}
    answers: dict[str, list[Any]] = {name: [] for name in times}
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        def run(name: str, i: int, x: float, y: float) -> list[Any]:
            if name in stmts:
                return conn.execute(stmts[name], {"x": x, "y": y}, prepare=True).fetchall()
            sql, args = api_sql[name][i]
            with psycopg.RawCursor(conn) as cur:
                return cur.execute(sql, args, prepare=True).fetchall()

        for i, (x, y) in enumerate(points[:20]):  # warm-up (and let psycopg prepare the statements)
            for name in times:
                run(name, i, x, y)
        for i, (x, y) in enumerate(points):
            for name, spent in times.items():
                t0 = time.perf_counter()
                rows = run(name, i, x, y)
                spent.append((time.perf_counter() - t0) * 1000)
                total = (rows[0][-1] if name.endswith("dba") else rows[0][3]) if rows else 0
                answers[name].append(([r[0] for r in rows], total))
    return times, answers


def explain(url: str, point: tuple[float, float]) -> dict[str, Any]:
    """Index use of the raw radius SQL and of the API's radius statement at one point (EXPLAIN ANALYZE)."""
    import psycopg
    from sqlalchemy.orm import Session

    from registry.db import engine_for

    with Session(engine_for(url)) as session:
        api_sql, api_params = api_statement(session, {"near": [f"{point[0]},{point[1]}"], "radius": [str(RADIUS_M)]})
    out: dict[str, Any] = {}
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        for name, sql, params in (("radius_dba", raw_statements()["radius_dba"], {"x": point[0], "y": point[1]}),
                                  ("radius_api_sql", api_sql, api_params)):
            cur = psycopg.RawCursor(conn) if name == "radius_api_sql" else conn.cursor()
            with cur:
                plan = [r[0] for r in cur.execute("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + sql, params)]
            text = "\n".join(plan)
            out[name] = {"uses_geography_gist_index": "ix_facility_geom_geog" in text,
                         "seq_scan_on_facility": "Seq Scan on facility" in text,
                         "execution": next((line.strip() for line in plan if line.startswith("Execution Time")), "")}
    return out


# --------------------------------------------------------------------------- the API
def start_gunicorn(url: str, port: int, workers: int, threads: int, worker_class: str) -> subprocess.Popen[bytes]:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if gunicorn is None:
        raise SystemExit("gunicorn is not installed (pip install gunicorn)")
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    cmd = [gunicorn, "--workers", str(workers), "--worker-class", worker_class, "--bind", f"127.0.0.1:{port}",
           "--log-level", "warning", "--keep-alive", "30"]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    proc = subprocess.Popen([*cmd, "registry:create_app()"], cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/kinds")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("gunicorn did not come up")


def api_paths(points: list[tuple[float, float]]) -> dict[str, list[str]]:
    return {"radius": [f"/api/facilities?near={x},{y}&radius={RADIUS_M}" for x, y in points],
            "nearest": [f"/api/facilities?nearest={x},{y}&k={K}" for x, y in points]}


def _get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{path} -> {resp.status}: {body[:200]!r}")
    return body


def api_latency(port: int, paths: dict[str, list[str]]) -> tuple[dict[str, list[float]], dict[str, list[Any]]]:
    """One client, sequential requests on a keep-alive connection (ms, whole response read)."""
    out: dict[str, list[float]] = {}
    answers: dict[str, list[Any]] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for name, urls in paths.items():
        for path in urls[:20]:
            _get(conn, path)
        times, bodies = [], []
        for path in urls:
            t0 = time.perf_counter()
            body = _get(conn, path)
            times.append((time.perf_counter() - t0) * 1000)
            bodies.append(body)
        out[name] = times
        answers[name] = [([f["id"] for f in doc["features"]], doc["numberMatched"])
                         for doc in (json.loads(b) for b in bodies)]
    conn.close()
    return out, answers


def _load_worker(args: tuple[int, list[str], float, int]) -> tuple[int, float]:
    port, urls, seconds, threads = args
    import threading

    done = [0] * threads
    stop = time.time() + seconds
    cpu0 = time.process_time()

    def loop(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        k = i
        while time.time() < stop:
            _get(conn, urls[k % len(urls)])
            done[i] += 1
            k += threads
        conn.close()

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(done), time.process_time() - cpu0


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of processes (seconds); processes that are gone count 0."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _postmaster_pid(url: str) -> int | None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    try:
        return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def api_throughput(port: int, urls: list[str], seconds: float, clients: int, server_pid: int,
                   postmaster: int | None) -> dict[str, Any]:
    """Radius requests per second with ``clients`` concurrent keep-alive connections (2 client processes),
    and the CPU spent per request by the server, PostgreSQL and the clients."""
    procs = 2
    per = max(1, clients // procs)
    server = [server_pid, *_children(server_pid)]
    pg = [postmaster, *_children(postmaster)] if postmaster else []
    cpu0 = (_cpu_seconds(server), _cpu_seconds(pg))
    load0 = loadavg()
    with mp.get_context("spawn").Pool(procs) as pool:
        t0 = time.perf_counter()
        results = pool.map(_load_worker, [(port, urls[i::procs], seconds, per) for i in range(procs)])
        elapsed = time.perf_counter() - t0
    pg = [postmaster, *_children(postmaster)] if postmaster else []  # backends started during the run
    server_cpu, pg_cpu = _cpu_seconds(server) - cpu0[0], _cpu_seconds(pg) - cpu0[1]
    done = sum(n for n, _ in results)
    client_cpu = sum(c for _, c in results)
    per_request = {"server": server_cpu, "postgres": pg_cpu, "clients": client_cpu}
    per_request = {k: round(v * 1000 / max(done, 1), 2) for k, v in per_request.items()}
    per_request["total"] = round(sum(per_request.values()), 2)
    return {"requests_per_s": round(done / max(elapsed, seconds), 1), "requests": done,
            "cpu_ms_per_request": per_request,
            "cpu_bound_estimate_rps_2_idle_cores": round(2000 / per_request["total"], 0) if per_request["total"] else None,
            "load_average": [load0, loadavg()]}


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 2), "p99_ms": round(p99, 2), "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--facilities", type=int, default=1_000_000)
    parser.add_argument("--points", type=int, default=500, help="random query points per query type")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the throughput run")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the throughput run")
    parser.add_argument("--database-url", help="reuse a database generated by this script (no cluster, no data)")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="registry-query-bench-"))
    var.chmod(0o755)
    cluster: LocalCluster | None = None
    server: subprocess.Popen[bytes] | None = None
    report: dict[str, Any] = {"load_average_at_start": loadavg()}
    try:
        if args.database_url:
            url = args.database_url
        else:
            cluster = LocalCluster(var_dir=var / "db", port=free_port(), dbname="bench")
            cluster.start()
            url = cluster.url
            migrate.upgrade(url)
            load_districts(url)
            gen_s = generate(url, args.facilities)
            print(f"generated {args.facilities:,} facilities in {gen_s:.1f} s", file=sys.stderr)
        points = random_points(args.points)

        load0 = loadavg()
        raw, raw_answers = raw_sql(url, points)
        report["raw_sql_load_average"] = [load0, loadavg()]
        port = free_port()
        server = start_gunicorn(url, port, args.workers, args.threads, args.worker_class)
        load0 = loadavg()
        api, api_answers = api_latency(port, api_paths(points))
        report["api_latency_load_average"] = [load0, loadavg()]
        throughput = api_throughput(port, api_paths(points)["radius"], args.seconds, args.clients, server.pid,
                                    _postmaster_pid(url))

        report.update({"facilities": args.facilities, "points": len(points), "cpus": os.cpu_count(),
                       "gunicorn": f"{args.workers} x {args.worker_class}"
                                   + (f" x {args.threads} threads" if args.worker_class == "gthread" else ""),
                       "clients": args.clients})
        for name in ("radius", "nearest"):
            forms = {form: summary(raw[f"{name}_{form}"]) for form in ("dba", "api_sql")}
            ref_form = min(forms, key=lambda f: forms[f]["median_ms"])
            ref = forms[ref_form]
            a = summary(api[name])
            same = sum(1 for got, want in zip(api_answers[name], raw_answers[f"{name}_dba"]) if got == want)
            entry: dict[str, Any] = {"raw_sql": forms, "reference": ref_form, "api": a,
                                     "ratio_median": round(a["median_ms"] / ref["median_ms"], 2),
                                     "api_answers_equal_raw_sql": f"{same}/{len(points)}"}
            if name == "nearest":
                knn = raw_answers["nearest_knn_sphere"]
                differ = sum(1 for (ids, _), (want, _) in zip(knn, raw_answers["nearest_dba"]) if ids != want)
                entry["knn_sphere_order_only"] = {**summary(raw["nearest_knn_sphere"]),
                                                  "points_where_order_or_rows_differ": differ}
            report[name] = entry
        report["radius_throughput"] = throughput
        report["explain_at_first_point"] = explain(url, points[0])
        report["load_average_at_end"] = loadavg()
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
