"""``registry coverage ...`` and ``registry site-select``: coverage analyses from the command line.

::

    registry coverage run --kind kindergarten --status open                 # 300 m (GB 50180-2018)
    registry coverage run --kind study_room --radius 500,1000 --format json --out sr.json
    registry coverage run --kind museum --layer census_2020                 # MUS-1 by population
    registry coverage run --kind kindergarten --add 113.65,34.75,300 --remove 12 --save --as analyst1
    registry coverage layers
    registry coverage import-layer worldpop.tif --name worldpop_2020 --year 2020 --source "WorldPop 100 m" --as admin
    registry coverage runs | show ID | compare A B | export ID --format png -o chart.png | rerun ID
    registry site-select --kind kindergarten --k 20 --candidates grid:250 --solver both --save --as analyst1

Saving (``--save``) and importing a layer change the registry: they need ``--as USER`` (or
``REGISTRY_USER``) with the permission of :data:`registry.auth.permissions.CLI_PERMISSIONS`.

Errors (bad kind, radius, filter, file...) print one line naming the option and exit with status 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from registry.commands.users import AS_OPTION, cli_actor
from registry.coverage.layers import DEFAULT_LAYER, LayerImportError
from registry.coverage.params import CoverageInputError
from registry.coverage.runs import RunNotFound

_OPTION = {"kind": "--kind", "radius": "--radius", "layer": "--layer", "status": "--status", "where": "--where",
           "district": "--district", "as_of": "--as-of", "hot_spots": "--hot-spots", "add": "--add",
           "remove": "--remove", "k": "--k", "candidates": "--candidates", "solver": "--solver",
           "capacity": "--capacity", "time_limit": "--time-limit", "count_column": "--count-column",
           "lon_column": "--lon-column", "lat_column": "--lat-column", "wkt_column": "--wkt-column",
           "crs": "--crs", "name": "--name", "year": "--year", "source": "--source", "path": "PATH",
           "cell_size_m": "--cell-size", "split_m": "--split", "band": "--band", "bounds": "--clip",
           "coordinates": "PATH", "analysis": "ANALYSIS", "params": "params", "id": "ID"}


def _fail(exc: Exception) -> click.ClickException:
    from registry.cli import CliError

    parameter = getattr(exc, "parameter", None)
    where = _OPTION.get(parameter or "", f"--{(parameter or '').replace('_', '-')}") if parameter else ""
    return CliError(f"{where}: {exc}" if where else str(exc))


@contextmanager
def _session() -> Iterator[Any]:
    from registry.cli import _ensure_database
    from registry.db import session_scope

    url = _ensure_database()
    try:
        with session_scope(url) as session:
            yield session
    except (CoverageInputError, LayerImportError, RunNotFound, ValueError) as exc:
        raise _fail(exc) from None


class _Progress:
    """``progress(step, done, total)`` callback drawing one click progress bar per step on stderr."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.step: str | None = None
        self.done = 0

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if step != self.step:
            self.close()
            self.step = step
            self.done = 0
            self.bar = click.progressbar(length=max(total, 1), label=step.ljust(28), file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()
        if self.bar is not None and done > self.done:
            self.bar.update(done - self.done)
            self.done = done
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
            self.step = None


def _write(text: str | bytes, out: str | None) -> None:
    if out:
        Path(out).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        click.echo(f"wrote {out}", err=True)
    elif isinstance(text, bytes):
        raise click.UsageError("binary output needs --out FILE")
    else:
        click.echo(text)


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and digits == -1:
        return f"{100 * v:.1f}%"
    if isinstance(v, (int, float)):
        return f"{v:,.{digits}f}"
    return str(v)


def _table(rows: Sequence[Sequence[str]]) -> str:
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)

    widths = [max(width(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - width(str(cell)))
            cells.append(f"{cell}{pad}" if i == 0 else f"{pad}{cell}")
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def coverage_text(res: dict[str, Any], delta: dict[str, Any] | None = None) -> str:
    """A plain-text report of a coverage result dict (what ``--format table`` prints)."""
    city = res["city"]
    out = [res["provenance"]["zh"], res["provenance"]["en"],
           f"kind: {res['kind']}  facilities: {res['filters_text']}  as of {res['as_of']}",
           f"standard: {res['standard']['basis']['en']}", ""]
    line = (f"city: residents {_fmt(city['population'])}, facilities {_fmt(city['facilities'])}, "
            f"residents per facility {_fmt(city['residents_per_facility'])}, per 100,000 {_fmt(city['per_100k'], 2)}")
    if city.get("target"):
        line += f", target ≤ {city['target']:,} ({', '.join(res['standard']['rule_ids'])}): {city['status']}"
        if city.get("needed"):
            line += f", {city['needed']} more needed"
    out.append(line)
    out.append(f"nearest facility: median {_fmt(city['distance']['median_m'])} m, "
               f"90th percentile {_fmt(city['distance']['p90_m'])} m (residents)")
    for i, r in enumerate(city["radii"]):
        text = (f"within {r['radius_m']:,.0f} m: {_fmt(r['covered_population'])} residents "
                f"({_fmt(r['covered_share'], -1)})")
        if r.get("access_per_1000") is not None:
            text += f"; 2SFCA {r['access_per_1000']:.2f} per 1,000 residents"
        if delta:
            d = delta["city"]["radii"][i]
            text += f"  [change: {_fmt(d.get('covered_population'))} residents]"
        out.append(text)
    for note in res.get("notes") or []:
        out.append(f"note: {note['en']}")
    out.append("")
    head = ["unit", "residents", "facilities", "res/facility", "per 100k"]
    if city.get("target"):
        head.append("target")
    for r in res["radii_m"]:
        head.append(f"≤{r:g} m")
    head += ["median m", "p90 m"]
    rows = [head]
    for u in res["units"]:
        row = [u["name"], _fmt(u["population"]), _fmt(u["facilities"]), _fmt(u["residents_per_facility"]),
               _fmt(u["per_100k"], 2)]
        if city.get("target"):
            row.append(u["status"] or "—")
        row += [_fmt(r["covered_share"], -1) for r in u["radii"]]
        row += [_fmt(u["median_m"]), _fmt(u["p90_m"])]
        rows.append(row)
    out.append(_table(rows))
    for radius, fc in (res.get("hot_spots") or {}).items():
        if fc["features"]:
            out.append("")
            out.append(f"hot spots beyond {float(radius):,.0f} m (most residents first):")
            rows = [["#", "unit", "residents", "nearest m", "lon", "lat"]]
            for f in fc["features"][:10]:
                p = f["properties"]
                from shapely.geometry import shape

                c = shape(f["geometry"]).centroid
                rows.append([str(p["rank"]), p["unit_name"] or "—", _fmt(p["population"]), _fmt(p["nearest_m"]),
                             f"{c.x:.6f}", f"{c.y:.6f}"])
            out.append(_table(rows))
    return "\n".join(out)


def site_text(res: dict[str, Any]) -> str:
    """A plain-text report of a site-selection result dict."""
    city = res["city"]
    head = (f"kind: {res['kind']}  existing: {res['filters_text']}  k={res['k']}  "
            f"candidates: {res['n_candidates']:,} ({res['candidates']['type']})")
    change = (f"covered within {res['radius_m']:,.0f} m: {_fmt(city['share_before'], -1)} -> "
              f"{_fmt(city['share_after'], -1)} (+{_fmt(city['newly_covered'])} residents)")
    out = [res["provenance"]["zh"], res["provenance"]["en"], head, "", change]
    for name, s in res["solvers"].items():
        if name == "gap_vs_exact":
            out.append(f"greedy vs exact optimum: {100 * s:.2f}% below")
            continue
        if s.get("status") == "skipped":
            out.append(f"{name}: not run ({s.get('reason')})")
            continue
        gap = "" if s.get("gap") is None else f", proven gap ≤ {100 * s['gap']:.2f}%"
        out.append(f"{name}: {_fmt(s['value'])} residents, {s['status']}, {s['seconds']:.2f} s{gap}")
    out.append("")
    rows = [["#", "site", "unit", "newly covered", "cumulative", "lon", "lat"]]
    for f in res["sites"]["features"]:
        p = f["properties"]
        rows.append([str(p["rank"]), p["name"], p["unit_name"] or "—", _fmt(p["newly_covered"]), _fmt(p["cumulative"]),
                     f"{p['lon']:.6f}", f"{p['lat']:.6f}"])
    out.append(_table(rows))
    return "\n".join(out)


def _filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--kind", required=True, help="museum, study_room, parking_lot, elevator or kindergarten."),
        click.option("--layer", default=DEFAULT_LAYER, show_default=True,
                     help="Population layer (see `registry coverage layers`; census_2020 = census totals)."),
        click.option("--status", "statuses", multiple=True, help="Keep facilities with this status (repeatable)."),
        click.option("--where", "wheres", multiple=True, help="Attribute equality field:value (repeatable)."),
        click.option("--district", default=None, help="Administrative district adcode."),
        click.option("--as-of", "as_of", default=None, help="Only facilities recorded up to YYYY-MM-DD."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


# --------------------------------------------------------------------------- registry coverage
@click.group("coverage")
def coverage() -> None:
    """Coverage analyses: residents per facility, share within a radius, 2SFCA, hot spots, saved runs."""


@coverage.command("run")
@_filter_options
@click.option("--radius", default=None, help="Metres, e.g. 300 or 500,1000 (default: the standard; 'none').")
@click.option("--add", "adds", multiple=True, help="What-if site lon,lat[,capacity[,name]] (repeatable).")
@click.option("--remove", "removes", multiple=True, help="What-if: leave out facility ID (repeatable).")
@click.option("--hot-spots", "hot_spots", default=20, show_default=True, type=int, help="Hot-spot cells to report.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--out", default=None, help="Write to this file instead of standard output.")
@click.option("--save", is_flag=True, help="Save the analysis as a run (needs --as USER: analysis.save).")
@click.option("--title", default=None, help="Title of the saved run.")
@AS_OPTION
def coverage_run(kind: str, layer: str, statuses: tuple[str, ...], wheres: tuple[str, ...], district: str | None,
                 as_of: str | None, radius: str | None, adds: tuple[str, ...], removes: tuple[str, ...],
                 hot_spots: int, fmt: str, out: str | None, save: bool, title: str | None,
                 as_user: str | None) -> None:
    """Coverage of one kind per census unit and for the city."""
    from registry.coverage import runs, service
    from registry.coverage.params import coverage_request
    from registry.coverage.whatif import parse_scenario

    progress = _Progress()
    with _session() as session:
        who = cli_actor(session, "coverage run", as_user).name if save else None
        req = coverage_request({"kind": kind, "radius": radius, "layer": layer, "status": list(statuses) or None,
                                "where": list(wheres) or None, "district": district, "as_of": as_of,
                                "hot_spots": str(hot_spots)})
        scenario = parse_scenario(list(adds) or None, list(removes) or None)
        progress("coverage", 0, 2)
        if scenario.empty:
            analysis = service.get_coverage(session, req)
            res, delta = analysis.to_dict(req.hot_spots), None
        else:
            analysis = service.get_whatif(session, req, scenario)
            d = analysis.to_dict(req.hot_spots)
            res, delta = d["after"], d["delta"]
        progress("coverage", 1, 2)
        run_id = None
        if save:
            saved = (runs.save_coverage if scenario.empty else runs.save_whatif)(session, analysis, title=title,
                                                                                  created_by=who)
            run_id = saved.id
        progress("coverage", 2, 2)
    if fmt == "json":
        body = analysis.to_dict(req.hot_spots) | ({"run_id": run_id} if run_id else {})
        _write(json.dumps(body, ensure_ascii=False, indent=1), out)
    elif fmt == "csv":
        _write(_units_csv(res), out)
    else:
        _write(coverage_text(res, delta), out)
    if run_id:
        click.echo(f"saved as run {run_id}", err=True)


def _units_csv(res: dict[str, Any]) -> str:
    import io

    import pandas as pd

    from registry.coverage.export import _flat_unit

    frame = pd.DataFrame([_flat_unit(u) for u in res["units"]])
    frame.insert(0, "layer", res["layer"]["name"])
    frame.insert(1, "layer_modelled", res["layer"]["is_modelled"])
    frame.insert(2, "radius_m", ";".join(f"{r:g}" for r in res["radii_m"]))
    frame.insert(3, "kind", res["kind"])
    frame.insert(4, "as_of", res["as_of"])
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.6g")
    return buf.getvalue()


@coverage.command("layers")
def coverage_layers() -> None:
    """List the population layers (name, year, source, CRS, modelled or not)."""
    from registry.coverage import service

    with _session() as session:
        layers = service.get_layers(session)
    rows = [["name", "year", "kind", "cells", "total", "modelled", "crs", "source"]]
    for layer in layers:
        rows.append([layer["name"], str(layer["year"]), layer["geometry_kind"], _fmt(layer["n_cells"]),
                     _fmt(layer["total_population"]), "yes" if layer["is_modelled"] else "no", layer["crs"],
                     (layer["source"] or "")[:60]])
    click.echo(_table(rows))


@coverage.command("import-layer")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="Layer name (unique).")
@click.option("--year", required=True, type=int, help="Reference year of the counts.")
@click.option("--source", required=True, help="Where the counts come from.")
@click.option("--crs", default="wgs84", show_default=True,
              help="CRS of coordinates in a CSV (wgs84, cgcs2000, gcj02, bd09, EPSG:4547...); files with a CRS "
                   "(GeoPackage, GeoTIFF) use their own.")
@click.option("--count-column", default=None, help="Column with the number of residents.")
@click.option("--lon-column", default=None)
@click.option("--lat-column", default=None)
@click.option("--wkt-column", default=None, help="Column of WKT polygons (cells).")
@click.option("--cell-size", "cell_size", type=float, default=None, help="CSV points are centres of cells this size (m).")
@click.option("--split", "split_m", type=float, default=None, help="Spread polygon counts over points this far apart (m).")
@click.option("--band", default=1, show_default=True, type=int, help="Raster band.")
@click.option("--clip/--no-clip", default=True, show_default=True, help="Read only the city's extent of a raster.")
@click.option("--modelled", is_flag=True, help="The distribution is modelled, not observed.")
@click.option("--description", default="", help="Free text.")
@click.option("--replace", is_flag=True, help="Replace a layer of the same name.")
@AS_OPTION
def coverage_import_layer(path: str, name: str, year: int, source: str, crs: str, count_column: str | None,
                          lon_column: str | None, lat_column: str | None, wkt_column: str | None,
                          cell_size: float | None, split_m: float | None, band: int, clip: bool, modelled: bool,
                          description: str, replace: bool, as_user: str | None) -> None:
    """Import a population layer: CSV points/cells, GeoPackage/GeoJSON polygons or a GeoTIFF raster.

    Needs --as USER (or REGISTRY_USER) with permission rules.admin.
    """
    from registry import audit
    from registry.coverage import cache, service
    from registry.coverage.inputs import LayerInfo
    from registry.coverage.layers import read_layer, write_layer

    with _session() as session:
        actor = cli_actor(session, "coverage import-layer", as_user)
        bounds = None
        if clip:
            units = service.load_units(session)
            if units.geoms is not None and len(units.geoms):
                import shapely

                bounds = tuple(shapely.total_bounds(units.geoms).tolist())
        info = LayerInfo(name.strip(), year, source, crs, is_modelled=modelled, description=description)
        click.echo(f"reading {path} ...", err=True)
        layer = read_layer(path, info, count_column=count_column, lon_column=lon_column, lat_column=lat_column,
                           wkt_column=wkt_column, cell_size_m=cell_size, split_m=split_m, band=band, bounds=bounds)
        click.echo(f"writing {len(layer.cells):,} cells ...", err=True)
        layer_id = write_layer(session, layer, replace_existing=replace)
        audit.record_event(session, actor, "layer.import", "population_layer", layer_id,
                           {"name": (None, name.strip()), "cells": (None, len(layer.cells)),
                            "total": (None, float(layer.total)), "replace": (None, replace)}, comment=str(path))
    cache.GRIDS.clear()
    click.echo(f"layer {name!r} (id {layer_id}): {len(layer.cells):,} {layer.info.geometry_kind}, "
               f"{layer.total:,.0f} residents, CRS {layer.info.crs}, year {year}")


@coverage.command("runs")
@click.option("--kind", default=None)
@click.option("--limit", default=50, show_default=True, type=int)
def coverage_runs(kind: str | None, limit: int) -> None:
    """Saved analyses, newest first."""
    from registry.coverage import runs

    with _session() as session:
        found = [runs.run_summary(r) for r in runs.list_runs(session, kind=kind, limit=limit)]
    rows = [["id", "analysis", "kind", "layer", "radius m", "as of", "title", "saved"]]
    for r in found:
        rows.append([str(r["id"]), r["analysis"], r["kind"], r["layer"], ",".join(f"{x:g}" for x in r["radius_m"]),
                     r["as_of"], r["title"] or "", (r["created_at"] or "")[:16]])
    click.echo(_table(rows) if found else "no saved analysis")


@coverage.command("show")
@click.argument("run_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def coverage_show(run_id: int, fmt: str) -> None:
    """Show a saved run (its stored results)."""
    from registry.coverage import runs

    with _session() as session:
        run = runs.get_run(session, run_id)
        summary, params, results = runs.run_summary(run), run.params, run.results
        analysis = run.analysis
    if fmt == "json":
        click.echo(json.dumps({**summary, "params": params, "results": results}, ensure_ascii=False, indent=1))
    elif analysis == "site_selection":
        click.echo(site_text(results))
    else:
        res = results["after"] if analysis == "whatif" else results
        click.echo(coverage_text(res, results.get("delta")))


@coverage.command("compare")
@click.argument("a", type=int)
@click.argument("b", type=int)
def coverage_compare(a: int, b: int) -> None:
    """Compare two saved runs (B − A)."""
    from registry.coverage import runs

    with _session() as session:
        cmp = runs.compare_runs(runs.get_run(session, a), runs.get_run(session, b))
    for p in cmp["params_differ"]:
        click.echo(f"{p['name']}: {json.dumps(p['a'], ensure_ascii=False)} -> {json.dumps(p['b'], ensure_ascii=False)}")
    rows = [["figure", f"#{a}", f"#{b}", "B − A"]]
    for row in cmp["city"]:
        fig = row["figure"]
        digits = 4 if "share" in fig else 2 if fig.startswith(("per_100k", "access")) else 0
        rows.append([row["figure"], _fmt(row["a"], digits), _fmt(row["b"], digits), _fmt(row["delta"], digits)])
    click.echo(_table(rows))


@coverage.command("export")
@click.argument("run_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson", "png", "html"]), required=True)
@click.option("--table", default=None, help="CSV table: units, sites or hot_spots.")
@click.option("--chart", default="units", show_default=True, help="PNG chart: units or distance.")
@click.option("--out", "-o", "out", default=None, help="Output file (required for png).")
def coverage_export(run_id: int, fmt: str, table: str | None, chart: str, out: str | None) -> None:
    """Export a saved run as CSV, GeoJSON, a PNG chart or a standalone HTML map."""
    from registry.coverage import export, runs, service

    with _session() as session:
        run = runs.get_run(session, run_id)
        if fmt == "csv":
            body: str | bytes = export.run_csv(run, table)
        elif fmt == "geojson":
            body = json.dumps(export.run_geojson(run, service.load_units(session)), ensure_ascii=False)
        elif fmt == "png":
            body = export.run_png(run, chart)
        else:
            body = export.run_html(run, service.load_units(session))
    _write(body, out)


@coverage.command("rerun")
@click.argument("run_id", type=int)
@click.option("--save", is_flag=True, help="Save the new result as another run (needs --as USER: analysis.save).")
@AS_OPTION
def coverage_rerun(run_id: int, save: bool, as_user: str | None) -> None:
    """Run a saved analysis again with today's data (same parameters)."""
    from registry.coverage import runs

    with _session() as session:
        who = cli_actor(session, "coverage rerun", as_user).name if save else None
        run = runs.get_run(session, run_id)
        analysis = runs.rerun(session, run)
        kind = run.analysis
        new_id = None
        if save:
            saver = {"coverage": runs.save_coverage, "whatif": runs.save_whatif,
                     "site_selection": runs.save_site_selection}[kind]
            new_id = saver(session, analysis, title=f"rerun of #{run_id}", created_by=who).id
    d = analysis.to_dict()
    click.echo(site_text(d) if kind == "site_selection" else coverage_text(d["after"], d["delta"])
               if kind == "whatif" else coverage_text(d))
    if new_id:
        click.echo(f"saved as run {new_id}", err=True)


# --------------------------------------------------------------------------- registry site-select
@click.command("site-select")
@_filter_options
@click.option("--radius", default=None, help="Service radius in metres (default: the standard's first).")
@click.option("--k", default=5, show_default=True, type=int, help="Number of new sites.")
@click.option("--candidates", default="grid:250", show_default=True,
              help="grid:SPACING, or a file: CSV lon,lat[,name] or GeoJSON/GeoPackage points or parcels.")
@click.option("--candidates-crs", default="wgs84", show_default=True, help="CRS of a candidate CSV.")
@click.option("--solver", type=click.Choice(["greedy", "exact", "both"]), default="greedy", show_default=True)
@click.option("--capacity", type=float, default=None, help="Residents one new site may serve.")
@click.option("--time-limit", "time_limit", type=float, default=60, show_default=True, help="Exact solver limit (s).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "geojson"]), default="table",
              show_default=True)
@click.option("--out", default=None, help="Write to this file instead of standard output.")
@click.option("--save", is_flag=True, help="Save the analysis as a run (needs --as USER: analysis.save).")
@click.option("--title", default=None)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@AS_OPTION
def site_select(kind: str, layer: str, statuses: tuple[str, ...], wheres: tuple[str, ...], district: str | None,
                as_of: str | None, radius: str | None, k: int, candidates: str, candidates_crs: str, solver: str,
                capacity: float | None, time_limit: float, fmt: str, out: str | None, save: bool, title: str | None,
                quiet: bool, as_user: str | None) -> None:
    """Choose K new sites that cover the most residents left outside the radius (MCLP)."""
    from registry.coverage import runs, service
    from registry.coverage.params import site_request

    progress = _Progress(enabled=not quiet)
    with _session() as session:
        who = cli_actor(session, "site-select", as_user).name if save else None
        cand = _candidates_option(candidates, candidates_crs)
        req = site_request({"kind": kind, "radius": radius, "k": str(k), "layer": layer,
                            "status": list(statuses) or None, "where": list(wheres) or None, "district": district,
                            "as_of": as_of, "candidates": cand, "solver": solver,
                            "capacity": None if capacity is None else str(capacity), "time_limit": str(time_limit)})
        analysis = service.get_site_selection(session, req, progress=progress)
        progress.close()
        run_id = runs.save_site_selection(session, analysis, title=title, created_by=who).id if save else None
    res = analysis.to_dict() | ({"run_id": run_id} if run_id else {})
    if fmt == "json":
        _write(json.dumps(res, ensure_ascii=False, indent=1), out)
    elif fmt == "geojson":
        _write(json.dumps(res["sites"], ensure_ascii=False), out)
    elif fmt == "csv":
        import io

        frame = analysis.result.sites.drop(columns="geometry")
        frame.insert(0, "layer", res["layer"]["name"])
        frame.insert(1, "radius_m", res["radius_m"])
        buf = io.StringIO()
        frame.to_csv(buf, index=False, float_format="%.7g")
        _write(buf.getvalue(), out)
    else:
        _write(site_text(res), out)
    if run_id:
        click.echo(f"saved as run {run_id}", err=True)


def _candidates_option(raw: str, crs: str) -> Any:
    """``grid:250`` stays text; a file becomes points (CSV) or parcels/points (GeoJSON, GeoPackage)."""
    if raw.lower().startswith("grid"):
        return raw
    path = Path(raw)
    if not path.is_file():
        raise CoverageInputError(f"no such file {raw!r} (or use grid:SPACING)", "candidates")
    name = path.name.lower()
    if name.endswith((".csv", ".txt")):
        import pandas as pd

        from registry.coverage.layers import LAT_COLUMNS, LON_COLUMNS, _pick, _to_wgs84

        try:
            frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        except UnicodeDecodeError:
            frame = pd.read_csv(path, dtype=str, encoding="gb18030")
        lon_c = _pick(list(frame.columns), None, LON_COLUMNS, "lon_column")
        lat_c = _pick(list(frame.columns), None, LAT_COLUMNS, "lat_column")
        lon, lat = _to_wgs84(pd.to_numeric(frame[lon_c], errors="coerce").to_numpy(float),
                             pd.to_numeric(frame[lat_c], errors="coerce").to_numpy(float), crs)
        names = frame["name"].fillna("") if "name" in frame.columns else [""] * len(frame)
        return {"type": "points", "points": [[x, y, n] for x, y, n in zip(lon, lat, names)]}
    import geopandas as gpd

    gdf = gpd.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    gdf = gdf.to_crs(4326)
    features = json.loads(gdf.to_json())["features"]
    return {"type": "parcels", "features": features}


COMMANDS = (coverage, site_select)
"""Attached to ``registry`` in :mod:`registry.cli`."""
