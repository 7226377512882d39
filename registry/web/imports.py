"""Import and export pages: ``/import`` upload → preview (errors highlighted) → commit; batch
history, error reports and rollback; templates and export downloads.

Thin views: files are saved under a random token, :mod:`registry.importer` does the work,
templates in ``templates/imports/`` show the result (everything escaped by Jinja).
Permissions and CSRF for the write routes come from :mod:`registry.auth` (blueprint ``imports``).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from registry.coords import Crs
from registry.db import get_session
from registry.importer import MODES, ImportOptions, RollbackRefused, preview_import, rollback, run_import
from registry.importer.headers import KIND_HEADERS, SOURCE_HEADERS, header_table
from registry.importer.report import decompress
from registry.kinds import KIND_SPECS, FacilityKind

bp = Blueprint("imports", __name__)

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ALLOWED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
CRS_OPTIONS = [(Crs.WGS84.value, "WGS-84 (GPS)"), (Crs.CGCS2000.value, "CGCS2000 (国家2000)"),
               (Crs.GCJ02.value, "GCJ-02 (高德/腾讯 Amap/Tencent)"), (Crs.BD09.value, "BD-09 (百度 Baidu)")]


UPLOAD_MAX_AGE_S = 24 * 3600
"""Previews not committed within this many seconds (config ``IMPORT_UPLOAD_MAX_AGE``) are deleted."""


def _upload_dir() -> Path:
    folder = Path(current_app.config.get("IMPORT_UPLOAD_DIR") or Path(tempfile.gettempdir()) / "registry-imports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sweep_uploads(folder: Path, max_age_s: float) -> int:
    """Delete the preview folders in ``folder`` untouched for ``max_age_s`` seconds; return how many.

    An upload is kept only between its preview and its commit (the commit deletes it); previews nobody
    committed are swept at the next upload.
    """
    limit = time.time() - max_age_s
    removed = 0
    for child in folder.iterdir():
        try:
            old = child.is_dir() and TOKEN.match(child.name) is not None and child.stat().st_mtime < limit
        except OSError:
            continue
        if old:
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    return removed


def _token_dir(token: str) -> Path:
    if not TOKEN.match(token or ""):
        abort(404)
    folder = _upload_dir() / token
    if not folder.is_dir():
        abort(404, description="这个预览已过期或不存在，请重新上传文件。/ This preview has expired; upload the file again.")
    return folder


def request_actor() -> Any:
    """The audit actor of this request (registry.auth)."""
    from registry.auth.identity import request_actor as actor

    return actor()


def _district_limit() -> str | None:
    """The district a limited clerk may import into (registry.auth; ``None``: anywhere)."""
    from registry.auth.identity import current_user
    from registry.editing import district_limit_of

    return district_limit_of(current_user())


def _who() -> str:
    try:
        from registry.auth.identity import current_user

        user = current_user()
        if user is not None:
            return user.username
    except Exception:  # noqa: BLE001 - accounts not installed, or no request user
        pass
    return (request.form.get("operator") or "web").strip()[:64] or "web"


def _form_options(form: Any, filename: str) -> ImportOptions:
    kind = form.get("kind") or None
    crs = form.get("crs") or ""
    mode = form.get("mode") or "reject-file"
    if kind is not None and kind not in {k.value for k in FacilityKind}:
        abort(400, description=f"未知的设施类型 / unknown kind: {kind!r}")
    if crs not in {c.value for c in Crs}:
        abort(400, description="请选择文件的坐标系 / choose the file's coordinate system (crs).")
    if mode not in MODES:
        abort(400, description=f"未知的模式 / unknown mode: {mode!r}")
    return ImportOptions(crs=crs, kind=kind, mode=mode, source=form.get("source") or "import",
                         created_by=_who(), filename=filename, actor=request_actor(),
                         district_limit=_district_limit())


def _kinds_context() -> dict[str, Any]:
    return {"kinds": [KIND_SPECS[k] for k in FacilityKind], "crs_options": CRS_OPTIONS,
            "header_tables": {k.value: header_table(k) for k in FacilityKind},
            "kind_headers": KIND_HEADERS, "source_headers": SOURCE_HEADERS}


@bp.get("/import")
def index() -> str:
    """The upload form, with the accepted headers of every kind and the template downloads."""
    return render_template("imports/index.html", **_kinds_context())


@bp.post("/import")
def upload() -> Any:
    """Save the upload under a token and show the dry run (preview)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, description="请选择要上传的文件 / choose a file to upload (file).")
    filename = Path(upload.filename).name
    if not filename.lower().endswith(ALLOWED_SUFFIXES):
        abort(400, description="只接受 .csv、.tsv、.txt 或 .xlsx 文件 / only .csv, .tsv, .txt or .xlsx files.")
    options = _form_options(request.form, filename)
    token = secrets.token_urlsafe(18)
    uploads = _upload_dir()
    sweep_uploads(uploads, float(current_app.config.get("IMPORT_UPLOAD_MAX_AGE", UPLOAD_MAX_AGE_S)))
    folder = uploads / token
    folder.mkdir()
    try:
        path = folder / "upload.bin"
        upload.save(path)
        (folder / "options.json").write_text(json.dumps({
            "filename": filename, "kind": options.kind.value if options.kind else None,  # type: ignore[union-attr]
            "crs": options.crs.value, "mode": options.mode, "source": options.source,  # type: ignore[union-attr]
        }), encoding="utf-8")
        session = get_session()
        result = preview_import(session.connection(), path, options)
        session.rollback()
        if result.report_csv:
            (folder / "report.csv").write_bytes(result.report_csv)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if result.unusable:  # nothing can be committed from it: keep nothing
        shutil.rmtree(folder, ignore_errors=True)
    status = 422 if result.unusable else 200
    return render_template("imports/preview.html", result=result, token=token, options=options,
                           **_kinds_context()), status


