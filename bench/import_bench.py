"""Benchmark: our importer vs ``ogr2ogr`` on the same 1,000,000-row facility CSV.

Builds a synthetic elevator CSV the way district offices send them (Chinese
headers, UTF-8 with BOM, 是/否, mixed date formats, Chinese enum terms, GCJ-02
coordinates), starts its own throw-away PostGIS cluster on a free port, and
in the same run:

* **ours**: ``registry.importer.run_import`` with full validation, GCJ-02 →
  WGS-84 conversion, district assignment (point-in-polygon in SQL),
  near-duplicate check, before-images and commit, into a migrated registry
  database holding the Zhengzhou districts;
* **reference**: ``ogr2ogr -f PostgreSQL … --config PG_USE_COPY YES`` of the
  same file into its own database (types auto-detected, points from the
  lon/lat columns, GiST index built) — no validation at all.

Each loader runs in a child process whose own peak RSS (VmHWM) is polled from /proc.
Prints the medians and the ratio ours / ogr2ogr.

Run::

    .venv/bin/python bench/import_bench.py --rows 1000000 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
import sys, time
from sqlalchemy import create_engine
from registry.importer import ImportOptions, run_import
url, path = sys.argv[1], sys.argv[2]
engine = create_engine(url)
with engine.connect() as conn:
    with conn.begin():
        result = run_import(conn, path, ImportOptions(kind="elevator", crs="gcj02", mode="import-valid",
                                                      source="bench", created_by="bench"))
print(result.n_rows, result.n_created, result.n_updated, result.n_rejected, result.n_flagged, result.n_warnings)
"""


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``cmd``; return (seconds, peak RSS MiB, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # max over children so far
    return elapsed, usage.ru_maxrss / 1024.0, out.decode(errors="replace").strip()


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


def run_ours(url: str, path: Path) -> tuple[float, float, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", OURS, url, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    peaks = _start_watch(proc.pid)
    out_b, err_b = proc.communicate()
    status = proc.returncode
    elapsed = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"our import failed:\n{err_b.decode()[-3000:]}")
    return elapsed, max(peaks), out_b.decode().strip()


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
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM review_flag; DELETE FROM facility; DELETE FROM import_batch"))
        conn.execute(text("VACUUM ANALYZE facility") if False else text("SELECT 1"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (CSV and cluster)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="registry-import-bench-"))
    cluster = None
    try:
        csv_path = work / "elevators.csv"
        t0 = time.perf_counter()
        make_csv(csv_path, args.rows)
        print(f"built {csv_path.name}: {args.rows:,} rows, {csv_path.stat().st_size / 2**20:.0f} MiB "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        cluster = start_cluster(work)
        url, _ = prepare_databases(cluster)
        ours, ogr = [], []
        for i in range(args.repeat):
            reset_ours(url)
            t, rss, out = run_ours(url, csv_path)
            ours.append((t, rss))
            print(f"run {i + 1}: ours    {t:7.1f} s  peak RSS {rss:6.0f} MiB  (rows, created, updated, rejected, "
                  f"flagged, warnings = {out})", flush=True)
            t, rss, _ = run_ogr(cluster, csv_path)
            ogr.append((t, rss))
            print(f"run {i + 1}: ogr2ogr {t:7.1f} s  peak RSS {rss:6.0f} MiB", flush=True)
        m_ours = statistics.median(t for t, _ in ours)
        m_ogr = statistics.median(t for t, _ in ogr)
        print(f"\nmedian ours {m_ours:.1f} s, ogr2ogr {m_ogr:.1f} s, ratio ours/ogr2ogr = {m_ours / m_ogr:.2f} "
              f"(target <= 1.0); our peak RSS {max(r for _, r in ours):.0f} MiB (target < 1024)")
    finally:
        if cluster is not None:
            cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
