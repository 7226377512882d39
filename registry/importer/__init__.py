"""Importing facility files (CSV, TSV, GBK/UTF-8, .xlsx) row by row, with nothing lost.

:func:`preview_import` runs every check and a full trial write inside a
savepoint that is then rolled back (the dry run); :func:`run_import` does the
same and keeps the result.  Either way the caller owns the transaction: the
import happens in a savepoint of ``conn``, so an error anywhere leaves
nothing half-written, and the caller commits.

>>> # with a connection inside a transaction:
>>> # result = run_import(conn, "museums.csv", ImportOptions(kind="museum", crs="gcj02"))
>>> # result.exit_code  -> 0 all good, 1 rows rejected, 2 file unusable

Stages: :mod:`.read` (bytes → rows), :mod:`.headers` (columns → fields),
:mod:`.values` (cell text → typed values), :mod:`.validate` (rows, coordinates),
:mod:`.write` (COPY, set-based checks, upsert, rollback), :mod:`.report`
(messages and the error report).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select, update

from registry.coords import Crs, from_wgs84, parse_crs, to_wgs84
from registry.importer.headers import HeaderMatch, best_kind, match_headers
from registry.importer.read import FileProblem, TableFile, open_table
from registry.importer.report import (
    ERROR,
    INFO,
    WARNING,
    Issue,
    IssueLog,
    RejectSpool,
    compress,
    row_issue,
)
from registry.importer.validate import (
    ChunkResult,
    ImportPlan,
    build_place_aliases,
    validate_chunk,
)
from registry.importer.write import (
    RollbackRefused,
    Staging,
    rollback_batch,
    session_settings,
)
from registry.kinds import KIND_SPECS, FacilityKind

MODES = ("reject-file", "import-valid")
PREVIEW_ROWS = 100
PREVIEW_REJECTED = 300
CRS_LABELS = {Crs.WGS84: "WGS-84", Crs.CGCS2000: "CGCS2000", Crs.GCJ02: "GCJ-02 (高德/腾讯)",
              Crs.BD09: "BD-09 (百度)"}

Progress = Callable[[int, int], None]


@dataclass
class ImportOptions:
    """How to read a file.

    Parameters
    ----------
    crs : str
        Coordinate system the file's points are in (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``).
    kind : str, optional
        The kind of every row; may be omitted when the file has a ``kind``/``类型`` column.
    mode : str
        ``reject-file`` (default: any bad row rejects the whole file) or ``import-valid``.
    source : str
        Default source of the rows (with ``external_id`` the key that makes re-imports update).
    created_by : str, optional
        Who imports (recorded in the batch).
    filename : str, optional
        Original file name (uploads are stored under a temporary name).
    actor : registry.audit.Actor, optional
        Who imports, for the audit trail (default: ``created_by``).
    district_limit : str, optional
        Adcode the importing clerk is limited to: a batch writing any facility elsewhere is refused.
    """

    crs: str | Crs
    kind: str | FacilityKind | None = None
    mode: str = "reject-file"
    source: str = "import"
    created_by: str | None = None
    filename: str | None = None
    chunk_size: int = 50_000
    actor: Any = None  # registry.audit.Actor for the audit trail (accounts)
    district_limit: str | None = None  # a clerk limited to one district imports only there (accounts)

    def __post_init__(self) -> None:
        self.crs = parse_crs(self.crs)
        if self.kind not in (None, ""):
            self.kind = FacilityKind(self.kind)
        else:
            self.kind = None
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        self.source = (self.source or "import").strip()[:200] or "import"


@dataclass
class PreviewRow:
    """A row shown in the preview table: its cells and the issues per column."""

    row: int
    cells: list[str]
    status: str  # ok | rejected | needs_coordinates | warning
    messages: list[str] = field(default_factory=list)
    bad_columns: set[int] = field(default_factory=set)


@dataclass
class ImportResult:
    """Everything an import found and did (also what the preview page and CLI print)."""

    filename: str
    crs: Crs
    mode: str
    dry_run: bool
    checksum: str | None = None
    file_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    headers: list[str] = field(default_factory=list)
    columns: list[tuple[str, str | None, str]] = field(default_factory=list)  # header, field label, status
    kinds: list[str] = field(default_factory=list)
    n_rows: int = 0
    n_blank: int = 0
    n_rejected: int = 0
    n_needs_coordinates: int = 0
    n_created: int = 0
    n_updated: int = 0
    n_flagged: int = 0
    unusable: bool = False
    committed: bool = False
    blocked: bool = False  # reject-file mode and some row failed: nothing written
    batch_id: int | None = None
    issues: IssueLog = field(default_factory=IssueLog)
    preview: list[PreviewRow] = field(default_factory=list)
    report_csv: bytes | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage of the run (``read_validate_write``, ``checks``, ``review_flags``, ``finish``,
    ``compliance_recheck``), for the CLI's verbose output and the benchmark."""

    @property
    def exit_code(self) -> int:
        """0 all good, 1 rows rejected (or needing coordinates), 2 file unusable."""
        if self.unusable:
            return 2
        if self.n_rejected or self.n_needs_coordinates:
            return 1
        return 0

    @property
    def n_warnings(self) -> int:
        return self.issues.count(WARNING)

    @property
    def crs_label(self) -> str:
        return CRS_LABELS.get(self.crs, str(self.crs))

    def summary(self, lang: str = "zh") -> list[str]:
        """Short lines for the CLI and the page header."""
        zh = lang != "en"
        if self.unusable:
            return [("文件无法使用：" if zh else "File unusable: ") + i.text(lang)
                    for i in self.issues.file_issues if i.severity == ERROR]
        verb = ("预览" if self.dry_run else "导入") if zh else ("preview" if self.dry_run else "import")
        lines = [
            (f"{verb}：{self.filename}（{self.file_format}，编码 {self.encoding or '-'}，坐标系 {self.crs_label}）" if zh
             else f"{verb}: {self.filename} ({self.file_format}, encoding {self.encoding or '-'}, CRS {self.crs_label})"),
            (f"数据行 {self.n_rows}：新建 {self.n_created}，更新 {self.n_updated}，拒绝 {self.n_rejected}，"
             f"需补坐标 {self.n_needs_coordinates}，待复核 {self.n_flagged}，警告 {self.n_warnings}" if zh
             else f"{self.n_rows} data rows: {self.n_created} created, {self.n_updated} updated, "
                  f"{self.n_rejected} rejected, {self.n_needs_coordinates} need coordinates, "
                  f"{self.n_flagged} flagged for review, {self.n_warnings} warnings"),
        ]
        if self.blocked:
            lines.append("有行被拒绝，按“整文件拒绝”模式未写入任何数据。" if zh else
                         "Rows were rejected; in reject-file mode nothing was written.")
        elif self.committed:
            lines.append(f"已提交为批次 {self.batch_id}。" if zh else f"Committed as batch {self.batch_id}.")
        elif self.dry_run:
            lines.append("试运行：未写入任何数据。" if zh else "Dry run: nothing was written.")
        return lines


