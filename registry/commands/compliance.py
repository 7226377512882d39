"""CLI: ``registry compliance check|export|rules`` and ``registry reference import|list|delete``.

``compliance check`` re-evaluates the whole registry (or some kinds) and stores
the findings, the facility statuses and a run record; it prints a summary and
the time taken.  ``reference import`` loads a point layer that the spatial
rules search (PK-7, KG-7, SR-16) and re-checks the kinds that read it.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path

import click

from registry import audit
from registry.commands.users import AS_OPTION, cli_actor
from registry.compliance_db.load import KINDS
from registry.coords import Crs

CRS_CHOICES = [c.value for c in Crs]


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) / 日期格式应为 YYYY-MM-DD") from None


AS_OF = click.option("--as-of", "as_of", callback=_date, metavar="YYYY-MM-DD",
                     help="Judge the time rules (EL-2, EL-3, KG-2, KG-3, PK-3, PK-6 ...) at this date (default today).")


@click.group("compliance")
def compliance() -> None:
    """Compliance rules: check the registry, export findings (合规检查)."""


@compliance.command("check")
@AS_OF
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Only this kind (repeatable).")
@AS_OPTION
def check_cmd(as_of: dt.date | None, kinds: tuple[str, ...], as_user: str | None) -> None:
    """Re-check every facility (or KIND), the census units and the city; store the verdicts (--as USER: rules.admin)."""
    from registry import migrate
    from registry.cli import _ensure_database
    from registry.compliance_db import run_check
    from registry.db import session_scope

    url = _ensure_database()
    migrate.upgrade(url)
    started = time.perf_counter()
    with session_scope(url) as session:
        actor = cli_actor(session, "compliance check", as_user)
        report = run_check(session, as_of, list(kinds) or None, trigger="cli")
        audit.record_event(session, actor, "compliance.check", "compliance_run", report.run_id,
                           {"n_findings": (None, report.n_findings), "n_changed": (None, report.n_changed)},
                           comment=f"as of {report.as_of.isoformat()}, {', '.join(report.kinds) or 'all kinds'}")
    elapsed = time.perf_counter() - started
    what = ", ".join(report.kinds) if report.scope == "kinds" else "all kinds"
    click.echo(f"compliance check (run {report.run_id}, {what}) as of {report.as_of.isoformat()}")
    click.echo(f"facilities: {report.n_facilities}   findings: {report.n_findings}   "
               f"status changed: {report.n_changed}")
    click.echo("  " + "   ".join(f"{s}: {report.statuses.get(s, 0)}" for s in ("compliant", "non_compliant", "unknown")))
    layers = ", ".join(f"{k} {v}" for k, v in sorted(report.layers.items())) or "none (PK-7/KG-7 parts unknown)"
    click.echo(f"reference layers searched: {layers}")
    click.echo(f"{'rule':<18}{'pass':>8}{'fail':>8}{'unknown':>9}{'n/a':>8}{'flag':>8}")
    from registry.compliance import RULES

    for rule_id in RULES:
        counts = report.verdicts.get(rule_id)
        if not counts:
            continue
        click.echo(f"{rule_id:<18}{counts['pass']:>8}{counts['fail']:>8}{counts['unknown']:>9}"
                   f"{counts['not_applicable']:>8}{counts['flag']:>8}")
    click.echo(f"time: {elapsed:.2f} s (evaluation and storage {report.duration_s:.2f} s)")


@compliance.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@AS_OF
@click.option("--kind", type=click.Choice(KINDS), help="Only findings about this kind.")
@click.option("--district", help="Only this county-level district (adcode or name).")
def export_cmd(file: Path, as_of: dt.date | None, kind: str | None, district: str | None) -> None:
    """Write every finding to FILE as UTF-8 CSV (with BOM, opens in Excel)."""
    from registry import migrate
    from registry.cli import CliError, _ensure_database
    from registry.compliance_db.read import (
        CSV_COLUMNS,
        iter_finding_rows,
        resolve_district,
    )
    from registry.db import session_scope

    url = _ensure_database()
    migrate.upgrade(url)
    n = 0
    with session_scope(url) as session:
        code = None
        if district:
            code = resolve_district(session, district)
            if code is None:
                raise CliError(f"未知区县 / unknown district {district!r}")
        try:
            fh = file.open("w", encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise CliError(f"cannot write {file}: {exc.strerror or exc}") from None
        with fh:
            writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
            writer.writeheader()
            for row in iter_finding_rows(session, as_of, kind, code):
                writer.writerow(row)
                n += 1
    click.echo(f"{n} findings written to {file}")


@compliance.command("rules")
def rules_cmd() -> None:
    """List the rules: ID, kind, scope, severity, citation."""
    from registry.compliance import RULES

    for rule in RULES.values():
        flag = " (advisory)" if rule.advisory else ""
        click.echo(f"{rule.id:<18}{rule.kind:<14}{rule.scope:<10}{rule.severity:<8}{rule.citation}{flag}")


# --------------------------------------------------------------------------- reference layers
@click.group("reference")
def reference() -> None:
    """Reference point layers the spatial rules search (schools, hospitals, bus stops, venues ...)."""


@reference.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--layer", help="Layer of every row: school, hospital, bus_stop, intersection, institution_entrance, "
                              "residential_entrance, venue, public_library, bookstore (or a 'layer' column).")
@click.option("--crs", type=click.Choice(CRS_CHOICES, case_sensitive=False), default="wgs84", show_default=True,
              help="Coordinate system of the file (gcj02 = Amap/Tencent, bd09 = Baidu).")
@click.option("--append", is_flag=True, help="Add to the layer instead of replacing it.")
@click.option("--synthetic", is_flag=True, help="Flag the points as made up (test data).")
@click.option("--no-check", is_flag=True, help="Do not re-check the kinds that read the layer.")
@AS_OPTION
def reference_import(file: Path, layer: str | None, crs: str, append: bool, synthetic: bool, no_check: bool,
                     as_user: str | None) -> None:
    """Import FILE (CSV: lon,lat,name[,category]) as a reference layer, then re-check the rules that read it.

    Needs --as USER (or REGISTRY_USER) with permission rules.admin.
    """
    from registry import migrate
    from registry.cli import CliError, _ensure_database
    from registry.compliance_db import recheck_layers
    from registry.db import session_scope
    from registry.reference_layers import ReferenceImportError, import_csv

    if not file.exists():
        raise CliError(f"文件不存在 / file not found: {file}")
    url = _ensure_database()
    migrate.upgrade(url)
    started = time.perf_counter()
    with session_scope(url) as session:
        actor = cli_actor(session, "reference import", as_user)
        try:
            result = import_csv(session, file, layer=layer, crs=crs, replace=not append, synthetic=synthetic)
        except ReferenceImportError as exc:
            raise CliError(str(exc)) from None
        report = None if no_check else recheck_layers(session, result.layers, trigger="reference")
        audit.record_event(session, actor, "reference.import", "reference_layer", None,
                           {name: (result.replaced.get(name), n) for name, n in sorted(result.counts.items())},
                           comment=f"{file.name} ({result.crs})")
    for name, n in sorted(result.counts.items()):
        replaced = result.replaced.get(name)
        more = f" (replaced {replaced})" if replaced is not None else ""
        click.echo(f"{name}: {n} points imported{more}, crs {result.crs}")
    if report is not None:
        click.echo(f"re-checked {report.n_facilities} facilities ({', '.join(report.kinds)}) as of "
                   f"{report.as_of.isoformat()}")
    click.echo(f"time: {time.perf_counter() - started:.2f} s")


@reference.command("list")
def reference_list() -> None:
    """Points per reference layer."""
    from registry import migrate
    from registry.cli import _ensure_database
    from registry.db import session_scope
    from registry.reference_layers import LAYERS, get_layer_counts

    url = _ensure_database()
    migrate.upgrade(url)
    with session_scope(url) as session:
        counts = get_layer_counts(session)
    for name, spec in LAYERS.items():
        entry = counts.get(name, {"n": 0, "synthetic": 0})
        note = f" ({entry['synthetic']} synthetic)" if entry["synthetic"] else ""
        click.echo(f"{name:<22}{entry['n']:>7}{note}  {spec.zh} / {spec.en} — {', '.join(spec.rules)}")


@reference.command("delete")
@click.argument("layers", nargs=-1, required=True)
@AS_OPTION
def reference_delete(layers: tuple[str, ...], as_user: str | None) -> None:
    """Delete every point of LAYERS, then re-check the rules that read them (--as USER: rules.admin)."""
    from registry import migrate
    from registry.cli import CliError, _ensure_database
    from registry.compliance_db import recheck_layers
    from registry.db import session_scope
    from registry.reference_layers import ReferenceImportError, delete_layers

    url = _ensure_database()
    migrate.upgrade(url)
    with session_scope(url) as session:
        actor = cli_actor(session, "reference delete", as_user)
        try:
            removed = delete_layers(session, layers)
        except ReferenceImportError as exc:
            raise CliError(str(exc)) from None
        recheck_layers(session, list(removed), trigger="reference")
        audit.record_event(session, actor, "reference.delete", "reference_layer", None,
                           {name: (n, 0) for name, n in removed.items()})
    for name, n in removed.items():
        click.echo(f"{name}: {n} points deleted")

