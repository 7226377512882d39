"""Benchmark: the audit events of a large import (``registry.audit.record_import``).

Starts its own throw-away PostGIS cluster on a free port, writes N elevators of one import
batch with set-based SQL (half of them with a before-image in ``import_change``, i.e. updated
by the batch: their events hold only the fields that changed), and times, in the same run:

* **ours**: ``record_import`` — one ``audit_event`` row per facility with ``{field: [before,
  after]}`` in canonical form, plus the batch event (rolled back after each run);
* **reference**: the cheapest per-row trail imaginable — ``INSERT INTO audit_event`` of the raw
  rows as ``to_jsonb(facility) || to_jsonb(elevator)`` (no canonical values, no per-field
  before/after), same table, same indexes.

Prints each run, the medians and the ratio ours / reference, with the load average.

Run::

    .venv/bin/python bench/audit_bench.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text

from registry import audit, migrate
from registry.localdb import LocalCluster


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def populate(conn, rows: int) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text("INSERT INTO import_batch (id, source, status, kind, n_created, n_updated, n_rejected, "
                      "n_flagged) VALUES (1, 'bench', 'committed', 'elevator', :c, :u, 0, 0)"),
                 {"c": rows - rows // 2, "u": rows // 2})
    conn.execute(text("""
        INSERT INTO facility (id, kind, source, external_id, name, address, status, geom, is_synthetic, batch_id,
                              created_at, updated_at)
        SELECT g, 'elevator', 'bench', 'E' || g, '电梯' || g, '金水路' || g || '号', 'in_use',
               ST_SetSRID(ST_MakePoint(113.6 + (g % 1000) * 1e-4, 34.7 + (g / 1000) * 1e-5), 4326), false, 1,
               now(), now()
        FROM generate_series(1, :n) g"""), {"n": rows})
    conn.execute(text("""
        INSERT INTO elevator (id, faults_12m, last_inspection_date, installation_date, building_type, user_unit)
        SELECT g, g % 5, DATE '2024-01-01' + (g % 300), DATE '2005-01-01' + (g % 5000), '住宅', '物业' || (g % 97)
        FROM generate_series(1, :n) g"""), {"n": rows})
    # every second row was updated by the batch: its before-image differs in two fields
    conn.execute(text("""
        INSERT INTO import_change (batch_id, facility_id, kind, before_facility, before_detail, previous_batch_id)
        SELECT 1, f.id, 'elevator',
               to_jsonb(f) || jsonb_build_object('name', f.name || '(旧)', 'geom', encode(ST_AsEWKB(f.geom), 'hex')),
               to_jsonb(k) || jsonb_build_object('faults_12m', k.faults_12m + 1), NULL
        FROM facility f JOIN elevator k ON k.id = f.id WHERE f.id % 2 = 0"""))
    conn.execute(text("ANALYZE"))


REFERENCE = """
INSERT INTO audit_event (actor, via, action, entity_type, entity_id, facility_id, kind, batch_id, changes)
SELECT 'bench', 'cli', 'import', 'facility', f.id, f.id, 'elevator', 1, to_jsonb(f) || to_jsonb(k)
FROM facility f JOIN elevator k ON k.id = f.id WHERE f.batch_id = 1
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    work.chmod(0o755)
    cluster = LocalCluster(var_dir=work / "db", port=free_port(), dbname="bench")
    cluster.start()
    try:
        migrate.upgrade(cluster.url)
        engine = create_engine(cluster.url)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            populate(conn, args.rows)
        print(f"{args.rows:,} elevators in one batch ({args.rows // 2:,} with before-images) in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        ours: list[float] = []
        ref: list[float] = []
        for i in range(args.repeat):
            for label, times in (("ours", ours), ("reference", ref)):
                with engine.connect() as conn, conn.begin() as tx:
                    t = time.perf_counter()
                    if label == "ours":
                        n = audit.record_import(conn, "bench", 1)
                    else:
                        n = conn.execute(text(REFERENCE)).rowcount
                    times.append(time.perf_counter() - t)
                    sample = conn.execute(text("SELECT changes FROM audit_event WHERE facility_id = 2 "
                                               "AND entity_type = 'facility'")).scalar_one()
                    tx.rollback()
                extra = f" (event of an updated row: {sorted(sample)})" if label == "ours" and i == 0 else ""
                print(f"run {i + 1}: {label:<9} {times[-1]:6.1f} s for {n:,} events{extra} (load {load()})",
                      flush=True)
        mo, mr = statistics.median(ours), statistics.median(ref)
        print(f"median ours {mo:.1f} s ({mo / args.rows * 1e6:.0f} us per facility), reference {mr:.1f} s, "
              f"ratio ours/reference {mo / mr:.2f}")
        engine.dispose()
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