# --------------------------------------------------------------------------- public API
def preview_import(conn: Connection, path: str | Path, options: ImportOptions,
                   progress: Progress | None = None) -> ImportResult:
    """Check a file and try the write in a savepoint that is rolled back: what *would* happen."""
    return _import(conn, Path(path), options, commit=False, progress=progress)


def run_import(conn: Connection, path: str | Path, options: ImportOptions,
               progress: Progress | None = None) -> ImportResult:
    """Import a file as one batch inside a savepoint of ``conn`` (the caller commits the transaction).

    In ``reject-file`` mode any rejected row (or row needing coordinates) means nothing is written.
    """
    return _import(conn, Path(path), options, commit=True, progress=progress)


def rollback(conn: Connection, batch_id: int, user: str | None = None, actor: Any = None,
             district_limit: str | None = None) -> dict[str, int]:
    """Undo a committed batch (see :func:`registry.importer.write.rollback_batch`); audited (``actor`` or ``user``).

    ``district_limit``: the adcode a clerk is limited to; a batch that touched another district is refused.
    """
    from registry.audit import RollbackAudit

    if district_limit:
        from registry.editing import batch_outside_district, district_refusal

        outside = batch_outside_district(conn, batch_id, district_limit)
        if outside:
            raise RollbackRefused(" / ".join(district_refusal(outside, district_limit)))
    with conn.begin_nested():
        # compliance: note the batch's facilities before they are deleted or restored, then re-check them
        # and their neighbours (registry.compliance_db).
        from registry.compliance_db.service import batch_facility_ids, recheck

        touched = batch_facility_ids(conn, batch_id)
        with RollbackAudit(conn, actor or user or "import", batch_id):  # audit trail (accounts)
            out = rollback_batch(conn, batch_id, user)
        recheck(conn, touched, trigger="import-rollback")
        return out


