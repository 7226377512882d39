"""Benchmark: radius and nearest queries on 1,000,000 facilities, raw SQL vs the HTTP API.

Starts its OWN throw-away PostGIS cluster (temp dir, free port), migrates it,
generates the facilities with SQL (``generate_series``), then in the same run
times:

(a) the raw SQL of a 1 km radius query (first 100 rows by distance, with every
    kind attribute, as a DBA would write it) and of a 10-nearest query
    (``ORDER BY geography(geom) <-> point LIMIT 10``), through psycopg;
(b) the same questions through the JSON API served by gunicorn (a real server
    process) and a real HTTP client (``http.client``, keep-alive), at the same
    random points: ``/api/facilities?near=x,y&radius=1000`` (default page of
    100, plus ``numberMatched``) and ``/api/facilities?nearest=x,y&k=10``
    (exact spheroid order);
(c) radius requests per second with several concurrent clients.

Run::

    .venv/bin/python bench/query_bench.py                 # 1,000,000 facilities
    .venv/bin/python bench/query_bench.py --facilities 100000 --points 200

Prints medians, p99, requests/s and the API/raw ratios; the figures go to
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry import migrate  # noqa: E402
from registry.config import DATA_DIR  # noqa: E402
from registry.localdb import LocalCluster  # noqa: E402

# Zhengzhou's extent (city outline bbox, rounded): facilities are spread uniformly over it,
# ~93 per km², so a 1 km circle holds ~290 of them.
BBOX = (112.72, 34.26, 114.22, 34.97)
KINDS = (("elevator", 0.60), ("parking_lot", 0.25), ("kindergarten", 0.08), ("study_room", 0.04), ("museum", 0.03))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def generate(url: str, n: int) -> float:
    """Insert ``n`` facilities (and their kind rows) with SQL; return seconds taken."""
    import psycopg

    minx, miny, maxx, maxy = BBOX
    bounds, case = [], []
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


def _soft_delete_clause(conn) -> str:  # type: ignore[no-untyped-def]
    has = conn.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'facility' "
                       "AND column_name = 'deleted_at'").fetchone()
    return " AND f.deleted_at IS NULL" if has else ""


def raw_sql(url: str, points: list[tuple[float, float]]) -> dict[str, list[float]]:
    """Time the hand-written SQL of both queries at every point (ms)."""
    import psycopg

    pt = "geography(ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326))"
    joins = ("LEFT JOIN museum m ON m.id = f.id LEFT JOIN study_room s ON s.id = f.id "
             "LEFT JOIN parking_lot p ON p.id = f.id LEFT JOIN elevator e ON e.id = f.id "
             "LEFT JOIN kindergarten k ON k.id = f.id LEFT JOIN district d ON d.adcode = f.district_code")
    cols = "f.id, f.kind, f.name, f.status, d.name, ST_X(f.geom), ST_Y(f.geom), m.*, s.*, p.*, e.*, k.*"
    out: dict[str, list[float]] = {"radius": [], "nearest": []}
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        live = _soft_delete_clause(conn)
        radius = (f"SELECT {cols}, ST_Distance(geography(f.geom), {pt}) AS dist FROM facility f {joins} "
                  f"WHERE ST_DWithin(geography(f.geom), {pt}, 1000){live} ORDER BY dist, f.id LIMIT 100")
        nearest = (f"SELECT {cols}, ST_Distance(geography(f.geom), {pt}) AS dist FROM facility f {joins} "
                   f"WHERE true{live} ORDER BY geography(f.geom) <-> {pt} LIMIT 10")
        for name, sql in (("radius", radius), ("nearest", nearest)):
            for x, y in points[:20]:  # warm-up (and let psycopg prepare the statement)
                conn.execute(sql, {"x": x, "y": y}, prepare=True).fetchall()
            for x, y in points:
                t0 = time.perf_counter()
                conn.execute(sql, {"x": x, "y": y}, prepare=True).fetchall()
                out[name].append((time.perf_counter() - t0) * 1000)
    return out


def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if gunicorn is None:
        raise SystemExit("gunicorn is not installed (pip install gunicorn)")
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [gunicorn, "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--keep-alive", "30", "registry:create_app()"],
        cwd=ROOT, env=env)
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
    return {"radius": [f"/api/facilities?near={x},{y}&radius=1000" for x, y in points],
            "nearest": [f"/api/facilities?nearest={x},{y}&k=10" for x, y in points]}


def _get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{path} -> {resp.status}: {body[:200]!r}")
    return body


def api_latency(port: int, paths: dict[str, list[str]]) -> dict[str, list[float]]:
    """One client, sequential requests on a keep-alive connection (ms, whole response read)."""
    out: dict[str, list[float]] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for name, urls in paths.items():
        for path in urls[:20]:
            _get(conn, path)
        times = []
        for path in urls:
            t0 = time.perf_counter()
            body = _get(conn, path)
            times.append((time.perf_counter() - t0) * 1000)
        json.loads(body)
        out[name] = times
    conn.close()
    return out


def _load_worker(args: tuple[int, list[str], float, int]) -> int:
    port, urls, seconds, threads = args
    import threading

    done = [0] * threads
    stop = time.time() + seconds

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
    return sum(done)


def api_throughput(port: int, urls: list[str], seconds: float, clients: int) -> float:
    """Radius requests per second with ``clients`` concurrent keep-alive connections (2 client processes)."""
    procs = 2
    per = max(1, clients // procs)
    with mp.get_context("spawn").Pool(procs) as pool:
        t0 = time.perf_counter()
        counts = pool.map(_load_worker, [(port, urls[i::procs], seconds, per) for i in range(procs)])
        elapsed = time.perf_counter() - t0
    return sum(counts) / max(elapsed, seconds)


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return {"median_ms": round(statistics.median(ordered), 2), "p99_ms": round(p99, 2), "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facilities", type=int, default=1_000_000)
    parser.add_argument("--points", type=int, default=500, help="random query points per query type")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the throughput run")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the throughput run")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="registry-query-bench-"))
    var.chmod(0o755)
    cluster = LocalCluster(var_dir=var / "db", port=free_port(), dbname="bench")
    server: subprocess.Popen[bytes] | None = None
    try:
        cluster.start()
        url = cluster.url
        migrate.upgrade(url)
        load_districts(url)
        gen_s = generate(url, args.facilities)
        print(f"generated {args.facilities:,} facilities in {gen_s:.1f} s", file=sys.stderr)
        points = random_points(args.points)

        raw = raw_sql(url, points)
        port = free_port()
        server = start_gunicorn(url, port, args.workers, args.threads)
        api = api_latency(port, api_paths(points))
        rps = api_throughput(port, api_paths(points)["radius"], args.seconds, args.clients)

        report = {"facilities": args.facilities, "points": len(points), "cpus": os.cpu_count(),
                  "gunicorn": f"{args.workers} workers x {args.threads} threads (gthread)",
                  "clients": args.clients}
        for name in ("radius", "nearest"):
            r, a = summary(raw[name]), summary(api[name])
            report[name] = {"raw_sql": r, "api": a, "ratio_median": round(a["median_ms"] / r["median_ms"], 2)}
        report["radius_requests_per_s"] = round(rps, 1)
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        cluster.destroy()
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