@bp.get("/import/preview/<token>/report.csv")
def preview_report(token: str) -> Response:
    """The error report of a preview (rejected rows as uploaded, plus an error column)."""
    path = _token_dir(token) / "report.csv"
    if not path.exists():
        abort(404, description="这次预览没有被拒绝的行 / this preview has no rejected rows.")
    return _download(path.read_bytes(), "text/csv; charset=utf-8", "errors.csv")


@bp.post("/import/commit")
def commit() -> Any:
    """Run the import of a previewed file for real (atomic) and show its batch."""
    token = request.form.get("token", "")
    folder = _token_dir(token)
    saved = json.loads((folder / "options.json").read_text(encoding="utf-8"))
    form = {**saved, "mode": request.form.get("mode") or saved["mode"]}
    options = _form_options(form, saved["filename"])
    session = get_session()
    result = run_import(session.connection(), folder / "upload.bin", options)
    if not result.committed:
        session.rollback()
        return render_template("imports/preview.html", result=result, token=token, options=options,
                               **_kinds_context()), 422
    session.commit()
    shutil.rmtree(folder, ignore_errors=True)
    return redirect(url_for("imports.batch", batch_id=result.batch_id))


@bp.get("/import/batches")
def batches() -> str:
    """Import history: who, when, file, checksum, encoding, CRS, counts, status."""
    from registry.models import ImportBatch

    rows = get_session().scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(200)).all()
    return render_template("imports/batches.html", batches=rows)


def _batch_or_404(batch_id: int) -> Any:
    from registry.models import ImportBatch

    batch = get_session().get(ImportBatch, batch_id)
    if batch is None:
        abort(404, description=f"没有批次 {batch_id} / no batch {batch_id}")
    return batch