# --------------------------------------------------------------------------- the pipeline
def _import(conn: Connection, path: Path, options: ImportOptions, commit: bool,
            progress: Progress | None) -> ImportResult:
    result = ImportResult(filename=options.filename or path.name, crs=options.crs, mode=options.mode,
                          dry_run=not commit)
    try:
        table = open_table(path, result.filename)
    except FileProblem as problem:
        return _unusable(result, problem)
    result.checksum, result.file_format, result.sheet = table.checksum, table.format, table.sheet
    result.encoding, result.headers = table.encoding_label, table.headers
    result.delimiter = table.delimiter_label or None
    for zh, en in table.notes:
        result.issues.add(Issue(INFO, "note", zh, en))
    try:
        plan = _plan(conn, table, options, result)
    except FileProblem as problem:
        return _unusable(result, problem)

    savepoint = conn.begin_nested()
    spool = RejectSpool()
    try:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('registry.import'))")
        clock = _Clock(result.timings)
        with session_settings(conn):
            # Rows are written chunk by chunk while the file streams (the server writes one chunk while the
            # next is parsed); a file that turns out to be blocked, or a dry run, is rolled back with the savepoint.
            batch_id = _insert_batch(conn, table, options)
            staging = Staging(conn, batch_id)
            _stream(table, plan, staging, spool, result, options, progress)
            clock.lap("read_validate_write")
            if result.n_rows == 0:
                raise FileProblem("no_rows", "文件只有表头，没有数据行。", "The file has a header but no data rows.")
            staging.prepare()
            _database_checks(conn, staging, table, plan, spool, result)
            result.n_created, result.n_updated = staging.counts()
            result.report_csv = spool.report_csv(table.headers) if spool.count else None
            clock.lap("checks")
            if options.mode == "reject-file" and (result.n_rejected or result.n_needs_coordinates):
                result.blocked = True
                result.n_created = result.n_updated = 0
                savepoint.rollback()
                return result
            result.n_flagged = staging.flag(batch_id)
            for dup in staging.near_duplicates(batch_id):
                result.issues.add(_near_duplicate_issue(dup))
            clock.lap("review_flags")
            _finish_batch(conn, batch_id, result)
            staging.close()
            clock.lap("finish")
            if options.district_limit:  # accounts: a district-limited clerk (registry.editing)
                from registry.editing import batch_outside_district, district_refusal

                outside = batch_outside_district(conn, batch_id, options.district_limit)
                if outside:
                    result.n_created = result.n_updated = 0
                    raise FileProblem("district_limit", *district_refusal(outside, options.district_limit))
        if commit:
            # compliance: re-evaluate the batch's facilities and the cross-kind neighbours they touch
            # (berths/elevators near a moved kindergarten), in this savepoint (registry.compliance_db).
            from registry.compliance_db.service import recheck_batch

            recheck_batch(conn, batch_id)
            clock.lap("compliance_recheck")
            # audit trail: one event per facility with before/after per field (registry.audit, accounts)
            from registry.audit import record_import

            record_import(conn, options.actor or options.created_by or "import", batch_id)
            clock.lap("audit")
            savepoint.commit()
            result.committed, result.batch_id = True, batch_id
        else:
            savepoint.rollback()
        return result
    except FileProblem as problem:
        savepoint.rollback()
        return _unusable(result, problem)
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    finally:
        spool.close()


