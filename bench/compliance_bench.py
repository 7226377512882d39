"""Benchmark: full compliance re-check of 100,000 facilities (target < 60 s), and rechecks of a few.

Starts its own throw-away PostGIS cluster on a free port, migrates it, loads the
Zhengzhou districts and census units, the shipped synthetic reference layer plus
random reference points (so every PK-7 / KG-7 / SR-16 layer is searched), and
generates N facilities in SQL (``generate_series``; 60 % elevators, 25 % parking
lots of which a quarter on-street berths, 8 % kindergartens with an entrance
20–40 m away, 4 % study rooms, 3 % museums) in the denser urban area, every
attribute random with about 10 % left blank (unknown).

Measured in the same run:

* **full check** — :func:`registry.compliance_db.run_check` in a transaction that
  is committed: load every kind (one query each), neighbour pairs in PostGIS,
  evaluate, ``COPY`` the findings, update the changed statuses, district and city
  rules.  The first run writes every status; later runs only changed ones.
* **reference** — the rule engine alone (:func:`registry.compliance.evaluate_facilities`)
  on the same facilities already in memory with the same neighbour pairs: what
  the evaluation costs without any database work.  Ratio = full check / engine.
* **rechecks** — moving one kindergarten (``recheck`` of it and its neighbours)
  and a recheck of 1,000 random facilities, each in a rolled-back transaction.

Run::

    .venv/bin/python bench/compliance_bench.py --facilities 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARES = (("elevator", 0.60), ("parking_lot", 0.25), ("kindergarten", 0.08), ("study_room", 0.04), ("museum", 0.03))
BBOX = (113.50, 34.65, 113.85, 34.88)
AS_OF = dt.date(2026, 11, 22)
RANGES = {  # plausible ranges of the numeric attributes (the rules' thresholds fall inside)
    "seats": (5, 60), "volumes": (1000, 8000), "floor_area_m2": (40, 300), "annual_renewal_pct": (2, 30),
    "bandwidth_mbps": (20, 500), "lease_years": (2, 20), "spaces": (5, 400), "ev_spaces": (0, 20),
    "ev_chargers": (0, 20), "accessible_spaces": (0, 6), "faults_12m": (0, 9), "design_life_years": (10, 25),
    "records_kept_years": (1, 8), "places": (60, 400), "enrolment": (40, 400), "annual_exhibitions": (0, 20),
    "annual_visitors": (1000, 900000), "opened_year": (2005, 2024), "satisfaction_pct": (60, 100),
    "loans_per_reader": (0, 10), "activities_per_year": (0, 40), "annual_visits": (1000, 90000),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _blank(expr: str, share: float = 0.1) -> str:
    return f"CASE WHEN random() < {share} THEN NULL ELSE {expr} END"


def _column_sql(field) -> str:  # type: ignore[no-untyped-def]
    from registry.kinds import FieldType

    t = field.type
    if t is FieldType.BOOL:
        return _blank("random() < 0.85")
    if t in (FieldType.INT, FieldType.FLOAT):
        lo, hi = RANGES.get(field.name, (0, 100))
        cast = "int" if t is FieldType.INT else "double precision"
        return _blank(f"({lo} + floor(random() * {hi - lo + 1}))::{cast}")
    if t is FieldType.DATE:
        return _blank("date '2010-01-01' + floor(random() * 6200)::int")
    if t is FieldType.TIME:
        return _blank("time '07:30' + (floor(random() * 4) * interval '30 minutes')")
    if t is FieldType.ENUM:
        values = ", ".join(f"'{c.value}'" for c in field.choices)
        return _blank(f"(ARRAY[{values}])[1 + floor(random() * {len(field.choices)})::int]")
    if t is FieldType.STR:
        return _blank(f"'{field.name} ' || (1 + floor(random() * 300))::int")
    return "NULL"


def generate(conn, n: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Insert ``n`` facilities (every kind row too); return counts per kind."""
    from registry.kinds import KIND_SPECS, FacilityKind
    from registry.models import KIND_MODELS

    x0, y0, x1, y1 = BBOX
    counts, start = {}, 1
    for kind, share in SHARES:
        k = max(1, round(n * share))
        spec = KIND_SPECS[FacilityKind(kind)]
        statuses = ", ".join(f"'{c.value}'" for c in spec.statuses)
        conn.exec_driver_sql(f"""
            INSERT INTO facility (id, kind, source, external_id, name, status, geom, is_synthetic, created_at, updated_at)
            SELECT g, '{kind}', 'bench', 'B-' || g, '{spec.zh}' || g,
                   {_blank(f"(ARRAY[{statuses}])[1 + floor(random() * {len(spec.statuses)})::int]", 0.03)},
                   ST_SetSRID(ST_MakePoint({x0} + random() * {x1 - x0}, {y0} + random() * {y1 - y0}), 4326),
                   true, now(), now()
            FROM generate_series({start}, {start + k - 1}) g""")
        table = KIND_MODELS[kind].__table__.name
        cols, exprs = [], []
        for field in spec.fields:
            if field.name == "entrance":
                cols.append("entrance")
                exprs.append("ST_Project(geography(f.geom), 20 + random() * 20, random() * 2 * pi())::geometry")
            elif field.name == "entrances":
                continue
            else:
                cols.append(field.name)
                exprs.append(_column_sql(field))
        conn.exec_driver_sql(f"""
            INSERT INTO {table} (id, {', '.join(cols)})
            SELECT f.id, {', '.join(exprs)} FROM facility f WHERE f.id BETWEEN {start} AND {start + k - 1}""")
        counts[kind] = k
        start += k
    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('facility', 'id'), {start})")
    conn.exec_driver_sql("UPDATE parking_lot SET parking_type = 'on_street' WHERE id %% 4 = 0")
    from registry.spatial import update_facility_districts

    conn.execute(update_facility_districts())
    conn.exec_driver_sql("ANALYZE")
    return counts


