"""``registry query``: radius, nearest and area queries from the command line.

The same query layer as the JSON API (:mod:`registry.query`)::

    registry query near 113.6654 34.7579 --radius 500 --kind kindergarten
    registry query nearest 113.671103 34.752187 --crs gcj02 --k 5 --kind kindergarten
    registry query within 金水区 --kind parking_lot --where "spaces>=100" --format csv
    registry query polygon drawn.geojson --kind museum --format geojson
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from registry import query as ql

FORMATS = ("table", "csv", "geojson")
_OPTION_OF = {"near": "LON LAT", "nearest": "LON LAT", "max_distance": "--max-distance", "filter-lang": "--filter"}


def _fail(err: ql.QueryError) -> click.ClickException:
    from registry.cli import CliError

    where = _OPTION_OF.get(err.parameter or "", f"--{(err.parameter or '').replace('_', '-')}")
    return CliError(f"{where}: {err}")


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--kind", "kinds", multiple=True, help="Facility kind (repeatable): museum, study_room, "
                     "parking_lot, elevator, kindergarten (or 博物馆, 幼儿园 ...)."),
        click.option("--crs", default="wgs84", show_default=True,
                     help="Coordinates given in wgs84, cgcs2000, gcj02 (Amap/Tencent) or bd09 (Baidu)."),
        click.option("--district", "districts", multiple=True, help="Assigned district (name or adcode)."),
        click.option("--status", "statuses", multiple=True, help="Status value (repeatable)."),
        click.option("--where", "wheres", multiple=True,
                     help="Attribute condition, e.g. 'seats<15', 'operator_type=公办' (repeatable, AND)."),
        click.option("--filter", "cql", default=None, help="CQL2 text filter."),
        click.option("--sort", default=None, help="Fields, '-' for descending (default: distance or id)."),
        click.option("--limit", default=100, show_default=True, type=int, help="Maximum rows (≤ 10000)."),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _params(kinds: Sequence[str], crs: str, districts: Sequence[str], statuses: Sequence[str],
            wheres: Sequence[str], cql: str | None, sort: str | None, limit: int, **extra: str | None
            ) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {"crs": [crs], "limit": [str(limit)]}
    if kinds:
        params["kind"] = [",".join(kinds)]
    if districts:
        params["district"] = [",".join(districts)]
    if statuses:
        params["status"] = [",".join(statuses)]
    if wheres:
        params["where"] = list(wheres)
    if cql:
        params["filter"] = [cql]
    if sort:
        params["sort"] = [sort]
    for key, value in extra.items():
        if value is not None:
            params[key] = [value]
    return params


def _run(params: dict[str, list[str]], fmt: str, polygon: Any = None) -> None:
    from registry.db import session_scope

    try:
        q = ql.parse_params(params, polygon=polygon)
    except ql.QueryError as err:
        raise _fail(err) from None
    from registry.cli import _ensure_database

    url = _ensure_database()
    with session_scope(url) as session:
        try:
            result = ql.run(session, q)
        except ql.QueryError as err:
            raise _fail(err) from None
    click.echo(render(result, fmt), nl=fmt != "csv")


def render(result: ql.QueryResult, fmt: str) -> str:
    """Text of a result as an aligned table, CSV or a GeoJSON FeatureCollection."""
    if fmt == "csv":
        return ql.to_csv(result.rows, result.query.kinds).lstrip("\ufeff")
    if fmt == "geojson":
        return json.dumps({"type": "FeatureCollection", "numberMatched": result.number_matched,
                           "numberReturned": result.number_returned, "query": result.query.describe(),
                           "features": [ql.feature(r) for r in result.rows]}, ensure_ascii=False, indent=1)
    columns = ["id", "kind", "name", "district", "status"]
    if result.query.has_distance:
        columns.append("distance_m")
    columns += ["lon", "lat"]
    rows = [[f"{r[c]:.1f}" if c == "distance_m" else _cell(r.get(c)) for c in columns] for r in result.rows]
    widths = [max([_width(c)] + [_width(row[i]) for row in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(_pad(c, w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(v, w) for v, w in zip(row, widths)) for row in rows]
    more = f" (first {result.number_returned})" if result.number_matched > result.number_returned else ""
    lines.append(f"{result.number_matched} matched{more} / 共 {result.number_matched} 个")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


@click.group("query")
def query() -> None:
    """Radius, nearest and area queries (查询: 半径、最近、区域)."""


@query.command("near")
@click.argument("lon", type=float)
@click.argument("lat", type=float)
@click.option("--radius", required=True, type=float, help="Radius in metres (> 0, ≤ 50000).")
@click.option("--distance", type=click.Choice(["geodesic", "projected"]), default="geodesic", show_default=True,
              help="Geodesic metres on the spheroid, or EPSG:4547 metres.")
@_common
def near(lon: float, lat: float, radius: float, distance: str, fmt: str, **kw: Any) -> None:
    """Facilities within RADIUS metres of LON LAT, nearest first."""
    _run(_params(**kw, near=f"{lon!r},{lat!r}", radius=repr(radius), distance=distance), fmt)


@query.command("nearest")
@click.argument("lon", type=float)
@click.argument("lat", type=float)
@click.option("--k", default=ql.DEFAULT_K, show_default=True, type=int, help="How many (1–1000).")
@click.option("--max-distance", type=float, default=None, help="Only within this many metres.")
@_common
def nearest(lon: float, lat: float, k: int, max_distance: float | None, fmt: str, **kw: Any) -> None:
    """The K facilities nearest to LON LAT (exact geodesic order)."""
    _run(_params(**kw, nearest=f"{lon!r},{lat!r}", k=str(k),
                 max_distance=None if max_distance is None else repr(max_distance)), fmt)


@query.command("within")
@click.argument("district")
@_common
def within(district: str, fmt: str, **kw: Any) -> None:
    """Facilities inside the boundary of DISTRICT (name or adcode; census units and zones too)."""
    _run(_params(**kw, within=district), fmt)


@query.command("polygon")
@click.argument("geojson", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
def polygon(geojson: Path, fmt: str, **kw: Any) -> None:
    """Facilities inside the polygon(s) of a GeoJSON file (coordinates in --crs)."""
    from registry.cli import CliError

    try:
        body = json.loads(geojson.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f"{geojson}: 不是有效的 GeoJSON / not valid GeoJSON: {exc}") from None
    _run(_params(**kw), fmt, polygon=body)