class _Clock:
    """Adds the seconds since the previous lap to ``timings[name]``."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now


def _unusable(result: ImportResult, problem: FileProblem) -> ImportResult:
    result.unusable = True
    result.issues.add(Issue(ERROR, problem.code, problem.zh, problem.en))
    return result


def _plan(conn: Connection, table: TableFile, options: ImportOptions, result: ImportResult) -> ImportPlan:
    """File-level checks of the header row; decide the kinds and bind the columns."""
    fixed: FacilityKind | None = options.kind  # type: ignore[assignment]
    probe = match_headers(table.headers, [fixed or FacilityKind.MUSEUM])
    has_kind_column = probe.kind_column is not None
    if fixed is None and not has_kind_column:
        guess, n = best_kind(table.headers)
        hint_zh = f"（表头看起来像“{KIND_SPECS[guess].zh}”）" if n >= 2 else ""
        hint_en = f" (the headers look like '{guess.value}')" if n >= 2 else ""
        raise FileProblem("kind_required", f"请选择设施类型，或在文件中加入“类型”列{hint_zh}。",
                          f"Choose the facility kind, or add a 'kind'/'类型' column{hint_en}.")
    kinds = [fixed] if fixed and not has_kind_column else list(FacilityKind) if fixed is None else [fixed]
    match: HeaderMatch = match_headers(table.headers, kinds)
    if fixed is not None and not has_kind_column:
        guess, n_guess = best_kind(table.headers)
        n_fixed = match.kinds[fixed].n_kind_fields
        if guess != fixed and n_guess >= 3 and n_fixed * 2 < n_guess:
            g, f = KIND_SPECS[guess], KIND_SPECS[fixed]
            raise FileProblem(
                "wrong_kind",
                f"文件的表头像“{g.zh}”（{n_guess} 列匹配），而不是所选的“{f.zh}”（{n_fixed} 列匹配）。请选择正确的类型。",
                f"The headers look like '{g.en}' ({n_guess} columns match), not the chosen '{f.en}' "
                f"({n_fixed} match). Choose the right kind.")
    any_cols = next(iter(match.kinds.values()))
    if "name" not in any_cols.common:
        raise FileProblem("no_name_column", "缺少“名称”列（可用表头：名称、name、单位名称、设施名称…）。",
                          "No name column (accepted headers: 名称, name, 单位名称, 设施名称...).")
    has_lon, has_lat = "lon" in any_cols.common, "lat" in any_cols.common
    if has_lon != has_lat:
        missing = "纬度 latitude" if has_lon else "经度 longitude"
        raise FileProblem("coordinate_column", f"只有经度或纬度其中一列，缺少 {missing} 列。",
                          f"Only one coordinate column: the {missing} column is missing.")
    if not has_lon and "address" not in any_cols.common:
        raise FileProblem("no_location_columns", "缺少经度/纬度列，也没有地址列，无法定位设施。",
                          "No longitude/latitude columns and no address column: facilities cannot be placed.")
    if not has_lon:
        result.issues.add(Issue(WARNING, "no_coordinate_columns",
                                "文件没有经纬度列：所有行都需要补充坐标，不会导入。",
                                "The file has no longitude/latitude columns: every row needs coordinates and "
                                "none will be imported."))
    unknown = match.unknown_columns()
    if unknown:
        names = "、".join(f"「{table.headers[i]}」" for i in unknown)
        names_en = ", ".join(f"'{table.headers[i]}'" for i in unknown)
        result.issues.add(Issue(WARNING, "unknown_column",
                                f"无法识别的列（未导入，保留在错误报告中）：{names}。可接受的表头见导入页面的对照表。",
                                f"Unknown columns (not imported, kept in the error report): {names_en}. "
                                "See the header table on the import page."))
    for dropped, kept, name in match.duplicates:
        result.issues.add(Issue(WARNING, "duplicate_column",
                                f"「{table.headers[dropped]}」与「{table.headers[kept]}」都对应字段 {name}，只使用后者。",
                                f"'{table.headers[dropped]}' and '{table.headers[kept]}' both map to {name}; "
                                "only the latter is used."))
    if match.export_only:
        result.issues.add(Issue(INFO, "export_columns",
                                "系统生成的列（如系统编号、落点区县、错误说明）在导入时忽略。",
                                "Columns computed by the registry (ids, assigned district, error notes) are "
                                "ignored on import."))
    units = _place_units(conn)
    zones = frozenset(code for code, _, level in units if level == "zone")
    plan = ImportPlan(match=match, fixed_kind=fixed, crs=options.crs, default_source=options.source,  # type: ignore[arg-type]
                      place_aliases=build_place_aliases([(c, n) for c, n, _ in units]), zone_codes=zones)
    result.columns = _column_table(table, match, kinds)
    return plan


def _place_units(conn: Connection) -> list[tuple[str, str, str]]:
    from registry.models import CensusUnit, District

    rows = [(a, n, "county") for a, n in conn.execute(
        select(District.adcode, District.name).where(District.level == "county"))]
    rows += [(c, n, "zone") for c, n in conn.execute(
        select(CensusUnit.code, CensusUnit.name).where(CensusUnit.unit_type == "functional_zone"))]
    return rows


def _column_table(table: TableFile, match: HeaderMatch, kinds: list[FacilityKind]
                  ) -> list[tuple[str, str | None, str]]:
    out: list[tuple[str, str | None, str]] = []
    unknown = set(match.unknown_columns())
    for i, header in enumerate(table.headers):
        label = None
        for kind in kinds:
            cols = match.kinds[kind]
            for col in (*cols.common.values(), *cols.fields.values()):
                if col.index == i:
                    label = f"{col.field.zh} {col.field.name}"
        if i == match.kind_column:
            label, status = "类型 kind", "meta"
        elif i == match.source_column:
            label, status = "来源 source", "meta"
        elif i in match.export_only:
            status = "ignored"
        elif i in unknown:
            status = "unknown"
        elif label is None:
            status = "ignored"
        else:
            status = "field"
        out.append((header, label, status))
    return out


def _stream(table: TableFile, plan: ImportPlan, staging: Staging, spool: RejectSpool, result: ImportResult,
            options: ImportOptions, progress: Progress | None) -> None:
    """Validate every chunk, spool rejected rows, COPY valid ones, keep preview rows.

    The ``COPY`` stays open across chunks and is sent by a worker thread, so
    the server loads one chunk while the next is parsed; it is finished (or
    aborted on any error) before this returns.
    """
    try:
        _stream_chunks(table, plan, staging, spool, result, options, progress)
    except BaseException as exc:
        staging.end_copy(exc)
        raise
    staging.end_copy()


def _stream_chunks(table: TableFile, plan: ImportPlan, staging: Staging, spool: RejectSpool, result: ImportResult,
                   options: ImportOptions, progress: Progress | None) -> None:
    kinds_seen: set[str] = set()
    for chunk in table.chunks(options.chunk_size):
        out = validate_chunk(chunk, plan)
        result.n_rows += len(chunk) - out.blank
        result.n_blank += out.blank
        for issue in out.warnings:
            result.issues.add(issue)
        for i, issues in sorted(out.rejected.items()):
            for issue in issues:
                result.issues.add(issue)
            spool.add(int(chunk.row_numbers[i]), [x.bilingual for x in issues], chunk.rows[i])
        for i, issue in sorted(out.needs_coordinates.items()):
            result.issues.add(issue)
            spool.add(int(chunk.row_numbers[i]), [issue.bilingual], chunk.rows[i])
        result.n_rejected += len(out.rejected)
        result.n_needs_coordinates += len(out.needs_coordinates)
        _keep_preview(result, chunk, out)
        kinds_seen.update(_stage_valid_rows(staging, out))
        if progress:
            progress(chunk.bytes_read, table.size)
        del chunk, out  # free this chunk before the next one is read (peak memory)
    result.kinds = sorted(kinds_seen)


def _stage_valid_rows(staging: Staging, out: ChunkResult) -> set[str]:
    """Hand each kind's valid rows of a chunk to the staging writer; return the kinds seen."""
    for rows in out.rows:
        staging.copy(rows)
    return {rows.kind.value for rows in out.rows}