@bp.get("/import/batches/<int:batch_id>")
def batch(batch_id: int) -> str:
    """One batch: provenance, counts, issues, flags, report download, rollback."""
    from registry.models import ImportReport, ReviewFlag

    b = _batch_or_404(batch_id)
    session = get_session()
    report = session.get(ImportReport, batch_id)
    flags = session.scalars(select(ReviewFlag).where(ReviewFlag.batch_id == batch_id)
                            .order_by(ReviewFlag.id).limit(500)).all()
    return render_template("imports/batch.html", batch=b, issues=(report.issues if report else []),
                           has_report=bool(report and report.report_csv_gz), flags=flags,
                           message=request.args.get("message"))


@bp.get("/import/batches/<int:batch_id>/report.csv")
def batch_report(batch_id: int) -> Response:
    """The stored error report of a batch."""
    from registry.models import ImportReport

    _batch_or_404(batch_id)
    report = get_session().get(ImportReport, batch_id)
    if report is None or not report.report_csv_gz:
        abort(404, description="这个批次没有被拒绝的行 / this batch has no rejected rows.")
    return _download(decompress(report.report_csv_gz), "text/csv; charset=utf-8", f"batch_{batch_id}_errors.csv")


@bp.post("/import/batches/<int:batch_id>/rollback")
def batch_rollback(batch_id: int) -> Any:
    """Undo a batch (deletes what it created, restores the before-images of what it updated)."""
    _batch_or_404(batch_id)
    session = get_session()
    limit = _district_limit()
    if limit:  # accounts: a clerk limited to one district rolls back only batches inside it
        from registry.editing import batch_outside_district, district_refusal

        outside = batch_outside_district(session.connection(), batch_id, limit)
        if outside:
            abort(403, description=" / ".join(district_refusal(outside, limit)))
    try:
        done = rollback(session.connection(), batch_id, _who(), actor=request_actor(),
                        district_limit=_district_limit())
    except RollbackRefused as exc:
        session.rollback()
        abort(409, description=str(exc))
    session.commit()
    message = f"已回滚：删除 {done['deleted']} 条，恢复 {done['restored']} 条 / rolled back: {done['deleted']} deleted, " \
              f"{done['restored']} restored"
    return redirect(url_for("imports.batch", batch_id=batch_id, message=message))


@bp.get("/import/template/<kind>.<fmt>")
def template(kind: str, fmt: str) -> Response:
    """Empty import template of a kind: Chinese headers and one example row (CSV or xlsx)."""
    from registry.exporter import MEDIA_TYPES, template_csv, template_xlsx

    if kind not in {k.value for k in FacilityKind} or fmt not in ("csv", "xlsx"):
        abort(404)
    data = template_csv(kind) if fmt == "csv" else template_xlsx(kind)
    return _download(data, MEDIA_TYPES[fmt], f"{kind}_template.{fmt}")


@bp.get("/export")
def export() -> Response:
    """Download facilities as CSV (BOM, formula-safe), GeoJSON or GeoPackage, filtered like the list."""
    from registry.exporter import FORMATS, MEDIA_TYPES, ExportFilter, export_bytes

    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        abort(400, description=f"format 应为 / must be one of {', '.join(FORMATS)}")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in {k.value for k in FacilityKind}:
        abort(400, description=f"kind 未知 / unknown kind {kind!r}")
    district = request.args.get("district") or None
    if district is not None and not (district == "none" or re.fullmatch(r"\d{6}", district)):
        abort(400, description="district 应为 6 位区划代码或 none / district must be a 6-digit adcode or 'none'")
    batch_raw = request.args.get("batch") or None
    if batch_raw is not None and not batch_raw.isdigit():
        abort(400, description="batch 应为整数 / batch must be an integer")
    flt = ExportFilter(kind=kind, district=district, status=request.args.get("status") or None,
                       q=request.args.get("q") or None, batch_id=int(batch_raw) if batch_raw else None)
    data = export_bytes(get_session(), flt, fmt)
    ext = {"csv": "csv", "geojson": "geojson", "gpkg": "gpkg"}[fmt]
    return _download(data, MEDIA_TYPES[fmt], f"facilities{'_' + kind if kind else ''}.{ext}")


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
