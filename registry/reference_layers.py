"""Reference layers: plain point layers the spatial compliance rules search.

The registry holds kindergartens, but PK-7 also names intersections, bus stops,
hospital and school entrances and the entrances of institutions and
residential compounds; KG-7 names entertainment venues and internet cafés;
SR-16 public libraries and bookstores.  Those come in as point layers from CSV
(``lon,lat,name[,category]``, optionally a ``layer`` column) and live in the
``reference_point`` table.  A layer that holds no point counts as *not
searched*: the rules that need it stay unknown.

>>> LAYERS["institution_entrance"].category
'institution'
>>> rule_category("venue", "网吧")
'internet_cafe'
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, delete, insert
from sqlalchemy.orm import Session

from registry.coords import parse_crs, to_wgs84
from registry.models import ReferencePoint
from registry.spatial import select_reference_layer_counts


@dataclass(frozen=True)
class LayerSpec:
    """A reference layer: its name, labels, the rule category its points stand for, and who reads it."""

    name: str
    zh: str
    en: str
    category: str
    rules: tuple[str, ...]


LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec("intersection", "道路交叉口", "Road intersections", "intersection", ("PK-7",)),
        LayerSpec("bus_stop", "公交站点", "Bus stops", "bus_stop", ("PK-7",)),
        LayerSpec("hospital", "医院出入口", "Hospital entrances", "hospital", ("PK-7",)),
        LayerSpec("school", "学校出入口", "School entrances", "school", ("PK-7",)),
        LayerSpec("institution_entrance", "机关、团体、企业、事业单位出入口", "Institution entrances",
                  "institution", ("PK-7",)),
        LayerSpec("residential_entrance", "居民住宅区出入口", "Residential compound entrances", "residential",
                  ("PK-7",)),
        LayerSpec("venue", "娱乐场所、营业性上网服务场所", "Entertainment venues and internet cafés",
                  "entertainment", ("KG-7",)),
        LayerSpec("public_library", "公共图书馆", "Public libraries", "public_library", ("SR-16",)),
        LayerSpec("bookstore", "民营书店", "Bookstores", "bookstore", ("SR-16",)),
    )
}
"""Every reference layer by name.  ``venue`` points are ``entertainment`` or ``internet_cafe`` (category column)."""

VENUE_CATEGORIES = ("entertainment", "internet_cafe")
_INTERNET_WORDS = ("internet", "网吧", "网咖", "上网", "cafe", "café")
_HEADER_ALIASES = {
    "lon": ("lon", "lng", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "name": ("name", "名称", "名字"),
    "category": ("category", "类别", "类型"),
    "layer": ("layer", "图层"),
}
MAX_ERRORS = 20


class ReferenceImportError(ValueError):
    """A reference file that cannot be imported; ``problems`` lists row-numbered messages."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message if not problems else message + "\n" + "\n".join(problems))
        self.problems = list(problems)


@dataclass
class ReferenceImport:
    """What :func:`import_csv` wrote: points per layer, and the layers it replaced."""

    counts: dict[str, int] = field(default_factory=dict)
    replaced: dict[str, int] = field(default_factory=dict)
    crs: str = "wgs84"

    @property
    def layers(self) -> list[str]:
        """Layers that changed (imported into or replaced)."""
        return sorted(set(self.counts) | set(self.replaced))


def rule_category(layer: str, category: str | None = None) -> str:
    """The neighbour category of the rule engine a point of ``layer`` stands for.

    Venues are ``internet_cafe`` when their category names one (网吧, 上网服务,
    internet café), otherwise ``entertainment``.
    """
    spec = LAYERS[layer]
    if layer == "venue":
        text = (category or "").strip().lower()
        return "internet_cafe" if any(w in text for w in _INTERNET_WORDS) else "entertainment"
    return spec.category


def check_layer(name: str) -> str:
    """Return ``name`` if it is a known layer; raise :class:`ReferenceImportError` listing them otherwise."""
    key = (name or "").strip().lower()
    if key not in LAYERS:
        raise ReferenceImportError(
            f"未知图层 / unknown layer {name!r}; expected one of: {', '.join(LAYERS)}"
        )
    return key


# --------------------------------------------------------------------------- reading
def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReferenceImportError("无法识别文件编码（应为 UTF-8 或 GBK）/ cannot decode the file (UTF-8 or GBK expected)")


def _columns(header: list[str]) -> dict[str, int] | None:
    """Positions of the known columns in a header row, or None if the row is data (starts with numbers)."""
    names = [h.strip().lower() for h in header]
    try:
        float(names[0]), float(names[1])
        return None
    except (ValueError, IndexError):
        pass
    found: dict[str, int] = {}
    for key, aliases in _HEADER_ALIASES.items():
        for i, name in enumerate(names):
            if name in aliases:
                found[key] = i
                break
    missing = [k for k in ("lon", "lat") if k not in found]
    if missing:
        raise ReferenceImportError(
            f"缺少列 / missing column(s): {', '.join(missing)} (header: {', '.join(header)}); "
            "expected lon,lat,name[,category][,layer]"
        )
    return found


@dataclass
class _Rows:
    lon: list[float] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    name: list[str | None] = field(default_factory=list)
    layer: list[str] = field(default_factory=list)
    category: list[str | None] = field(default_factory=list)