def _keep_preview(result: ImportResult, chunk: Any, out: Any) -> None:
    header_index = {h: i for i, h in enumerate(result.headers)}

    def row(i: int, status: str, issues: list[Issue]) -> PreviewRow:
        cells = list(chunk.rows[i])
        return PreviewRow(int(chunk.row_numbers[i]), cells, status, [x.text() for x in issues],
                          {header_index[x.column] for x in issues if x.column in header_index})

    n_bad = sum(1 for p in result.preview if p.status != "ok")
    for i in range(len(chunk)):
        bad = out.rejected.get(i)
        need = out.needs_coordinates.get(i)
        if bad and n_bad < PREVIEW_REJECTED:
            result.preview.append(row(i, "rejected", bad))
            n_bad += 1
        elif need and n_bad < PREVIEW_REJECTED:
            result.preview.append(row(i, "needs_coordinates", [need]))
            n_bad += 1
        elif not bad and not need and int(chunk.row_numbers[i]) <= PREVIEW_ROWS + 1:
            result.preview.append(row(i, "ok", []))


def _database_checks(conn: Connection, staging: Staging, table: TableFile, plan: ImportPlan, spool: RejectSpool,
                     result: ImportResult) -> None:
    """Set-based checks on the staged rows: ids of another kind, districts, CRS plausibility."""
    conflicts = staging.kind_conflicts()
    if conflicts:
        by_row = {r: (e, k) for r, e, k in conflicts}
        for chunk in table.chunks():
            for i, row_no in enumerate(chunk.row_numbers.tolist()):
                if row_no in by_row:
                    ext, other = by_row[row_no]
                    issue = row_issue(row_no, "id_other_kind",
                                      f"编号 {ext} 已属于另一类设施（{KIND_SPECS[FacilityKind(other)].zh}），不能改为本类型。",
                                      f"id {ext} already belongs to a facility of another kind ({other}); "
                                      "it cannot change kind.", column=None, value=ext)
                    result.issues.add(issue)
                    spool.add(row_no, [issue.bilingual], chunk.rows[i])
                    for p in result.preview:
                        if p.row == row_no:
                            p.status, p.messages = "rejected", p.messages + [issue.zh]
        result.n_rejected += len(conflicts)
    names = {}
    for m in staging.district_mismatches():
        dist = m["distance_m"]
        names.setdefault("x", None)
        shown = f"{dist:.0f} m" if dist is not None else "?"
        result.issues.add(row_issue(
            m["row_no"], "district_mismatch",
            f"声明的所属区县「{m['declared_district']}」与坐标落点（{m['district_code'] or '郑州市外'}）不一致，"
            f"距所声明区县约 {shown}。",
            f"declared district '{m['declared_district']}' differs from where the point lies "
            f"({m['district_code'] or 'outside Zhengzhou'}), about {shown} from the declared one.",
            severity=WARNING, value=m["declared_district"]))
        for p in result.preview:
            if p.row == m["row_no"] and p.status == "ok":
                p.status = "warning"
                p.messages.append("所属区县与坐标落点不一致")
    n_out, outside = staging.outside_rows()
    for row_no, lon, lat in outside:
        result.issues.add(row_issue(row_no, "outside_city",
                                    f"坐标 ({lon:.5f}, {lat:.5f}) 不在郑州市范围内，已标记待复核。",
                                    f"point ({lon:.5f}, {lat:.5f}) lies outside Zhengzhou; flagged for review.",
                                    severity=WARNING))
        for p in result.preview:
            if p.row == row_no and p.status == "ok":
                p.status = "warning"
                p.messages.append("不在郑州市范围内")
    hint = _crs_hint(staging, plan.crs)
    if hint is not None:
        result.issues.add(hint)


