"""Staging, set-based checks and the atomic commit of an import.

Valid rows are streamed with ``COPY`` into one temporary staging table per
kind.  Then, set-based (one statement for all rows, never one per row):

1. each staged point gets its county district by point-in-polygon against
   the districts cut into small pieces (:func:`registry.spatial.select_unit_pieces`),
   and its existing record by ``(source, external_id)``;
2. declared-district mismatches, points outside Zhengzhou and existing ids
   of another kind are read back as warnings/rejections;
3. on commit: before-images of updated rows go to ``import_change``, existing
   rows are updated and new ones inserted (``INSERT … SELECT``), and
   near-duplicates (same kind, similar name, within 30 m) are flagged in
   ``review_flag``.

Everything happens inside one savepoint: a dry run (preview) or any error
rolls it back, leaving nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from geoalchemy2 import Geometry
from sqlalchemy import (
    Column,
    Computed,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    literal_column,
    select,
    text,
)

from registry import spatial
from registry.importer.loading import ChunkWriter, copy_text, ewkb_points_hex
from registry.importer.locate import UnitLocator
from registry.importer.validate import KindRows
from registry.kinds import KIND_SPECS, FacilityKind
from registry.models import KIND_MODELS, SRID

NEAR_DUPLICATE_METRES = 30.0
NAME_SIMILARITY = 0.4
"""pg_trgm similarity of normalised names from which two nearby records count as near-duplicates."""

COMMON_STAGE_COLUMNS = ("row_no", "source", "external_id", "name", "address", "declared_district",
                        "declared_code", "status", "geom")
FACILITY_COPY_COLUMNS = ("source", "external_id", "name", "address", "declared_district", "status")


def _sql(expr: Any) -> str:
    """Render a :mod:`registry.spatial` expression as SQL text (for statements on temporary tables)."""
    from sqlalchemy.dialects import postgresql

    return str(expr.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def _col(name: str) -> Any:
    return literal_column(name)


def _near_cell(max_abs_lat: float, metres: float = NEAR_DUPLICATE_METRES) -> tuple[float, float]:
    """(cell height, cell width) in degrees no smaller than ``metres`` up to latitude ``max_abs_lat``.

    A degree of latitude is at least 110,574 m on the WGS-84 ellipsoid (the
    meridian radius at the equator) and a degree of longitude at least
    111,319.49 m x cos(latitude); 5 % margin.
    """
    import math

    lat = min(abs(max_abs_lat) + 0.01, 89.0)
    return 1.05 * metres / 110_574.0, 1.05 * metres / (111_319.49 * math.cos(math.radians(lat)))


def _norm_name(column: str) -> str:
    """SQL of a name normalised for comparison: lower case, no spaces or punctuation."""
    return f"lower(regexp_replace({column}, '[[:space:][:punct:]（）【】《》，。、·]+', '', 'g'))"


@dataclass
class KindStage:
    """The staging table of one kind (it is also the table the checks and the write read)."""

    kind: FacilityKind
    table: Table
    field_names: tuple[str, ...]
    geometry_fields: tuple[str, ...]
    rows: int = 0
    max_abs_lat: float | None = None
    created: bool = False

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def ready(self) -> str:
        """The table the set-based checks and the write read (the staging table itself)."""
        return self.table.name

    @property
    def copy_columns(self) -> tuple[str, ...]:
        return COMMON_STAGE_COLUMNS + self.field_names + LOCATED_COLUMNS

    @property
    def model_table(self) -> str:
        return KIND_MODELS[self.kind.value].__table__.name


LOCATED_COLUMNS = ("district_code", "zone_code")
"""Computed in the client while streaming (:class:`registry.importer.locate.UnitLocator`)."""


def _stage_table(kind: FacilityKind, id_sequence: str) -> KindStage:
    """``imp_stage_<kind>``: the file's columns, the located units, and ids.

    ``new_id`` defaults to the next facility id (drawn while ``COPY`` runs, in
    file order); :meth:`Staging.prepare` clears it for rows that update an
    existing record (``existing_id``).
    """
    model = KIND_MODELS[kind.value].__table__
    names = tuple(f.name for f in KIND_SPECS[kind].fields)
    cols: list[Column] = [
        Column("row_no", Integer), Column("source", Text), Column("external_id", Text), Column("name", Text),
        Column("address", Text), Column("declared_district", Text), Column("declared_code", String(6)),
        Column("status", String(32)), Column("geom", Geometry("POINT", srid=SRID, spatial_index=False)),
    ]
    geoms = []
    for name in names:
        typ = model.c[name].type
        if isinstance(typ, Geometry):
            typ = Geometry(typ.geometry_type, srid=SRID, spatial_index=False)
            geoms.append(name)
        cols.append(Column(name, typ))
    quoted = id_sequence.replace("'", "''")
    cols += [Column("nname", Text, Computed(_norm_name("name"), persisted=True)),
             Column("district_code", String(6)), Column("zone_code", String(6)),
             Column("new_id", Integer, server_default=text(f"nextval('{quoted}'::regclass)")),
             Column("existing_id", Integer), Column("existing_kind", String(32)), Column("previous_batch_id", Integer)]
    table = Table(f"imp_stage_{kind.value}", MetaData(), *cols, prefixes=["TEMPORARY"])
    return KindStage(kind=kind, table=table, field_names=names, geometry_fields=tuple(geoms))


SESSION_SETTINGS = {"jit": "off", "work_mem": "256MB"}
"""Transaction-local settings while an import runs: JIT compilation costs more than it saves on these
one-off statements, and the near-duplicate grid join hashes a million rows in memory."""


@contextmanager
def session_settings(conn: Connection, settings: dict[str, str] | None = None) -> Iterator[None]:
    """Apply ``settings`` for the rest of the transaction and put the previous values back after.

    Uses ``set_config(..., is_local => true)``: nothing leaks past the
    transaction even if the restore cannot run (an error aborted it).
    """
    with _local_settings(conn, SESSION_SETTINGS if settings is None else settings):
        yield


@contextmanager
def _local_settings(conn: Connection, settings: dict[str, str]) -> Iterator[None]:
    before = {name: conn.exec_driver_sql("SELECT current_setting(%(n)s)", {"n": name}).scalar_one()
              for name in settings}
    for name, value in settings.items():
        conn.exec_driver_sql("SELECT set_config(%(n)s, %(v)s, true)", {"n": name, "v": value})
    try:
        yield
    finally:
        from psycopg.pq import TransactionStatus

        if conn.connection.driver_connection.info.transaction_status == TransactionStatus.INTRANS:
            for name, value in before.items():
                conn.exec_driver_sql("SELECT set_config(%(n)s, %(v)s, true)", {"n": name, "v": value})


ANALYZE_AFTER_ROWS = 10_000
"""A batch writing this many records refreshes the statistics of ``facility`` and its kind tables (the later
joins, and the compliance re-check, are planned with them); smaller batches leave them to autovacuum."""

INDEX_PROBES = {"enable_hashjoin": "off", "enable_mergejoin": "off", "enable_seqscan": "off"}
"""Per-chunk lookups of existing records must probe the unique index, one probe per staged row: the
planner's row counts for ``facility`` are stale while the import itself grows it (it may believe the table
empty), and a hash join or a sequential scan would read the whole table for every chunk."""


@dataclass
class Staging:
    """The staging tables of one import batch, on one connection (inside the import's savepoint).

    While the file streams (:meth:`copy` … :meth:`end_copy`), a
    :class:`~registry.importer.loading.ChunkWriter` thread owns the connection
    and, for each chunk, ``COPY``s the valid rows into ``imp_stage_<kind>``
    and writes them (:meth:`_write_chunk`); the caller must not use the
    connection until :meth:`end_copy` returns.
    """

    conn: Connection
    batch_id: int
    stages: dict[FacilityKind, KindStage] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    _locator: UnitLocator | None = None
    _writer: ChunkWriter | None = None
    _sequence: str | None = None
    _pid: int | None = None
    _source_existed: dict[str, bool] = field(default_factory=dict)
    """Whether a source had records before this import (asked once per source, before its first chunk is
    written): rows of a source that had none cannot match an existing record, so their chunks skip the probe."""
    _tally: dict[str, int] = field(default_factory=lambda: {"declared": 0, "mismatched": 0, "outside": 0})
    """Per-row facts counted in the client while streaming (rows with a recognised declared district, of
    which not in it, rows outside every district), so no pass over the staged rows is needed for them."""
    _conflicts_removed: bool = False
    _matched: int = 0

    def _stage(self, kind: FacilityKind) -> KindStage:
        """The kind's stage (its table is created by the writer thread, before the kind's first chunk)."""
        if kind not in self.stages:
            assert self._sequence is not None
            self.stages[kind] = _stage_table(kind, self._sequence)
        return self.stages[kind]

    def copy(self, rows: KindRows) -> None:
        """Locate the chunk's points, format it, and hand it to the writer thread (returns at once)."""
        if not len(rows):
            return
        if self._writer is None:  # what needs the connection, read before the writer thread takes it
            self._sequence = str(self.conn.exec_driver_sql(
                "SELECT pg_get_serial_sequence('facility', 'id')").scalar_one())
            self._locator = UnitLocator.load(self.conn)
            self._writer = ChunkWriter()
        st = self._stage(rows.kind)
        assert self._locator is not None and self._writer is not None
        c = rows.common
        columns = [np.asarray(rows.row_numbers, dtype=np.int64), c["source"], c["external_id"], c["name"],
                   c["address"], c["declared_district"], c["declared_code"], c["status"],
                   ewkb_points_hex(rows.lon, rows.lat, SRID)]
        columns += [rows.fields.get(name, np.full(len(rows), None, dtype=object)) for name in st.field_names]
        columns += [self._locator.districts(rows.lon, rows.lat),
                    self._locator.zones_declared(rows.lon, rows.lat, np.asarray(c["declared_code"], dtype=object))]
        self._count(np.asarray(c["declared_code"], dtype=object), columns[-2], columns[-1])
        data = copy_text(columns)
        first, last = int(rows.row_numbers.min()), int(rows.row_numbers.max())
        sources = sorted({str(x) for x in pd.unique(np.asarray(c["source"], dtype=object))})
        self._writer.submit(lambda: self._load_chunk(st, data, first, last, sources))
        st.rows += len(rows)
        top = float(np.nanmax(np.abs(rows.lat)))
        st.max_abs_lat = top if st.max_abs_lat is None else max(st.max_abs_lat, top)

    def _count(self, declared: np.ndarray, district: np.ndarray, zone: np.ndarray) -> None:
        """Tally a chunk's declared-district and outside-the-city rows (see :attr:`_tally`)."""
        has = pd.notna(declared)
        self._tally["declared"] += int(has.sum())
        self._tally["mismatched"] += int((has & (declared != district) & pd.isna(zone)).sum())
        self._tally["outside"] += int(pd.isna(district).sum())

    def end_copy(self, error: BaseException | None = None) -> None:
        """Wait for the writer thread; raise its error (unless the caller is already handling ``error``)."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        failed = writer.stop()
        if failed is not None and error is None:
            raise failed

    # ----------------------------------------------------------------- per chunk (writer thread)
    def _load_chunk(self, st: KindStage, data: bytes, first: int, last: int, sources: list[str]) -> None:
        conn = self.conn
        for source in sources:  # before this import writes any row of it
            if source not in self._source_existed:
                self._source_existed[source] = bool(conn.exec_driver_sql(
                    "SELECT EXISTS (SELECT 1 FROM facility WHERE source = %(s)s)", {"s": source}).scalar())
        probe = [s for s in sources if self._source_existed[s]]
        if not st.created:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {st.name}")
            st.table.create(conn)
            conn.exec_driver_sql(f"CREATE INDEX ON {st.name} (row_no)")
            st.created = True
        with conn.connection.driver_connection.cursor() as cur, \
                cur.copy(f"COPY {st.name} ({', '.join(st.copy_columns)}) FROM STDIN") as copy:
            copy.write(data)
        self._write_chunk(st, first, last, probe)

    def _write_chunk(self, st: KindStage, first: int, last: int, probe: list[str]) -> None:
        """Match, before-image, update and insert the rows ``first..last`` of one kind (set-based).

        Every statement reaches ``facility`` by index (:data:`INDEX_PROBES`): its statistics are stale
        while this very import grows it.
        """
        with _local_settings(self.conn, INDEX_PROBES):
            self._write_chunk_rows(st, first, last, probe)

    def _write_chunk_rows(self, st: KindStage, first: int, last: int, probe: list[str]) -> None:
        """``probe``: the chunk's sources that had records before this import (only their rows can match)."""
        conn = self.conn
        params = {"batch": self.batch_id, "kind": st.kind.value, "first": first, "last": last, "probe": probe}
        chunk = "r.row_no BETWEEN %(first)s AND %(last)s"
        matched = 0 if not probe else conn.exec_driver_sql(f"""
            UPDATE {st.name} r SET existing_id = f.id, existing_kind = f.kind, previous_batch_id = f.batch_id,
                                   new_id = NULL
            FROM facility f
            WHERE {chunk} AND r.external_id IS NOT NULL AND r.source = ANY(%(probe)s)
              AND f.source = r.source AND f.external_id = r.external_id
        """, params).rowcount
        self._matched += matched
        detail = st.model_table
        if matched:
            hexes = ", ".join(f"'{g}', {_sql(spatial.ewkb_hex(_col('k.' + g)))}" for g in st.geometry_fields)
            detail_json = f"to_jsonb(k) || jsonb_build_object({hexes})" if hexes else "to_jsonb(k)"
            # before-images of the rows about to be updated (a record of another kind is not touched: it is
            # rejected later, see kind_conflicts)
            conn.exec_driver_sql(f"""
                INSERT INTO import_change (batch_id, facility_id, kind, before_facility, before_detail,
                                           previous_batch_id)
                SELECT %(batch)s, f.id, %(kind)s,
                       to_jsonb(f) || jsonb_build_object('geom', {_sql(spatial.ewkb_hex(_col('f.geom')))}),
                       {detail_json}, f.batch_id
                FROM {st.name} r JOIN facility f ON f.id = r.existing_id JOIN {detail} k ON k.id = f.id
                WHERE {chunk} AND r.existing_kind = %(kind)s::varchar
            """, params)
            fac_set = ", ".join(f"{c} = r.{c}" for c in FACILITY_COPY_COLUMNS)
            self.updated += conn.exec_driver_sql(f"""
                UPDATE facility f SET {fac_set}, geom = r.geom, district_code = r.district_code,
                       batch_id = %(batch)s, is_synthetic = false, updated_at = now()
                FROM {st.name} r WHERE f.id = r.existing_id AND {chunk} AND r.existing_kind = %(kind)s::varchar
            """, params).rowcount
            if st.field_names:
                kind_set = ", ".join(f"{c} = r.{c}" for c in st.field_names)
                conn.exec_driver_sql(f"UPDATE {detail} k SET {kind_set} FROM {st.name} r "
                                     f"WHERE k.id = r.existing_id AND {chunk}", params)
        # new records, in file order (ids ascending: the primary key only appends)
        self.created += conn.exec_driver_sql(f"""
            INSERT INTO facility (id, kind, {', '.join(FACILITY_COPY_COLUMNS)}, geom, district_code, batch_id,
                                  is_synthetic, created_at, updated_at)
            SELECT r.new_id, %(kind)s, {', '.join('r.' + x for x in FACILITY_COPY_COLUMNS)}, r.geom, r.district_code,
                   %(batch)s, false, now(), now()
            FROM {st.name} r WHERE {chunk} AND r.existing_id IS NULL
        """, params).rowcount
        extra = "".join(", " + x for x in st.field_names)
        extra_r = "".join(", r." + x for x in st.field_names)
        conn.exec_driver_sql(f"""
            INSERT INTO {detail} (id{extra}) SELECT r.new_id{extra_r} FROM {st.name} r
            WHERE {chunk} AND r.existing_id IS NULL
        """, params)

    # ----------------------------------------------------------------- set-based checks
    def prepare(self) -> None:
        """After streaming: statistics for the checks, and the unit pieces the messages measure against."""
        conn = self.conn
        self.end_copy()
        conn.exec_driver_sql("DROP TABLE IF EXISTS imp_piece")
        conn.exec_driver_sql(f"CREATE TEMP TABLE imp_piece AS {_sql(spatial.select_unit_pieces())}")
        conn.exec_driver_sql("CREATE INDEX ON imp_piece USING gist (geom)")
        conn.exec_driver_sql("ANALYZE imp_piece")
        for st in self.stages.values():
            # the record id of each staged row: the flags of this batch are read back by it (a few rows
            # looked up in a million: an index, whatever plan the statistics suggest)
            conn.exec_driver_sql(f"CREATE INDEX ON {st.name} ((coalesce(existing_id, new_id)))")
            conn.exec_driver_sql(f"ANALYZE {st.name} (existing_id)")  # row count and the join key

    def kind_conflicts(self) -> list[tuple[int, str, str]]:
        """Rows whose ``(source, external_id)`` belongs to a facility of another kind; removed from staging."""
        out: list[tuple[int, str, str]] = []
        if not self._matched:  # no staged row matched an existing record
            return out
        for st in self.stages.values():
            rows = self.conn.exec_driver_sql(
                f"DELETE FROM {st.ready} WHERE existing_kind <> %(kind)s RETURNING row_no, external_id, existing_kind",
                {"kind": st.kind.value}).all()
            out += [(int(r), e, k) for r, e, k in rows]
        self._conflicts_removed = self._conflicts_removed or bool(out)
        return out

    def drop_rows(self, kind: FacilityKind, row_numbers: Iterable[int]) -> None:
        rows = list(row_numbers)
        if rows and kind in self.stages:
            self._conflicts_removed = True
            self.conn.exec_driver_sql(f"DELETE FROM {self.stages[kind].ready} WHERE row_no = ANY(%(rows)s)",
                                      {"rows": rows})

    def district_mismatches(self, limit: int = 5000, with_distance: int = 300) -> list[dict[str, Any]]:
        """Rows whose declared district (recognised) does not contain their point.

        The first ``with_distance`` carry the geodesic distance to the declared unit (enough for the
        messages people read and for the coordinate-system hint).
        """
        out: list[dict[str, Any]] = []
        dist = _sql(spatial.distance_between_m(_col("p.geom"), _col("r.geom")))
        for st in self.stages.values():
            out += [dict(m) for m in self.conn.exec_driver_sql(f"""
                SELECT r.row_no, r.declared_district, r.declared_code, r.district_code,
                       CASE WHEN r.n <= {int(with_distance)} THEN
                         (SELECT min({dist}) FROM imp_piece p WHERE p.code = r.declared_code) END AS distance_m
                FROM (SELECT row_no, declared_district, declared_code, district_code, geom,
                             row_number() OVER (ORDER BY row_no) AS n
                      FROM {st.ready}
                      WHERE declared_code IS NOT NULL AND declared_code IS DISTINCT FROM district_code
                        AND zone_code IS NULL
                      ORDER BY row_no LIMIT {int(limit)}) r
                ORDER BY r.row_no
            """).mappings()]
        return out

    def declared_counts(self) -> tuple[int, int]:
        """(rows with a recognised declared district, of which mismatched) over all kinds."""
        if not self._conflicts_removed:  # nothing left staging since the rows were counted
            return self._tally["declared"], self._tally["mismatched"]
        total = mismatched = 0
        for st in self.stages.values():
            t, m = self.conn.exec_driver_sql(f"""
                SELECT count(*), count(*) FILTER (WHERE declared_code IS DISTINCT FROM district_code
                                                   AND zone_code IS NULL)
                FROM {st.ready} WHERE declared_code IS NOT NULL""").one()
            total += t
            mismatched += m
        return total, mismatched

    def declared_sample(self, limit: int = 5000) -> list[tuple[float, float, str, bool]]:
        """(lon, lat, declared_code, is_zone) of up to ``limit`` rows with a declared district."""
        out: list[tuple[float, float, str, bool]] = []
        for st in self.stages.values():
            lon, lat = (_sql(e) for e in spatial.lonlat_of(_col("geom")))
            out += [tuple(r) for r in self.conn.exec_driver_sql(f"""
                SELECT {lon}, {lat}, declared_code,
                       declared_code IN (SELECT code FROM imp_piece WHERE level = 'zone')
                FROM {st.ready} WHERE declared_code IS NOT NULL
                ORDER BY md5(row_no::text) LIMIT {int(limit)}""")]
        return out

    def count_inside_declared(self, points: list[tuple[float, float, str]]) -> int:
        """How many of ``points`` (lon, lat, declared_code) lie in the unit they declare."""
        if not points:
            return 0
        lons, lats, codes = zip(*points)
        inside = _sql(spatial.intersects(_col("p.geom"), spatial.point_from_lonlat(_col("t.lon"), _col("t.lat"))))
        return int(self.conn.exec_driver_sql(f"""
            SELECT count(*) FROM unnest(%(lon)s::float8[], %(lat)s::float8[], %(code)s::text[]) AS t(lon, lat, code)
            WHERE EXISTS (SELECT 1 FROM imp_piece p WHERE p.code = t.code AND {inside})""",
            {"lon": list(lons), "lat": list(lats), "code": list(codes)}).scalar() or 0)

    def outside_rows(self, limit: int = 5000) -> tuple[int, list[tuple[int, float, float]]]:
        """Rows whose point lies in no county district of Zhengzhou: count and the first ``limit`` (WGS-84)."""
        total = 0
        rows: list[tuple[int, float, float]] = []
        lon, lat = (_sql(e) for e in spatial.lonlat_of(_col("geom")))
        if not self._conflicts_removed and not self._tally["outside"]:
            return 0, rows
        for st in self.stages.values():
            if self._conflicts_removed:
                total += self.conn.exec_driver_sql(
                    f"SELECT count(*) FROM {st.ready} WHERE district_code IS NULL").scalar() or 0
            rows += [(int(r), x, y) for r, x, y in self.conn.exec_driver_sql(
                f"SELECT row_no, {lon}, {lat} FROM {st.ready} WHERE district_code IS NULL "
                f"ORDER BY row_no LIMIT {int(limit)}")]
        if not self._conflicts_removed:
            total = self._tally["outside"]
        return total, rows

    def near_duplicates(self, batch_id: int, limit: int = 5000) -> list[dict[str, Any]]:
        """Near-duplicate flags of this batch with the row number of the imported side."""
        out: list[dict[str, Any]] = []
        for st in self.stages.values():
            # All the batch's flags are joined first (a few rows, by the index on the record ids), then
            # sorted: with ORDER BY row_no LIMIT on the join itself the planner may walk the million staged
            # rows in row order and compare each with every flag.
            out += [dict(m) for m in self.conn.exec_driver_sql(f"""
                WITH hit AS MATERIALIZED (
                    SELECT r.row_no, r.name, o.id AS other_id, o.name AS other_name, o.source AS other_source,
                           o.external_id AS other_external_id, q.row_no AS other_row, rf.distance_m, rf.similarity
                    FROM review_flag rf
                    JOIN {st.ready} r ON coalesce(r.existing_id, r.new_id) = rf.facility_id
                    JOIN facility o ON o.id = rf.other_facility_id
                    LEFT JOIN {st.ready} q ON coalesce(q.existing_id, q.new_id) = o.id
                    WHERE rf.batch_id = %(b)s AND rf.reason = 'near_duplicate')
                SELECT * FROM hit ORDER BY row_no LIMIT {int(limit)}""", {"b": batch_id}).mappings()]
        return out

    def counts(self) -> tuple[int, int]:
        """(rows to create, rows to update): what the writer wrote, unless rows were removed from staging since."""
        if not self._conflicts_removed:
            return self.created, self.updated
        created = updated = 0
        for st in self.stages.values():
            c, u = self.conn.exec_driver_sql(
                f"SELECT count(*) FILTER (WHERE existing_id IS NULL), count(*) FILTER (WHERE existing_id IS NOT NULL)"
                f" FROM {st.ready}").one()
            created += c
            updated += u
        return created, updated

    # ----------------------------------------------------------------- after writing
    def flag(self, batch_id: int) -> int:
        """Flag near-duplicates and points outside Zhengzhou of this batch in ``review_flag``; return the count.

        A near-duplicate is a pair of records of the same kind within
        :data:`NEAR_DUPLICATE_METRES` (geodesic) whose normalised names are
        equal, similar (pg_trgm ≥ :data:`NAME_SIMILARITY`) or one contains the
        other; at least one of the two is in this batch.  The pair is flagged
        on this batch's record (on the smaller id when both are).  See
        :meth:`_flag_near_duplicates` for how the pairs are found.
        """
        if self.created + self.updated >= ANALYZE_AFTER_ROWS:  # the planner must see what the batch wrote
            self.conn.exec_driver_sql("ANALYZE facility")
            for st in self.stages.values():
                self.conn.exec_driver_sql(f"ANALYZE {st.model_table}")
        n = 0
        for st in self.stages.values():
            params = {"batch": batch_id, "kind": st.kind.value}
            n += self._flag_near_duplicates(st, batch_id)
            n += self.conn.exec_driver_sql(f"""
                INSERT INTO review_flag (batch_id, facility_id, kind, reason, detail)
                SELECT %(batch)s, coalesce(existing_id, new_id), %(kind)s, 'outside_city',
                       'row ' || row_no || ': point outside every district of Zhengzhou'
                FROM {st.ready} WHERE district_code IS NULL
            """, params).rowcount
        return n

    def _flag_near_duplicates(self, st: KindStage, batch_id: int) -> int:
        """One set-based pass: a grid hash join, a cheap box test, then the exact geodesic test and the names.

        The batch's rows and the other records of the kind around them
        (``imp_near``) get a grid cell a little larger than 30 m each way
        (sized for the highest latitude in the batch); any pair within 30 m
        lies in the same or an adjacent cell, so each point meets only the
        points of five cells (each pair once) instead of probing an index row
        by row.  ``imp_near`` and the pair table are unlogged tables of this
        transaction (dropped before it ends), so PostgreSQL may run the join
        with parallel workers; names are normalised once, while ``COPY`` runs
        (``nname`` of the staging table).  Distances are measured for the
        flagged pairs only.
        """
        conn = self.conn
        max_lat = st.max_abs_lat if st.max_abs_lat is not None else 89.0
        dy, dx = _near_cell(max_lat)
        near_t, pair_t = self._scratch("near"), self._scratch("pair")
        params = {"batch": batch_id, "kind": st.kind.value, "sim": NAME_SIMILARITY, "dx": dx, "dy": dy}
        x, y = (_sql(e) for e in spatial.lonlat_of(_col("geom")))
        fx, fy = (_sql(e) for e in spatial.lonlat_of(_col("f.geom")))
        around = _sql(spatial.overlaps_box(_col("f.geom"), _col("e.box")))
        box = _sql(spatial.extent_expanded(_col("geom"), dx, dy))
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {near_t}, {pair_t}")
        conn.exec_driver_sql(f"""
            CREATE UNLOGGED TABLE {near_t} AS
            SELECT p.*, floor(p.x / %(dx)s)::int AS cx, floor(p.y / %(dy)s)::int AS cy
            FROM (SELECT coalesce(existing_id, new_id) AS fid, true AS in_batch, {x} AS x, {y} AS y, geom, nname
                  FROM {st.ready}
                  UNION ALL
                  SELECT f.id, false, {fx}, {fy}, f.geom, {_norm_name('f.name')}
                  FROM facility f, (SELECT {box} AS box FROM {st.ready}) e
                  WHERE f.kind = %(kind)s AND f.batch_id IS DISTINCT FROM %(batch)s AND {around}) p
        """, params)
        conn.exec_driver_sql(f"ANALYZE {near_t}")
        near = _sql(spatial.within_metres(_col("a.geom"), _col("b.geom"), NEAR_DUPLICATE_METRES))

        def pick(column: str, mine: bool) -> str:
            first, second = ("a", "b") if mine else ("b", "a")
            return f"CASE WHEN o.a_is_r THEN {first}.{column} ELSE {second}.{column} END"

        with _local_settings(conn, {"enable_mergejoin": "off"}):  # a hash join: no sort of 5 million rows
            conn.exec_driver_sql(f"""
                CREATE UNLOGGED TABLE {pair_t} AS
                SELECT p.rid, p.oid, p.rn, p.fn
                FROM (SELECT {pick('fid', True)} AS rid, {pick('fid', False)} AS oid,
                             {pick('nname', True)} AS rn, {pick('nname', False)} AS fn
                      FROM {near_t} a
                      CROSS JOIN (VALUES (0, 0), (1, -1), (1, 0), (1, 1), (0, 1)) d(dx, dy)
                      JOIN {near_t} b ON b.cx = a.cx + d.dx AND b.cy = a.cy + d.dy
                      CROSS JOIN LATERAL (SELECT a.in_batch AND (NOT b.in_batch OR a.fid < b.fid) AS a_is_r) o
                      WHERE (a.in_batch OR b.in_batch) AND a.fid <> b.fid
                        AND NOT (d.dx = 0 AND d.dy = 0 AND a.fid > b.fid)
                        AND abs(a.x - b.x) <= %(dx)s AND abs(a.y - b.y) <= %(dy)s
                        AND {near}) p
                WHERE p.rn = p.fn OR (length(p.rn) >= 2 AND strpos(p.fn, p.rn) > 0)
                   OR similarity(p.rn, p.fn) >= %(sim)s
            """, params)
        dist = _sql(spatial.distance_between_m(_col("o.geom"), _col("r.geom")))
        n = conn.exec_driver_sql(f"""
            INSERT INTO review_flag (batch_id, facility_id, other_facility_id, kind, reason, similarity,
                                     distance_m, detail)
            SELECT %(batch)s, p.rid, p.oid, %(kind)s, 'near_duplicate', similarity(p.rn, p.fn), {dist},
                   r.name || ' ≈ ' || o.name
            FROM {pair_t} p JOIN facility r ON r.id = p.rid JOIN facility o ON o.id = p.oid
        """, params).rowcount
        conn.exec_driver_sql(f"DROP TABLE {near_t}, {pair_t}")
        return n

    def _scratch(self, what: str) -> str:
        """Name of an unlogged scratch table of this backend (created and dropped inside the import)."""
        if self._pid is None:
            self._pid = int(self.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        return f"imp_{what}_{self._pid}"

    def close(self) -> None:
        """Drop the temporary tables (they vanish anyway with a rolled-back savepoint)."""
        for st in self.stages.values():
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {st.ready}")
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {st.name}")
        self.conn.exec_driver_sql("DROP TABLE IF EXISTS imp_piece")
        if self._pid is not None:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self._scratch('near')}, {self._scratch('pair')}")