def _parse(text: str, layer: str | None) -> _Rows:
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    if not rows:
        raise ReferenceImportError("文件为空 / the file is empty")
    cols = _columns(rows[0])
    first = 2 if cols is not None else 1
    if cols is None:
        cols = {"lon": 0, "lat": 1, "name": 2, "category": 3}
    else:
        rows = rows[1:]
    if not rows:
        raise ReferenceImportError("文件只有表头 / the file has a header but no rows")
    if layer is None and "layer" not in cols:
        raise ReferenceImportError("未指定图层：请用 --layer 或在文件中提供 layer 列 / "
                                   "no layer: give --layer or a 'layer' column")
    out, problems = _Rows(), []

    def cell(row: list[str], key: str) -> str | None:
        i = cols.get(key)
        value = row[i].strip() if i is not None and i < len(row) else ""
        return value or None

    for n, row in enumerate(rows, start=first):
        try:
            lon, lat = float(cell(row, "lon") or "x"), float(cell(row, "lat") or "x")
        except ValueError:
            problems.append(f"第 {n} 行 / row {n}: 经纬度无效 / bad lon/lat {cell(row, 'lon')!r},{cell(row, 'lat')!r}")
            continue
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            problems.append(f"第 {n} 行 / row {n}: 经纬度超出范围 / lon/lat out of range {lon},{lat}")
            continue
        row_layer = layer if layer is not None else cell(row, "layer")
        try:
            row_layer = check_layer(row_layer or "")
        except ReferenceImportError as exc:
            problems.append(f"第 {n} 行 / row {n}: {exc}")
            continue
        out.lon.append(lon)
        out.lat.append(lat)
        out.name.append(cell(row, "name"))
        out.layer.append(row_layer)
        category = cell(row, "category")
        out.category.append(rule_category(row_layer, category) if row_layer == "venue" else category)
        if len(problems) >= MAX_ERRORS:
            break
    if problems:
        raise ReferenceImportError(f"{len(problems)} 行有错，未导入 / {len(problems)} bad row(s), nothing imported",
                                   problems)
    return out


# --------------------------------------------------------------------------- writing
def import_csv(
    bind: Session | Connection,
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str = "wgs84",
    replace: bool = True,
    synthetic: bool = False,
    source: str | None = None,
) -> ReferenceImport:
    """Import a point CSV into reference layers (the caller commits).

    Parameters
    ----------
    bind : Session or Connection
        Where to write.
    path : str or Path
        CSV (UTF-8 or GBK) with a header ``lon,lat,name[,category][,layer]``
        (Chinese headers 经度/纬度/名称/类别/图层 too) or headerless rows in that order.
    layer : str, optional
        Layer of every row (one of :data:`LAYERS`); else the file's ``layer`` column.
    crs : str
        Coordinate system of the file (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``), converted with
        :func:`registry.coords.to_wgs84`.
    replace : bool
        Delete the previous points of every layer the file contains (default); ``False`` appends.
    synthetic : bool
        Flag the points as made up (the shipped sample layer).
    source : str, optional
        Recorded with each point (default: the file name).

    Raises
    ------
    ReferenceImportError
        Unknown layer, missing columns, bad coordinates (row-numbered); nothing is written.
    """
    path = Path(path)
    canonical = parse_crs(crs).value
    if layer is not None:
        layer = check_layer(layer)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReferenceImportError(f"无法读取 / cannot read {path}: {exc.strerror or exc}") from None
    rows = _parse(_decode(raw), layer)
    lon, lat = to_wgs84(rows.lon, rows.lat, canonical)
    conn = bind.connection() if isinstance(bind, Session) else bind
    result = ReferenceImport(crs=canonical)
    table = ReferencePoint.__table__
    if replace:
        for name in sorted(set(rows.layer)):
            result.replaced[name] = conn.execute(delete(table).where(table.c.layer == name)).rowcount
    records = [
        {"layer": ly, "name": nm, "category": cat, "geom": f"SRID=4326;POINT({x!r} {y!r})",
         "source": source or path.name, "is_synthetic": synthetic}
        for ly, nm, cat, x, y in zip(rows.layer, rows.name, rows.category, map(float, lon), map(float, lat))
    ]
    for start in range(0, len(records), 5000):
        conn.execute(insert(table), records[start:start + 5000])
    result.counts = dict(Counter(rows.layer))
    return result


def delete_layers(bind: Session | Connection, layers: Iterable[str]) -> dict[str, int]:
    """Delete every point of ``layers``; return the number removed per layer."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    table = ReferencePoint.__table__
    return {name: conn.execute(delete(table).where(table.c.layer == check_layer(name))).rowcount for name in layers}


def get_layer_counts(bind: Session | Connection) -> dict[str, dict[str, int]]:
    """Points per layer: ``{layer: {"n": …, "synthetic": …, <category>: …}}`` (loaded layers only)."""
    out: dict[str, dict[str, int]] = {}
    for layer, category, n, synthetic in bind.execute(select_reference_layer_counts()):
        entry = out.setdefault(layer, {"n": 0, "synthetic": 0})
        entry["n"] += n
        entry["synthetic"] += synthetic
        if category:
            entry[category] = entry.get(category, 0) + n
    return out


SAMPLE_SOURCE = "sample"
"""``source`` of the shipped synthetic reference points (replaced on every sample load)."""


def load_sample_points(bind: Session | Connection, path: str | Path) -> ReferenceImport:
    """Replace the shipped synthetic reference points (``source = 'sample'``) with those in ``path``.

    Points imported from other files are left alone.  The file has a ``layer``
    column; every point is flagged ``is_synthetic``.
    """
    conn = bind.connection() if isinstance(bind, Session) else bind
    table = ReferencePoint.__table__
    conn.execute(delete(table).where(table.c.source == SAMPLE_SOURCE))
    return import_csv(conn, path, crs="wgs84", replace=False, synthetic=True, source=SAMPLE_SOURCE)