def _crs_hint(staging: Staging, declared: Crs) -> Issue | None:
    """Suggest another coordinate system when points sit systematically off the districts they claim.

    The declared districts of a sample of rows are tested under each other
    interpretation of the raw coordinates; if another system puts clearly more
    points into the district they claim, and the misplaced ones lie a few
    hundred metres off (the size of the GCJ-02/BD-09 offsets), say so.
    """
    total, mismatched = staging.declared_counts()
    if total < 5 or mismatched < 3 or mismatched / total < 0.05:
        return None
    sample = staging.declared_sample()
    lon = np.array([s[0] for s in sample])
    lat = np.array([s[1] for s in sample])
    codes = [s[2] for s in sample]
    raw_lon, raw_lat = from_wgs84(lon, lat, declared)
    base = staging.count_inside_declared(list(zip(lon.tolist(), lat.tolist(), codes)))
    best: tuple[int, Crs] | None = None
    for alt in (Crs.WGS84, Crs.GCJ02, Crs.BD09):
        if alt == declared or {alt, declared} == {Crs.WGS84, Crs.CGCS2000}:
            continue
        alon, alat = to_wgs84(raw_lon, raw_lat, alt)
        n = staging.count_inside_declared(list(zip(alon.tolist(), alat.tolist(), codes)))
        if best is None or n > best[0]:
            best = (n, alt)
    if best is None:
        return None
    n_alt, alt = best
    miss_base, miss_alt = len(sample) - base, len(sample) - n_alt
    distances = [m["distance_m"] for m in staging.district_mismatches(limit=2000) if m["distance_m"] is not None]
    typical = statistics.median(distances) if distances else None
    if miss_alt * 2 > miss_base or miss_base - miss_alt < 3 or (typical is not None and typical > 3000):
        return None
    shown = f"{typical:.0f}" if typical is not None else "?"
    return Issue(
        WARNING, "crs_suspect",
        f"{mismatched}/{total} 个点不在其声明的区县内，通常偏离约 {shown} 米；若按 {CRS_LABELS[alt]} 解读，"
        f"抽样中不一致的点从 {miss_base} 个减少到 {miss_alt} 个。所选坐标系 {CRS_LABELS[declared]} 可能有误。",
        f"{mismatched} of {total} points lie outside the district they declare, typically about {shown} m off; "
        f"read as {CRS_LABELS[alt]}, the mismatches in a sample drop from {miss_base} to {miss_alt}. "
        f"The declared coordinate system {CRS_LABELS[declared]} may be wrong.",
    )


