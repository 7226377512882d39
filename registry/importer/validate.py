"""Row validation: kinds, required fields, typed values and coordinates, chunk by chunk.

Everything here is plain Python/numpy (no database): a chunk of raw text
columns goes in, and out come the typed, WGS-84 rows of each kind ready for
staging, the rejected rows with their messages, and the warnings.  Checks
that need the database (district assignment, declared-district mismatch,
near-duplicates, existing records) run set-based in :mod:`registry.importer.write`.

Coordinate checks: non-numeric, NaN/inf, out of range, latitude/longitude
swapped, outside China (e.g. ``0,0``), a missing half; rows with an address
but no coordinates are "needs coordinates" (no geocoder is reachable
offline).  Points are converted from the declared system with
:func:`registry.coords.to_wgs84`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from registry.coords import Crs, to_wgs84
from registry.importer.headers import FieldColumn, HeaderMatch, KindColumns
from registry.importer.read import RawChunk
from registry.importer.report import ERROR, WARNING, Issue, cell_issue, row_issue, shorten
from registry.importer.values import (
    MAX_TEXT_LENGTH,
    ParsedColumn,
    ValueProblem,
    clean_cell,
    parse_column,
    parser_for,
)
from registry.kinds import KIND_SPECS, FacilityKind, FieldSpec, FieldType

# Zhengzhou's extent (WGS-84) with a margin; the exact test is point-in-polygon in SQL.
ZHENGZHOU_BBOX = (112.6, 34.2, 114.3, 35.0)
# China's rough box (the GCJ-02 domain): a point outside it is certainly wrong here.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)
MAX_ID_LENGTH = 200

STATIC_PLACE_ALIASES = {
    "管城区": "410104", "管城": "410104",
    "经开区": "410171", "经济开发区": "410171", "郑州经开区": "410171", "经济技术开发区": "410171",
    "高新区": "410172", "郑州高新区": "410172", "高新技术开发区": "410172", "高新技术产业开发区": "410172",
    "航空港区": "410173", "航空港": "410173", "港区": "410173", "郑州航空港区": "410173",
    "航空港经济综合实验区": "410173", "航空港实验区": "410173",
}


def place_key(text: str) -> str:
    """Comparison form of a place name (NFKC, no spaces, no 郑州市 prefix)."""
    t = "".join(unicodedata.normalize("NFKC", text).split())
    for prefix in ("河南省", "郑州市"):
        if t.startswith(prefix) and len(t) > len(prefix):
            t = t[len(prefix):]
    return t


def build_place_aliases(units: list[tuple[str, str]]) -> dict[str, str]:
    """Alias → unit code for declared districts: full names, names without 区/县/市, short forms."""
    table: dict[str, str] = {}
    for code, name in units:
        key = place_key(name)
        table[key] = code
        table[name] = code
        if len(key) > 2 and key[-1] in "区县市":
            table.setdefault(key[:-1], code)
        if key.startswith("郑州") and len(key) > 4:
            table.setdefault(key[2:], code)
    for alias, code in STATIC_PLACE_ALIASES.items():
        table.setdefault(alias, code)
    return table


def kind_lookup() -> dict[str, FacilityKind]:
    """Every accepted spelling of a kind in a ``kind``/``类型`` column."""
    table: dict[str, FacilityKind] = {}
    for kind, spec in KIND_SPECS.items():
        for term in (kind.value, spec.zh, spec.en, *spec.aliases):
            table["".join(unicodedata.normalize("NFKC", term).lower().split())] = kind
    extra = {"书房": FacilityKind.STUDY_ROOM, "停车": FacilityKind.PARKING_LOT, "停车场所": FacilityKind.PARKING_LOT,
             "幼儿园所": FacilityKind.KINDERGARTEN, "museum博物馆": FacilityKind.MUSEUM}
    table.update(extra)
    return table


_KINDS = kind_lookup()


def status_spec(kind: FacilityKind) -> FieldSpec:
    """The shared ``status`` field with the statuses of ``kind`` as its choices."""
    from registry.kinds import COMMON_FIELDS

    base = next(f for f in COMMON_FIELDS if f.name == "status")
    return FieldSpec(base.name, FieldType.ENUM, base.zh, base.en, base.aliases, KIND_SPECS[kind].statuses)


@dataclass
class ImportPlan:
    """What the file-level checks decided, shared by every chunk."""

    match: HeaderMatch
    fixed_kind: FacilityKind | None
    crs: Crs
    default_source: str
    place_aliases: dict[str, str]
    zone_codes: frozenset[str] = frozenset()
    seen_keys: dict[tuple[str, str], int] = field(default_factory=dict)
    parsers: dict[tuple[FacilityKind, str], Any] = field(default_factory=dict)

    def parser(self, kind: FacilityKind, spec: FieldSpec) -> Any:
        key = (kind, spec.name)
        if key not in self.parsers:
            self.parsers[key] = parser_for(status_spec(kind) if spec.name == "status" else spec)
        return self.parsers[key]


@dataclass
class KindRows:
    """Valid rows of one kind, typed and in WGS-84, ready to be staged."""

    kind: FacilityKind
    row_numbers: np.ndarray
    common: dict[str, np.ndarray]  # source, external_id, name, address, declared_district, declared_code, status
    lon: np.ndarray
    lat: np.ndarray
    fields: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.row_numbers)


@dataclass
class ChunkResult:
    """Outcome of one chunk."""

    rows: list[KindRows]
    rejected: dict[int, list[Issue]]  # chunk index -> issues
    needs_coordinates: dict[int, Issue]
    warnings: list[Issue]
    blank: int = 0


# --------------------------------------------------------------------------- coordinates
@dataclass
class Coordinates:
    """Parsed coordinates of a chunk: WGS-84 arrays (NaN where unusable) and per-row problems."""

    lon: np.ndarray
    lat: np.ndarray
    problems: dict[int, Issue]
    missing: np.ndarray  # both cells empty


def _coordinate_values(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers of a coordinate column: values, empty mask, non-numeric mask (NaN text counts as non-numeric)."""
    empty = raw == ""
    values = pd.to_numeric(pd.Series(raw, dtype=object).where(~empty, None), errors="coerce").to_numpy(
        dtype=np.float64, copy=True)
    bad = ~empty & ~np.isfinite(values)
    if bad.any():  # a second chance: spaces, "113.6°", full-width digits, "E113.6", "113,6"
        for i in np.flatnonzero(bad):
            t = unicodedata.normalize("NFKC", clean_cell(str(raw[i]))).replace("°", "").strip()
            if t == "":
                empty[i], bad[i] = True, False
                continue
            t = t.lstrip("EeNn").replace(",", ".")
            try:
                v = float(t)
            except ValueError:
                continue
            if np.isfinite(v):
                values[i] = v
                bad[i] = False
    values[empty | bad] = np.nan
    return values, empty, bad