def add_reference_points(conn, per_layer: int) -> None:  # type: ignore[no-untyped-def]
    """Random points in every reference layer (venues half internet cafés)."""
    from registry.reference_layers import LAYERS

    x0, y0, x1, y1 = BBOX
    for layer in LAYERS:
        category = "CASE WHEN g %% 2 = 0 THEN 'internet_cafe' ELSE 'entertainment' END" if layer == "venue" else "NULL"
        conn.exec_driver_sql(f"""
            INSERT INTO reference_point (layer, name, category, geom, source, is_synthetic)
            SELECT '{layer}', '{layer} ' || g, {category},
                   ST_SetSRID(ST_MakePoint({x0} + random() * {x1 - x0}, {y0} + random() * {y1 - y0}), 4326),
                   'bench', true
            FROM generate_series(1, {per_layer}) g""")


def engine_only(conn) -> float:  # type: ignore[no-untyped-def]
    """Seconds the rule engine alone takes on the same facilities and neighbour pairs (loaded beforehand)."""
    from registry.compliance import evaluate_facilities
    from registry.compliance_db import load, neighbours

    layers = load.loaded_layers(conn)
    data = []
    for kind in load.KINDS:
        facilities = load.load_facilities(conn, kind)
        pairs, searched = neighbours.pairs_for(conn, kind, layers)
        data.append((facilities, pairs, searched))
    started = time.perf_counter()
    n = 0
    for facilities, pairs, searched in data:
        for _fid, findings in evaluate_facilities(facilities, AS_OF, neighbours=pairs, searched=searched):
            n += len(findings)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facilities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference-points", type=int, default=2000, help="random points per reference layer")
    parser.add_argument("--keep", action="store_true", help="keep the cluster (prints its URL)")
    args = parser.parse_args(argv)

    from sqlalchemy import create_engine, text

    from registry import migrate
    from registry.compliance_db import recheck, run_check
    from registry.config import DATA_DIR
    from registry.localdb import LocalCluster
    from registry.reference_layers import load_sample_points
    from registry.sample import load_census_units, load_districts

    work = Path(tempfile.mkdtemp(prefix="compliance-bench-"))
    work.chmod(0o755)
    cluster = LocalCluster(var_dir=work / "db", port=free_port(), dbname="bench_compliance")
    cluster.start()
    try:
        migrate.upgrade(cluster.url)
        engine = create_engine(cluster.url)
        from sqlalchemy.orm import Session

        t0 = time.perf_counter()
        with Session(engine) as session:
            load_districts(session, DATA_DIR / "zhengzhou_districts_wgs84.geojson")
            load_census_units(session, DATA_DIR / "zhengzhou_census_units15_wgs84.geojson",
                              DATA_DIR / "zhengzhou_census2020_population.csv")
            load_sample_points(session, DATA_DIR / "sample" / "reference_points.csv")
            counts = generate(session.connection(), args.facilities)
            add_reference_points(session.connection(), args.reference_points)
            session.commit()
        print(f"generated {sum(counts.values()):,} facilities {counts} and "
              f"{args.reference_points:,} points per reference layer in {time.perf_counter() - t0:.1f} s")

        full: list[float] = []
        for i in range(args.repeat):
            with engine.connect() as conn:
                started = time.perf_counter()
                with conn.begin():
                    report = run_check(conn, AS_OF, trigger="bench")
                elapsed = time.perf_counter() - started
            full.append(elapsed)
            print(f"full check {i + 1}: {elapsed:.2f} s  ({report.n_facilities:,} facilities, "
                  f"{report.n_findings:,} findings, {report.n_changed:,} statuses changed)")
        with engine.connect() as conn:
            with conn.begin():
                engine_s = [engine_only(conn) for _ in range(args.repeat)]
            size = conn.execute(text("SELECT pg_size_pretty(pg_total_relation_size('compliance_finding'))")).scalar()
            kg = conn.execute(text("SELECT id FROM facility WHERE kind = 'kindergarten' ORDER BY id LIMIT 1")).scalar()
            some = conn.execute(text("SELECT id FROM facility ORDER BY random() LIMIT 1000")).scalars().all()
        move, thousand = [], []
        for _ in range(args.repeat):
            with engine.connect() as conn:
                trans = conn.begin()
                conn.execute(text("UPDATE facility SET geom = ST_Translate(geom, 0.001, 0) WHERE id = :k"), {"k": kg})
                conn.execute(text("UPDATE kindergarten SET entrance = ST_Translate(entrance, 0.001, 0) WHERE id = :k"),
                             {"k": kg})
                started = time.perf_counter()
                report = recheck(conn, [kg], AS_OF)
                move.append(time.perf_counter() - started)
                touched = len(report.facility_ids)
                trans.rollback()
            with engine.connect() as conn:
                trans = conn.begin()
                started = time.perf_counter()
                recheck(conn, some, AS_OF)
                thousand.append(time.perf_counter() - started)
                trans.rollback()
        med_full, med_engine = statistics.median(full), statistics.median(engine_s)
        print()
        print(f"full check of {sum(counts.values()):,} facilities: median {med_full:.2f} s over {len(full)} runs "
              f"(first {full[0]:.2f} s); target < 60 s: {'met' if max(full) < 60 else 'NOT met'}")
        print(f"reference, rule engine alone on the same data in memory: median {med_engine:.2f} s")
        print(f"ratio full check / engine alone: {med_full / med_engine:.2f}")
        print(f"recheck after moving one kindergarten ({touched} facilities): median {statistics.median(move) * 1000:.0f} ms")
        print(f"recheck of 1,000 random facilities: median {statistics.median(thousand):.2f} s")
        print(f"compliance_finding size: {size}")
        engine.dispose()
        if args.keep:
            print(f"cluster kept: {cluster.url}")
            return 0
    finally:
        if not args.keep:
            cluster.destroy()
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
