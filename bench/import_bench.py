"""Benchmark: our importer vs ``ogr2ogr`` on the same 1,000,000-row facility CSV.

Builds a synthetic elevator CSV the way district offices send them (Chinese
headers, UTF-8 with BOM, 是/否, mixed date formats, Chinese enum terms, GCJ-02
coordinates), starts its own throw-away PostGIS cluster on a free port, and
in the same run:

* **ours**: ``registry.importer.run_import`` with full validation, GCJ-02 →
  WGS-84 conversion, district assignment, existing-record matching,
  before-images, near-duplicate check (30 m, similar names) and commit, into
  a migrated registry database holding the Zhengzhou districts;
* **reference**: ``ogr2ogr -f PostgreSQL … --config PG_USE_COPY YES`` of the
  same file into its own database (types auto-detected, points from the
  lon/lat columns, GiST index built) — no validation at all.

The compliance re-check the importer runs before it commits
(``registry.compliance_db.service.recheck_batch``) is reported apart:

* ``--recheck hook`` runs the import exactly as shipped (re-check inside);
* ``--recheck separate`` disables that hook in the benchmark's child process
  only and then times, in the same child, the full compliance check
  (``run_check``) that the re-check falls back to for a batch this size;
* ``--recheck both`` (default) runs the shipped import first, then the
  separate variant (a failure of the shipped import is reported, not fatal);
* ``--recheck off`` leaves the re-check out entirely (quick iterations).

The audit events the import writes (``registry.audit.record_import``, one per
facility) are treated the same way: inside the import with ``hook``, timed
apart (on the committed batch, rolled back) with ``separate``.

After each ``separate``/``off`` run the **registry floor** is measured too:
the rows our import wrote are dumped and ``COPY``'d back into ``facility`` and
``elevator`` (emptied first) — no validation or checks, just the price of
the live tables' indexes, constraints and foreign keys, which ogr2ogr's new
table does not have.

Each loader runs in a child process whose own peak RSS (VmHWM) is polled
from /proc; the importer's child also reports its VmHWM when the import has
committed.  The database is truncated before each of our runs.  Prints each
run, the load average, the medians and the ratios ours / ogr2ogr.

Run::

    .venv/bin/python bench/import_bench.py --rows 1000000 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A realistic elevator list: Chinese headers, clerk-style values, GCJ-02 points in Zhengzhou."""
    from registry.coords import wgs84_to_gcj02

    rng = np.random.default_rng(seed)
    lon = rng.uniform(113.50, 113.85, rows)
    lat = rng.uniform(34.65, 34.88, rows)
    glon, glat = wgs84_to_gcj02(lon, lat)
    yes_no = np.array(["是", "否", "Y", "N", "1", "0", ""])
    types = np.array(["载人电梯", "客梯", "载货电梯", "自动扶梯", "自动人行道"])
    results = np.array(["合格", "不合格", "检验合格", ""])
    statuses = np.array(["在用", "停用", "报废", "使用中"])
    days = rng.integers(0, 3650, rows)
    base = np.datetime64("2012-01-01")
    dates = (base + days.astype("timedelta64[D]")).astype(str)
    fmt = rng.integers(0, 3, rows)
    ymd = pd.Series(dates).str.split("-", expand=True).astype(int)
    alt1 = ymd[0].astype(str) + "/" + ymd[1].astype(str) + "/" + ymd[2].astype(str)
    alt2 = ymd[0].astype(str) + "年" + ymd[1].astype(str) + "月" + ymd[2].astype(str) + "日"
    inspection = np.where(fmt == 0, dates, np.where(fmt == 1, alt1, alt2))
    ids = np.char.add("DT", np.arange(1, rows + 1).astype(str))
    frame = pd.DataFrame({
        "编号": ids,
        "名称": np.char.add("电梯", np.arange(1, rows + 1).astype(str)),
        "地址": np.char.add("郑州市某路", rng.integers(1, 999, rows).astype(str)),
        "所属区县": _declared_districts(lon, lat, rng),
        "经度": np.round(glon, 6),
        "纬度": np.round(glat, 6),
        "状态": rng.choice(statuses, rows),
        "设备注册代码": np.char.add("31104101", rng.integers(10**9, 10**10 - 1, rows).astype(str)),
        "已办理使用登记": rng.choice(yes_no, rows),
        "电梯类型": rng.choice(types, rows),
        "使用单位": np.char.add("物业公司", rng.integers(1, 500, rows).astype(str)),
        "维保单位": np.char.add("维保公司", rng.integers(1, 80, rows).astype(str)),
        "维保单位有资质": rng.choice(yes_no, rows),
        "最近定期检验日期": inspection,
        "检验结论": rng.choice(results, rows),
        "安装日期": dates,
        "设计使用年限": rng.integers(10, 30, rows),
        "近12个月故障次数": rng.integers(0, 12, rows),
        "安装监测装置": rng.choice(yes_no, rows),
        "接入市级平台": rng.choice(yes_no, rows),
        "紧急报警装置有效": rng.choice(yes_no, rows),
        "责任保险": rng.choice(yes_no, rows),
        "公众聚集场所": rng.choice(yes_no, rows),
    })
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _declared_districts(lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The district each point really lies in (as a clerk would write it), blank for 10 % of rows."""
    import json

    import shapely
    from shapely.geometry import shape

    from registry.config import DATA_DIR

    names = np.full(len(lon), "", dtype=object)
    with (DATA_DIR / "zhengzhou_districts_wgs84.geojson").open(encoding="utf-8") as fh:
        for feat in json.load(fh)["features"]:
            if feat["properties"]["level"] != "county":
                continue
            geom = shape(feat["geometry"])
            shapely.prepare(geom)
            names[shapely.contains_xy(geom, lon, lat)] = feat["properties"]["name"]
    names[rng.random(len(lon)) < 0.10] = ""
    return names


def start_cluster(workdir: Path):  # type: ignore[no-untyped-def]
    from registry.localdb import LocalCluster

    workdir.chmod(0o755)
    cluster = LocalCluster(var_dir=workdir / "db", port=free_port(), dbname="bench_registry")
    cluster.start()
    return cluster


def prepare_databases(cluster) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from registry import migrate
    from registry.config import DATA_DIR
    from registry.sample import load_census_units, load_districts

    url = cluster.url
    migrate.upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        load_districts(session, DATA_DIR / "zhengzhou_districts_wgs84.geojson")
        load_census_units(session, DATA_DIR / "zhengzhou_census_units15_wgs84.geojson",
                          DATA_DIR / "zhengzhou_census2020_population.csv")
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_ogr"))
        conn.execute(text("CREATE DATABASE bench_ogr"))
    engine.dispose()
    ogr_url = url.rsplit("/", 1)[0] + "/bench_ogr"
    e2 = create_engine(ogr_url)
    with e2.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    e2.dispose()
    return url, ogr_url


OURS = """
import json, sys, time
t_start = time.perf_counter()
from pathlib import Path
from sqlalchemy import create_engine
from registry.importer import ImportOptions, run_import
url, path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if mode in ("separate", "off"):  # the benchmark's own child only: the compliance re-check and audit timed apart
    import registry.audit as audit
    import registry.compliance_db.service as service
    service.recheck_batch = lambda bind, batch_id, as_of=None: None
    audit_record_import = getattr(audit, "record_import", None)
    audit.record_import = lambda conn, actor, batch_id, comment=None: 0

def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0

engine = create_engine(url)
with engine.connect() as conn:
    with conn.begin():
        result = run_import(conn, path, ImportOptions(kind="elevator", crs="gcj02", mode="import-valid",
                                                      source="bench", created_by="bench"))
out = {"counts": [result.n_rows, result.n_created, result.n_updated, result.n_rejected, result.n_flagged,
                  result.n_warnings], "committed": result.committed, "timings": result.timings,
       "import_s": time.perf_counter() - t_start, "import_hwm_mib": hwm()}
if mode == "separate":
    from registry.compliance_db.service import run_check
    t0 = time.perf_counter()
    with engine.connect() as conn:
        with conn.begin():
            run_check(conn, trigger="bench")
    out["compliance_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.connect() as conn:
        with conn.begin() as tx:
            audit_record_import(conn, "bench", result.batch_id)
            tx.rollback()
    out["audit_s"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def _watch_hwm(pid: int, out: list[float]) -> None:
    """Poll VmHWM of ``pid`` (its own peak RSS since exec; ru_maxrss would include the forking parent's)."""
    while True:
        try:
            text_ = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        for line in text_.splitlines():
            if line.startswith("VmHWM:"):
                out.append(int(line.split()[1]) / 1024.0)
        time.sleep(0.1)


def _start_watch(pid: int) -> list[float]:
    import threading

    peaks: list[float] = [0.0]
    threading.Thread(target=_watch_hwm, args=(pid, peaks), daemon=True).start()
    return peaks


def run_ours(url: str, path: Path, mode: str) -> tuple[float, float, dict[str, Any] | str]:
    """Our import in a child process: (wall seconds, peak RSS MiB, the child's JSON report or the error)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", OURS, url, str(path), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    peaks = _start_watch(proc.pid)
    out_b, err_b = proc.communicate()
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        lines = [x for x in err_b.decode(errors="replace").splitlines() if "Error:" in x or "Exception:" in x]
        return elapsed, max(peaks), (lines[-1] if lines else f"exit code {proc.returncode}")[:300]
    return elapsed, max(peaks), json.loads(out_b.decode().strip().splitlines()[-1])


def run_ogr(cluster, path: Path) -> tuple[float, float, str]:  # type: ignore[no-untyped-def]
    pg = f"PG:host=127.0.0.1 port={cluster.port} dbname=bench_ogr user=registry"
    cmd = ["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "-nln", "facility_ogr", "-overwrite",
           "-oo", "X_POSSIBLE_NAMES=经度", "-oo", "Y_POSSIBLE_NAMES=纬度", "-oo", "AUTODETECT_TYPE=YES",
           "-oo", "KEEP_GEOM_COLUMNS=NO", "-a_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom",
           "--config", "PG_USE_COPY", "YES"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = _start_watch(proc.pid)
    _, err_b = proc.communicate()
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ogr2ogr failed:\n{err_b.decode(errors='replace')[-3000:]}")
    return elapsed, max(peaks), ""


def reset_ours(url: str) -> None:
    """An empty registry (districts and census units kept), indexes rebuilt small, statistics fresh."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE facility, import_batch RESTART IDENTITY CASCADE"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE facility"))
    engine.dispose()


def run_floor(url: str, work: Path) -> float:
    """The registry's own floor: seconds to ``COPY`` the rows our import just wrote back into ``facility`` and
    ``elevator`` (same indexes, constraints and foreign keys, no validation, no checks), on an emptied table.

    What any loader pays to put these rows into the live registry's tables; ogr2ogr writes a new table
    with one spatial index instead.
    """
    import psycopg

    dsn = url.replace("postgresql+psycopg", "postgresql")
    files = {t: work / f"floor_{t}.copy" for t in ("facility", "elevator")}
    with psycopg.connect(dsn) as conn:
        for table, path in files.items():
            with path.open("wb") as fh, conn.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                for block in copy:
                    fh.write(block)
        conn.execute("TRUNCATE facility CASCADE")
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE facility")
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        for table, path in files.items():
            with path.open("rb") as fh, conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                while block := fh.read(1 << 20):
                    copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - t0
    for path in files.values():
        path.unlink()
    return elapsed


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--recheck", choices=("both", "hook", "separate", "off"), default="both",
                        help="how the compliance re-check is measured (see the module docstring)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (CSV and cluster)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="registry-import-bench-"))
    cluster = None
    modes = ("hook", "separate") if args.recheck == "both" else (args.recheck,)
    try:
        csv_path = work / "elevators.csv"
        t0 = time.perf_counter()
        make_csv(csv_path, args.rows)
        print(f"built {csv_path.name}: {args.rows:,} rows, {csv_path.stat().st_size / 2**20:.0f} MiB "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        cluster = start_cluster(work)
        url, _ = prepare_databases(cluster)
        runs: dict[str, list[tuple[float, float, dict[str, Any]]]] = {m: [] for m in modes}
        failed: dict[str, str] = {}
        ogr: list[tuple[float, float]] = []
        for i in range(args.repeat):
            for mode in modes:
                if mode in failed:
                    continue
                reset_ours(url)
                print(f"run {i + 1}: ours [{mode}] starting ({load()})", flush=True)
                t, rss, rep = run_ours(url, csv_path, mode)
                if isinstance(rep, str):
                    failed[mode] = rep
                    print(f"run {i + 1}: ours [{mode}] FAILED after {t:.1f} s: {rep}", flush=True)
                    continue
                runs[mode].append((t, rss, rep))
                if mode in ("separate", "off"):
                    rep["floor_s"] = run_floor(url, work)
                    print(f"run {i + 1}: floor (COPY of the same rows into facility + elevator) "
                          f"{rep['floor_s']:7.1f} s ({load()})", flush=True)
                extra = f", compliance check {rep['compliance_s']:.1f} s" if "compliance_s" in rep else ""
                extra += f", audit events {rep['audit_s']:.1f} s" if "audit_s" in rep else ""
                phases = ", ".join(f"{k} {v:.1f}" for k, v in rep["timings"].items()
                                   if mode == "hook" or k != "compliance_recheck")
                print(f"run {i + 1}: ours [{mode}] import {rep['import_s']:7.1f} s{extra}; peak RSS "
                      f"{rep['import_hwm_mib']:.0f} MiB at commit, {rss:.0f} MiB overall; phases (s): {phases}; "
                      f"rows, created, updated, rejected, flagged, warnings = {rep['counts']} ({load()})",
                      flush=True)
            t, rss, _ = run_ogr(cluster, csv_path)
            ogr.append((t, rss))
            print(f"run {i + 1}: ogr2ogr {t:7.1f} s  peak RSS {rss:6.0f} MiB ({load()})", flush=True)
        m_ogr = statistics.median(t for t, _ in ogr)
        print(f"\nmedian ogr2ogr {m_ogr:.1f} s over {len(ogr)} run(s)")
        for mode, results in runs.items():
            if not results:
                continue
            m_imp = statistics.median(r["import_s"] for _, _, r in results)
            peak = max(r["import_hwm_mib"] for _, _, r in results)
            line = (f"[{mode}] median import {m_imp:.1f} s, ratio ours/ogr2ogr = {m_imp / m_ogr:.2f} (target <= 1.0); "
                    f"peak RSS {peak:.0f} MiB (target < 1024)")
            if "floor_s" in results[0][2]:
                m_floor = statistics.median(r["floor_s"] for _, _, r in results)
                line += (f"; registry floor (COPY of the same rows into facility + elevator) {m_floor:.1f} s, "
                         f"floor/ogr2ogr {m_floor / m_ogr:.2f}, ours/floor {m_imp / m_floor:.2f}")
            if mode == "hook":
                line += "; the compliance re-check and the audit events are inside the import"
            elif mode == "off":
                line += "; WITHOUT the compliance re-check (quick iteration only)"
            else:
                m_chk = statistics.median(r["compliance_s"] for _, _, r in results)
                m_aud = statistics.median(r["audit_s"] for _, _, r in results)
                line += (f"; compliance check apart {m_chk:.1f} s, audit events apart {m_aud:.1f} s -> with both "
                         f"{m_imp + m_chk + m_aud:.1f} s, ratio {(m_imp + m_chk + m_aud) / m_ogr:.2f}")
            print(line)
        for mode, why in failed.items():
            print(f"[{mode}] failed: {why}")
    finally:
        if cluster is not None:
            cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