def _near_duplicate_issue(dup: dict[str, Any]) -> Issue:
    other = f"第 {dup['other_row']} 行" if dup["other_row"] else f"已有记录 #{dup['other_id']}"
    other_en = f"row {dup['other_row']}" if dup["other_row"] else f"existing record #{dup['other_id']}"
    dist = dup["distance_m"] or 0.0
    return row_issue(dup["row_no"], "near_duplicate",
                     f"「{dup['name']}」与{other}「{dup['other_name']}」相距 {dist:.0f} 米、名称相近，已标记待复核（未合并）。",
                     f"'{dup['name']}' is {dist:.0f} m from {other_en} '{dup['other_name']}' with a similar name; "
                     "flagged for review (not merged).", severity=WARNING, value=dup["name"])


def _insert_batch(conn: Connection, table: TableFile, options: ImportOptions) -> int:
    """The batch row, before any facility row refers to it; :func:`_finish_batch` fills in the counts."""
    from registry.models import ImportBatch

    kind = options.kind.value if isinstance(options.kind, FacilityKind) else None
    return int(conn.execute(insert(ImportBatch).values(
        source=options.source, filename=options.filename or table.filename, checksum=table.checksum,
        encoding=table.encoding_label, crs=options.crs.value, kind=kind,  # type: ignore[union-attr]
        created_by=options.created_by, n_created=0, n_updated=0, n_rejected=0, n_flagged=0,
        status="committed", n_rows=0, n_needs_coordinates=0, n_warnings=0, mode=options.mode,
        file_format=table.format,
    ).returning(ImportBatch.id)).scalar_one())


def _finish_batch(conn: Connection, batch_id: int, result: ImportResult) -> None:
    from registry.models import ImportBatch, ImportReport

    kind = ",".join(result.kinds) or None
    conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(
        n_created=result.n_created, n_updated=result.n_updated, n_flagged=result.n_flagged,
        n_warnings=result.n_warnings, n_rows=result.n_rows, n_rejected=result.n_rejected,
        n_needs_coordinates=result.n_needs_coordinates,
        kind=func.coalesce(ImportBatch.kind, (kind or "")[:32] or None)))
    conn.execute(insert(ImportReport).values(
        batch_id=batch_id, report_csv_gz=compress(result.report_csv) if result.report_csv else None,
        issues=[i.as_dict() for i in result.issues.all()[:2000]]))


__all__ = ["ImportOptions", "ImportResult", "MODES", "RollbackRefused", "preview_import", "rollback",
           "run_import"]
