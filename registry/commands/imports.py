"""CLI: ``registry import``, ``export``, ``template``, ``batches``, ``rollback``.

Exit codes of ``registry import``: 0 all rows good, 1 rows rejected (or
needing coordinates), 2 file unusable (encoding, header, empty...) or bad options.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from registry.audit import Actor
from registry.commands.users import AS_OPTION, cli_user
from registry.coords import Crs
from registry.editing import district_limit_of
from registry.kinds import FacilityKind

KINDS = [k.value for k in FacilityKind]
CRS_CHOICES = [c.value for c in Crs]
PROGRESS_MIN_BYTES = 2 * 1024 * 1024


def _user(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), help="Kind of every row (or a kind/类型 column in the file).")
@click.option("--crs", type=click.Choice(CRS_CHOICES, case_sensitive=False), required=True,
              help="Coordinate system of the file's points (gcj02 = Amap/Tencent, bd09 = Baidu).")
@click.option("--dry-run", is_flag=True, help="Check everything and show what would happen; write nothing.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the error report (rejected rows + error column, UTF-8 CSV) here.")
@click.option("--on-error", "mode", type=click.Choice(["reject-file", "import-valid"]), default="reject-file",
              show_default=True, help="Reject the whole file on any bad row, or import the valid rows.")
@click.option("--source", default="import", show_default=True,
              help="Source of the rows: with the file's id column the key that makes re-imports update.")
@AS_OPTION
@click.option("--user", "user", hidden=True, help="Deprecated spelling of --as.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--max-messages", type=int, default=50, show_default=True, help="Row messages printed.")
def import_cmd(file: Path, kind: str | None, crs: str, dry_run: bool, report_path: Path | None, mode: str,
               source: str, as_user: str | None, user: str | None, lang: str, max_messages: int) -> None:
    """Import a facility file (CSV/TSV in UTF-8 or GBK, or .xlsx) as one batch.

    Needs --as USER (or REGISTRY_USER) with permission facility.import; --dry-run writes nothing and needs none.
    """
    from registry import migrate
    from registry.cli import CliError, _ensure_database
    from registry.db import session_scope
    from registry.importer import ImportOptions, preview_import, run_import

    if not file.exists():
        raise CliError(f"文件不存在 / file not found: {file}")
    url = _ensure_database()
    migrate.upgrade(url)
    size = file.stat().st_size
    with session_scope(url) as session:
        account = None if dry_run else cli_user(session, "import", as_user or user)
        actor = None if account is None else Actor.of(account, "cli")
        options = ImportOptions(crs=crs, kind=kind, mode=mode, source=source,
                                created_by=actor.name if actor else _user(as_user or user), filename=file.name,
                                actor=actor, district_limit=district_limit_of(account))
        conn = session.connection()
        action = preview_import if dry_run else run_import
        if size >= PROGRESS_MIN_BYTES:
            with click.progressbar(length=size, label="读取/校验 reading", file=sys.stderr) as bar:
                seen = [0]

                def progress(done: int, total: int) -> None:
                    bar.update(max(0, done - seen[0]))
                    seen[0] = done

                result = action(conn, file, options, progress=progress)
        else:
            result = action(conn, file, options)
    _print_result(result, lang, max_messages)
    if report_path is not None and result.report_csv:
        report_path.write_bytes(result.report_csv)
        click.echo(("错误报告已写入 " if lang == "zh" else "error report written to ") + str(report_path), err=True)
    elif report_path is not None:
        click.echo("没有被拒绝的行，未生成错误报告。" if lang == "zh" else "no rejected rows: no error report.",
                   err=True)
    sys.exit(result.exit_code)


def _print_result(result, lang: str, max_messages: int) -> None:  # type: ignore[no-untyped-def]
    for line in result.summary(lang):
        click.echo(line)
    issues = result.issues.all()
    shown = 0
    for issue in issues:
        if issue.row is not None and shown >= max_messages:
            continue
        if issue.row is not None:
            shown += 1
        tag = {"error": "错误 ERROR", "warning": "警告 WARN", "info": "提示 INFO"}[issue.severity]
        click.echo(f"  [{tag}] {issue.text(lang)}", err=issue.severity == "error")
    hidden = sum(1 for i in issues if i.row is not None) - shown + result.issues.dropped
    if hidden > 0:
        click.echo(f"  … 另有 {hidden} 条 / {hidden} more (use --report)", err=True)


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson", "gpkg"]), default="csv", show_default=True)
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--district", help="County adcode (e.g. 410105) or 'none'.")
@click.option("--status", help="Stored status value (e.g. open).")
@click.option("--q", help="Text in the name or address.")
@click.option("--batch", "batch_id", type=int, help="Only facilities last written by this batch.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_cmd(fmt: str, kind: str | None, district: str | None, status: str | None, q: str | None,
               batch_id: int | None, out: Path) -> None:
    """Export facilities (CSV with BOM for Excel, GeoJSON or GeoPackage)."""
    from registry.cli import _ensure_database
    from registry.db import session_scope
    from registry.exporter import ExportFilter, export_bytes

    url = _ensure_database()
    with session_scope(url) as session:
        data = export_bytes(session, ExportFilter(kind=kind, district=district, status=status, q=q,
                                                  batch_id=batch_id), fmt)
    out.write_bytes(data)
    click.echo(f"{out} ({len(data):,} bytes)")


@click.command("template")
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="xlsx", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: <kind>_template.<format>.")
def template_cmd(kind: str, fmt: str, out: Path | None) -> None:
    """Write an empty import template of a kind (Chinese headers, one example row)."""
    from registry.exporter import template_csv, template_xlsx

    out = out or Path(f"{kind}_template.{fmt}")
    out.write_bytes(template_csv(kind) if fmt == "csv" else template_xlsx(kind))
    click.echo(str(out))


@click.command("batches")
@click.option("--limit", type=int, default=20, show_default=True)
def batches_cmd(limit: int) -> None:
    """List the latest import batches (who, when, file, checksum, encoding, CRS, counts, status)."""
    from sqlalchemy import select

    from registry.cli import _ensure_database
    from registry.db import session_scope
    from registry.models import ImportBatch

    url = _ensure_database()
    with session_scope(url) as session:
        rows = session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)).all()
        if not rows:
            click.echo("没有导入批次 / no import batches")
        for b in rows:
            click.echo(f"#{b.id} {b.created_at:%Y-%m-%d %H:%M} {b.status:<11} {b.created_by or '-'} "
                       f"{b.filename or '-'} sha256:{(b.checksum or '')[:12]} {b.encoding or '-'} {b.crs or '-'} "
                       f"{b.kind or '-'} created {b.n_created} updated {b.n_updated} rejected {b.n_rejected} "
                       f"flagged {b.n_flagged}")


@click.command("rollback")
@click.argument("batch_id", type=int)
@AS_OPTION
@click.option("--user", "user", hidden=True, help="Deprecated spelling of --as.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rollback_cmd(batch_id: int, as_user: str | None, user: str | None, yes: bool) -> None:
    """Roll back an import batch: delete what it created, restore what it updated (--as USER: facility.import)."""
    from registry.cli import CliError, _ensure_database
    from registry.db import session_scope
    from registry.importer import RollbackRefused, rollback

    url = _ensure_database()
    try:
        with session_scope(url) as session:
            account = cli_user(session, "rollback", as_user or user)
            actor = Actor.of(account, "cli")
            if not yes:
                click.confirm(f"回滚批次 {batch_id}？/ Roll back batch {batch_id}?", abort=True)
            done = rollback(session.connection(), batch_id, actor.name, actor=actor,
                            district_limit=district_limit_of(account))
    except RollbackRefused as exc:
        raise CliError(str(exc)) from None
    click.echo(f"批次 {batch_id} 已回滚 / batch {batch_id} rolled back: deleted {done['deleted']}, "
               f"restored {done['restored']}, flags removed {done['flags_removed']}")


COMMANDS = (import_cmd, export_cmd, template_cmd, batches_cmd, rollback_cmd)