# --------------------------------------------------------------------------- rollback
class RollbackRefused(Exception):
    """A batch cannot be rolled back (already rolled back, or later batches changed its rows)."""


def rollback_batch(conn: Connection, batch_id: int, user: str | None) -> dict[str, int]:
    """Undo a committed batch: delete what it created, restore the before-images of what it updated.

    Raises
    ------
    RollbackRefused
        If the batch does not exist, is not committed, or a later committed batch changed
        a facility it wrote (roll that batch back first).
    """
    from registry.models import ImportBatch

    batch = conn.execute(select(ImportBatch.__table__).where(ImportBatch.id == batch_id)).mappings().first()
    if batch is None:
        raise RollbackRefused(f"批次 {batch_id} 不存在 / batch {batch_id} does not exist")
    if batch["status"] != "committed":
        raise RollbackRefused(f"批次 {batch_id} 状态为 {batch['status']}，不能回滚 / "
                              f"batch {batch_id} is {batch['status']}, it cannot be rolled back")
    later = conn.exec_driver_sql("""
        SELECT DISTINCT c.batch_id FROM import_change c JOIN import_batch b ON b.id = c.batch_id
        WHERE c.previous_batch_id = %(b)s AND b.status = 'committed' ORDER BY 1""", {"b": batch_id}).scalars().all()
    if later:
        ids = ", ".join(str(x) for x in later)
        raise RollbackRefused(f"批次 {ids} 之后又修改了本批次的记录，请先回滚批次 {ids} / "
                              f"later batch(es) {ids} changed records of this batch: roll back {ids} first")
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('registry.import'))")
    deleted = conn.exec_driver_sql("""
        DELETE FROM facility f WHERE f.batch_id = %(b)s
          AND NOT EXISTS (SELECT 1 FROM import_change c WHERE c.batch_id = %(b)s AND c.facility_id = f.id)
    """, {"b": batch_id}).rowcount
    restored = 0
    from registry.models import Facility

    fac_cols = [c.name for c in Facility.__table__.columns if c.name != "id"]
    for kind_value, model in KIND_MODELS.items():
        table = model.__table__.name
        detail_cols = [c.name for c in model.__table__.columns if c.name != "id"]
        restored += conn.exec_driver_sql(f"""
            UPDATE facility f SET ({', '.join(fac_cols)}) =
                (SELECT {', '.join('r.' + c for c in fac_cols)}
                 FROM jsonb_populate_record(NULL::facility, c.before_facility) r)
            FROM import_change c WHERE c.batch_id = %(b)s AND c.facility_id = f.id AND c.kind = %(k)s
        """, {"b": batch_id, "k": kind_value}).rowcount
        if detail_cols:
            conn.exec_driver_sql(f"""
                UPDATE {table} k SET ({', '.join(detail_cols)}) =
                    (SELECT {', '.join('r.' + c for c in detail_cols)}
                     FROM jsonb_populate_record(NULL::{table}, c.before_detail) r)
                FROM import_change c WHERE c.batch_id = %(b)s AND c.facility_id = k.id AND c.kind = %(k)s
            """, {"b": batch_id, "k": kind_value})
    flags = conn.exec_driver_sql("DELETE FROM review_flag WHERE batch_id = %(b)s", {"b": batch_id}).rowcount
    conn.exec_driver_sql("""
        UPDATE import_batch SET status = 'rolled_back', rolled_back_at = now(), rolled_back_by = %(u)s
        WHERE id = %(b)s""", {"b": batch_id, "u": user})
    return {"deleted": deleted, "restored": restored, "flags_removed": flags}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