def check_coordinates(lon_raw: np.ndarray, lat_raw: np.ndarray, crs: Crs, row_numbers: np.ndarray,
                      lon_header: str, lat_header: str) -> Coordinates:
    """Validate and convert a chunk's coordinates; see the module docstring for the checks."""
    lon, lon_empty, lon_bad = _coordinate_values(lon_raw)
    lat, lat_empty, lat_bad = _coordinate_values(lat_raw)
    problems: dict[int, Issue] = {}
    missing = lon_empty & lat_empty

    def cell(i: int, header: str, raw: Any, code: str, zh: str, en: str) -> None:
        problems.setdefault(i, cell_issue(int(row_numbers[i]), header, "coordinate", str(raw), code, zh, en))

    for i in np.flatnonzero(lon_bad):
        nan = str(lon_raw[i]).strip().lower() in ("nan", "inf", "-inf", "infinity")
        cell(i, lon_header, lon_raw[i], "nan" if nan else "coordinate", "数字形式的经度（如 113.6654）",
             "a numeric longitude (e.g. 113.6654)")
    for i in np.flatnonzero(lat_bad):
        nan = str(lat_raw[i]).strip().lower() in ("nan", "inf", "-inf", "infinity")
        cell(i, lat_header, lat_raw[i], "nan" if nan else "coordinate", "数字形式的纬度（如 34.7466）",
             "a numeric latitude (e.g. 34.7466)")
    for i in np.flatnonzero(lon_empty ^ lat_empty):
        header = lon_header if lon_empty[i] else lat_header
        problems.setdefault(i, row_issue(int(row_numbers[i]), "coordinate_missing",
                                         f"只填了经度或纬度之一，缺少「{header}」。",
                                         f"only one of longitude/latitude is given; '{header}' is missing.",
                                         column=header))
    ok = np.isfinite(lon) & np.isfinite(lat)
    in_range = ok & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    minx, miny, maxx, maxy = CHINA_BBOX
    in_china = in_range & (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    swapped = ok & ~in_china & (lat >= minx) & (lat <= maxx) & (lon >= miny) & (lon <= maxy)
    for i in np.flatnonzero(swapped):
        problems.setdefault(i, row_issue(
            int(row_numbers[i]), "swapped",
            f"经纬度似乎填反了：「{lon_header}」为 {lon_raw[i]}，「{lat_header}」为 {lat_raw[i]}"
            "（郑州约为经度 113.6、纬度 34.7），请交换两列。",
            f"latitude and longitude look swapped: '{lon_header}' is {lon_raw[i]} and '{lat_header}' is "
            f"{lat_raw[i]} (Zhengzhou is about lon 113.6, lat 34.7); swap the two columns.",
            column=lon_header, value=f"{lon_raw[i]},{lat_raw[i]}"))
    for i in np.flatnonzero(ok & ~in_range & ~swapped):
        problems.setdefault(i, row_issue(
            int(row_numbers[i]), "coordinate_range",
            f"坐标 ({lon_raw[i]}, {lat_raw[i]}) 超出范围：经度应在 -180～180，纬度应在 -90～90。",
            f"coordinates ({lon_raw[i]}, {lat_raw[i]}) are out of range: longitude must be -180..180 and "
            "latitude -90..90.", column=lon_header, value=f"{lon_raw[i]},{lat_raw[i]}"))
    for i in np.flatnonzero(in_range & ~in_china & ~swapped):
        problems.setdefault(i, row_issue(
            int(row_numbers[i]), "outside_china",
            f"坐标 ({lon_raw[i]}, {lat_raw[i]}) 不在中国境内（是否漏填为 0？），郑州约为经度 113.6、纬度 34.7。",
            f"coordinates ({lon_raw[i]}, {lat_raw[i]}) are not in China (a 0 left in?); Zhengzhou is about "
            "lon 113.6, lat 34.7.", column=lon_header, value=f"{lon_raw[i]},{lat_raw[i]}"))
    usable = in_china & ~swapped
    out_lon = np.full(len(lon), np.nan)
    out_lat = np.full(len(lat), np.nan)
    if usable.any():
        wlon, wlat = to_wgs84(lon[usable], lat[usable], crs)
        out_lon[usable] = wlon
        out_lat[usable] = wlat
    return Coordinates(lon=out_lon, lat=out_lat, problems=problems, missing=missing)


# --------------------------------------------------------------------------- chunks
def _column(chunk: RawChunk, col: FieldColumn | None, idx: np.ndarray) -> np.ndarray:
    if col is None:
        return np.full(len(idx), "", dtype=object)
    return chunk.columns[col.index][idx]


def _row_kinds(chunk: RawChunk, plan: ImportPlan, rejected: dict[int, list[Issue]]) -> np.ndarray:
    """The kind of each row (object array of FacilityKind or None)."""
    n = len(chunk)
    kinds = np.empty(n, dtype=object)
    kinds[:] = plan.fixed_kind.value if plan.fixed_kind is not None else None
    kcol = plan.match.kind_column
    if kcol is None:
        return kinds
    header = plan.match.headers[kcol]
    codes, uniques = pd.factorize(chunk.columns[kcol], use_na_sentinel=False)
    resolved = [_KINDS.get("".join(unicodedata.normalize("NFKC", str(u)).lower().split())) for u in uniques]
    allowed = "、".join(f"{s.zh}({k.value})" for k, s in KIND_SPECS.items())
    for i in range(n):
        text = str(uniques[codes[i]]).strip()
        kind = resolved[codes[i]]
        if text == "":
            if plan.fixed_kind is None:
                rejected.setdefault(i, []).append(cell_issue(
                    int(chunk.row_numbers[i]), header, "kind", "", "kind_missing",
                    f"设施类型（{allowed}）", f"a facility kind ({allowed})"))
            continue
        if kind is None:
            rejected.setdefault(i, []).append(cell_issue(
                int(chunk.row_numbers[i]), header, "kind", text, "kind_unknown",
                f"设施类型之一：{allowed}", f"one of the facility kinds: {allowed}"))
            kinds[i] = None
        elif plan.fixed_kind is not None and kind != plan.fixed_kind:
            fixed = KIND_SPECS[plan.fixed_kind]
            rejected.setdefault(i, []).append(row_issue(
                int(chunk.row_numbers[i]), "wrong_kind",
                f"本行类型为「{text}」，但本次导入的类型是「{fixed.zh}」。",
                f"this row's kind is '{text}', but this import is for '{fixed.en}' ({plan.fixed_kind.value}).",
                column=header, value=text))
            kinds[i] = None
        else:
            kinds[i] = kind.value
    return kinds


def validate_chunk(chunk: RawChunk, plan: ImportPlan) -> ChunkResult:
    """Validate one chunk of rows; see :class:`ChunkResult`."""
    n = len(chunk)
    rejected: dict[int, list[Issue]] = {}
    warnings: list[Issue] = []
    needs: dict[int, Issue] = {}
    nonblank = ~chunk.blank if chunk.blank is not None else np.ones(n, dtype=bool)
    for i, width in chunk.overflow.items():
        rejected.setdefault(i, []).append(row_issue(
            int(chunk.row_numbers[i]), "extra_values",
            f"本行有 {width} 个值，但表头只有 {len(plan.match.headers)} 列（值中是否有未加引号的分隔符？）。",
            f"the row has {width} values but the header has {len(plan.match.headers)} columns (an unquoted "
            "delimiter inside a value?)."))
    kinds = _row_kinds(chunk, plan, rejected)
    out: list[KindRows] = []
    for kind in dict.fromkeys(FacilityKind(k) for k in kinds[nonblank] if k is not None):
        idx = np.flatnonzero(nonblank & (kinds == kind.value))
        out.append(_validate_kind(chunk, plan, kind, idx, rejected, needs, warnings))
    # Rows rejected anywhere are removed from the staged rows of their kind.
    if rejected or needs:
        drop = set(rejected) | set(needs)
        out = [_without(rows, chunk, drop) for rows in out]
    _check_duplicate_keys(out, plan, chunk, rejected)
    return ChunkResult(rows=[r for r in out if len(r)], rejected=rejected, needs_coordinates=needs,
                       warnings=warnings, blank=int((~nonblank).sum()))


def _without(rows: KindRows, chunk: RawChunk, drop: set[int]) -> KindRows:
    index = {int(r): i for i, r in enumerate(chunk.row_numbers)}
    keep = np.array([index[int(r)] not in drop for r in rows.row_numbers], dtype=bool)
    if keep.all():
        return rows
    return KindRows(rows.kind, rows.row_numbers[keep], {k: v[keep] for k, v in rows.common.items()},
                    rows.lon[keep], rows.lat[keep], {k: v[keep] for k, v in rows.fields.items()})


def _check_duplicate_keys(out: list[KindRows], plan: ImportPlan, chunk: RawChunk,
                          rejected: dict[int, list[Issue]]) -> None:
    """The same (source, external id) twice in one file: the later row is rejected."""
    index = {int(r): i for i, r in enumerate(chunk.row_numbers)}
    for k, rows in enumerate(out):
        keep = np.ones(len(rows), dtype=bool)
        for j, (src, ext) in enumerate(zip(rows.common["source"], rows.common["external_id"])):
            if ext is None:
                continue
            row_no = int(rows.row_numbers[j])
            first = plan.seen_keys.setdefault((src, ext), row_no)
            if first != row_no:
                keep[j] = False
                header = plan.match.kinds[rows.kind].common["external_id"].header
                rejected.setdefault(index[row_no], []).append(row_issue(
                    row_no, "duplicate_id", f"「{header}」{shorten(ext)} 与第 {first} 行重复（同一来源内编号须唯一）。",
                    f"'{header}' {shorten(ext)} repeats row {first} (ids must be unique within a source).",
                    column=header, value=ext))
        if not keep.all():
            out[k] = KindRows(rows.kind, rows.row_numbers[keep], {c: v[keep] for c, v in rows.common.items()},
                              rows.lon[keep], rows.lat[keep], {c: v[keep] for c, v in rows.fields.items()})


def _validate_kind(chunk: RawChunk, plan: ImportPlan, kind: FacilityKind, idx: np.ndarray,
                   rejected: dict[int, list[Issue]], needs: dict[int, Issue], warnings: list[Issue]) -> KindRows:
    cols: KindColumns = plan.match.kinds[kind]
    rows = chunk.row_numbers[idx]
    common: dict[str, np.ndarray] = {}

    def fail(local: int, issue: Issue) -> None:
        rejected.setdefault(int(idx[local]), []).append(issue)

    def parsed(col: FieldColumn | None, spec_name: str) -> np.ndarray:
        if col is None:
            return np.full(len(idx), None, dtype=object)
        result: ParsedColumn = parse_column(_column(chunk, col, idx), plan.parser(kind, col.field))
        for local, problem in result.errors.items():
            fail(local, _cell_problem(int(rows[local]), col, str(chunk.columns[col.index][idx[local]]), problem))
        return result.values

    for name in ("external_id", "name", "address", "district", "status"):
        col = cols.common.get(name)
        values = parsed(col, name)
        common["declared_district" if name == "district" else name] = values
        if col is not None and name in ("external_id", "name", "address"):
            warnings.extend(formula_warnings(values, col, rows))
    for local in np.flatnonzero(pd.isna(pd.Series(common["name"], dtype=object)).to_numpy()):
        header = cols.common["name"].header if "name" in cols.common else "名称 name"
        fail(local, row_issue(int(rows[local]), "required", f"「{header}」不能为空。", f"'{header}' is required.",
                              column=header))
    ext = common["external_id"]
    for local in np.flatnonzero(pd.Series(ext, dtype=object).str.len().fillna(0).to_numpy() > MAX_ID_LENGTH):
        header = cols.common["external_id"].header
        fail(local, cell_issue(int(rows[local]), header, "External ID", ext[local], "too_long",
                               f"不超过 {MAX_ID_LENGTH} 个字符的编号", f"an id of at most {MAX_ID_LENGTH} characters"))
    source = np.full(len(idx), plan.default_source, dtype=object)
    if plan.match.source_column is not None:
        given = chunk.columns[plan.match.source_column][idx]
        source = np.array([clean_cell(s)[:MAX_TEXT_LENGTH] or plan.default_source for s in given], dtype=object)
    common["source"] = source
    codes, uniques = pd.factorize(common["declared_district"], use_na_sentinel=True)
    resolved = np.array([plan.place_aliases.get(place_key(d)) for d in uniques] + [None], dtype=object)
    common["declared_code"] = resolved[codes]
    for local in np.flatnonzero([d is not None and c is None for d, c in
                                 zip(common["declared_district"], common["declared_code"])]):
        header = cols.common["district"].header
        warnings.append(cell_issue(int(rows[local]), header, "District", common["declared_district"][local],
                                   "district_unknown", "郑州市的区县或功能区名称（未核对落区）",
                                   "a district or zone of Zhengzhou (the district was not checked)",
                                   severity=WARNING))

    lon_col, lat_col = cols.common.get("lon"), cols.common.get("lat")
    coords = check_coordinates(_column(chunk, lon_col, idx), _column(chunk, lat_col, idx), plan.crs, rows,
                               lon_col.header if lon_col else "经度", lat_col.header if lat_col else "纬度")
    for local, issue in coords.problems.items():
        fail(local, issue)
    address = common["address"]
    for local in np.flatnonzero(coords.missing):
        row_no = int(rows[local])
        if address[local] is not None:
            needs[int(idx[local])] = row_issue(
                row_no, "needs_coordinates",
                f"有地址「{shorten(address[local])}」但没有经纬度：需要补充坐标（离线环境无法地理编码），本行未导入。",
                f"has an address ('{shorten(address[local])}') but no coordinates: needs coordinates (no "
                "geocoding offline); the row was not imported.")
        else:
            fail(local, row_issue(row_no, "no_location", "既没有经纬度也没有地址，无法定位。",
                                  "neither coordinates nor an address: the facility cannot be placed."))

    fields: dict[str, np.ndarray] = {}
    for name, col in cols.fields.items():
        values = parsed(col, name)
        if col.field.type is FieldType.POINTS:
            values = _points_to_wgs84(values, col, plan.crs, kind, rows, fail)
        elif col.field.type is FieldType.STR:
            warnings.extend(formula_warnings(values, col, rows))
        fields[name] = values
    return KindRows(kind=kind, row_numbers=rows, common=common, lon=coords.lon, lat=coords.lat, fields=fields)


FORMULA_START = frozenset("=+-@")
"""First characters that make a spreadsheet run a cell as a formula (formula/CSV injection)."""


def formula_warnings(values: np.ndarray, col: FieldColumn, rows: np.ndarray) -> list[Issue]:
    """Warnings for text cells a spreadsheet would run as a formula (``=…``, ``+…``, ``-…``, ``@…``).

    The value is kept as plain text (the database never evaluates it); every CSV/Excel file the registry
    hands back (error reports, exports) prefixes such cells with ``'``.  Signed numbers and a lone ``-``
    (a common "none" placeholder) are not warned about.
    """
    out: list[Issue] = []
    for local, value in enumerate(values.tolist()):
        if value and len(value) > 1 and value[0] in FORMULA_START and not _signed_number(value):
            row, shown = int(rows[local]), shorten(value)
            out.append(Issue(
                WARNING, "formula",
                zh=f"第 {row} 行「{col.header}」列的值「{shown}」以 {value[0]} 开头，像电子表格公式："
                   "已按纯文本保存（不会被执行），导出和错误报告中会加 ' 前缀。",
                en=f"Row {row}, column '{col.header}' ({col.field.en}): '{shown}' starts with {value[0]} like a "
                   "spreadsheet formula; it is stored as plain text (never run) and prefixed with ' in exports "
                   "and error reports.",
                row=row, column=col.header, value=value))
    return out


def _signed_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _cell_problem(row: int, col: FieldColumn, raw: str, problem: ValueProblem) -> Issue:
    return cell_issue(row, col.header, col.field.en, raw, problem.code, problem.zh, problem.en)


def _points_to_wgs84(values: np.ndarray, col: FieldColumn, crs: Crs, kind: FacilityKind, rows: np.ndarray,
                     fail: Any) -> np.ndarray:
    """Convert parsed point lists to WGS-84 EWKT (POINT or MULTIPOINT as the model column is)."""
    from registry.kinds.values import points_ewkt
    from registry.models import KIND_MODELS

    column = KIND_MODELS[kind.value].__table__.c[col.field.name]
    multi = getattr(column.type, "geometry_type", "POINT") == "MULTIPOINT"
    out = np.full(len(values), None, dtype=object)
    for i, points in enumerate(values):
        if points is None:
            continue
        if not multi and len(points) > 1:
            fail(i, cell_issue(int(rows[i]), col.header, col.field.en, ";".join(f"{x},{y}" for x, y in points),
                               "points", "一个点（经度,纬度）", "a single point (lon,lat)"))
            continue
        xs, ys = to_wgs84(np.array([p[0] for p in points]), np.array([p[1] for p in points]), crs)
        out[i] = points_ewkt(list(zip(xs.tolist(), ys.tolist())), multi=multi)
    return out


def is_in_box(lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float] = ZHENGZHOU_BBOX
              ) -> np.ndarray:
    """Points inside a lon/lat box (quick pre-test before the exact polygon test)."""
    minx, miny, maxx, maxy = box
    return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)


__all__ = ["ChunkResult", "Coordinates", "ERROR", "ImportPlan", "KindRows", "build_place_aliases",
           "check_coordinates", "place_key", "validate_chunk"]
