"""Exporting facilities: CSV for Excel, GeoJSON and GeoPackage, filtered like the list view.

CSV is UTF-8 *with BOM* (so Excel shows Chinese correctly) and every text
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with ``'`` so a spreadsheet never runs it as a formula (the importer
removes that prefix again).  Headers are the Chinese labels the importer
accepts, so an export can be edited and imported back: with its ``来源`` and
``编号`` columns the rows update the same records.

Templates: :func:`template_csv` / :func:`template_xlsx` give an empty file
per kind with the Chinese headers and one example row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from registry.kinds import COMMON_FIELDS, KIND_SPECS, FacilityKind, FieldSpec, FieldType
from registry.kinds.values import format_canonical
from registry.models import KIND_MODELS, District, Facility

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
FORMATS = ("csv", "geojson", "gpkg")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
               "gpkg": "application/geopackage+sqlite3",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def neutralise(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with ``'``; other values pass unchanged.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-1"), neutralise(-1), neutralise("金水区")
    ('\\'=HYPERLINK("http://x")', "'-1", -1, '金水区')
    """
    if isinstance(value, str) and value and value[0] in FORMULA_PREFIXES:
        return "'" + value
    return value


@dataclass(frozen=True)
class ExportFilter:
    """Which facilities to export (the filters of the list view).

    Parameters
    ----------
    kind : str, optional
        One :class:`FacilityKind` value; all kinds when ``None``.
    district : str, optional
        County adcode (``410105``); ``"none"`` for facilities outside every district.
    status : str, optional
        Stored status value.
    q : str, optional
        Text contained in the name or address.
    batch_id : int, optional
        Only the facilities last written by this import batch.
    bbox : tuple, optional
        (minx, miny, maxx, maxy) in WGS-84.
    """

    kind: str | None = None
    district: str | None = None
    status: str | None = None
    q: str | None = None
    batch_id: int | None = None
    bbox: tuple[float, float, float, float] | None = None

    def kinds(self) -> list[FacilityKind]:
        return [FacilityKind(self.kind)] if self.kind else list(FacilityKind)


def _select(kind: FacilityKind, flt: ExportFilter) -> Select:
    from registry.spatial import facility_lonlat, in_bbox

    model = KIND_MODELS[kind.value]
    lon, lat = facility_lonlat()
    stmt = (select(model, lon, lat, District.name.label("district_name"))
            .outerjoin(District, District.adcode == Facility.district_code)
            .order_by(Facility.id))
    if flt.district == "none":
        stmt = stmt.where(Facility.district_code.is_(None))
    elif flt.district:
        stmt = stmt.where(Facility.district_code == flt.district)
    if flt.status:
        stmt = stmt.where(Facility.status == flt.status)
    if flt.q:
        pattern = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(Facility.name.ilike(pattern, escape="\\") | Facility.address.ilike(pattern, escape="\\"))
    if flt.batch_id is not None:
        stmt = stmt.where(Facility.batch_id == flt.batch_id)
    if flt.bbox is not None:
        stmt = stmt.where(in_bbox(Facility.geom, flt.bbox))
    return stmt


def _rows(session: Session, flt: ExportFilter) -> Iterator[tuple[FacilityKind, Any, float, float, str | None]]:
    for kind in flt.kinds():
        result = session.execute(_select(kind, flt).execution_options(yield_per=2000))
        for obj, lon, lat, dname in result:
            yield kind, obj, lon, lat, dname
        result.close()


# --------------------------------------------------------------------------- CSV
def csv_columns(kinds: list[FacilityKind]) -> list[tuple[str, FacilityKind | None, FieldSpec | None]]:
    """(header, kind it belongs to or None for shared, field) for an export of ``kinds``."""
    cols: list[tuple[str, FacilityKind | None, FieldSpec | None]] = [("类型", None, None), ("来源", None, None)]
    cols += [(f.zh, None, f) for f in COMMON_FIELDS]
    seen = {c[0] for c in cols}
    for kind in kinds:
        for f in KIND_SPECS[kind].fields:
            header = f.zh if f.zh not in seen else f"{f.zh}({KIND_SPECS[kind].zh})"
            seen.add(header)
            cols.append((header, kind, f))
    cols += [("落点区县", None, None), ("系统编号", None, None)]
    return cols


def _cell(obj: Any, spec: FieldSpec, lon: float, lat: float) -> Any:
    if spec.name == "district":
        return obj.declared_district
    if spec.name == "lon":
        return round(lon, 7)
    if spec.name == "lat":
        return round(lat, 7)
    value = getattr(obj, spec.name)
    if value is None:
        return ""
    if spec.type is FieldType.POINTS:
        from registry.facilities import _points_text

        return _points_text(session_value=value)
    if spec.type is FieldType.ENUM:
        choices = spec.choices or KIND_SPECS[FacilityKind(obj.kind)].statuses
        choice = next((c for c in choices if c.value == value), None)
        return choice.zh if choice else value
    if spec.type is FieldType.BOOL:
        return "是" if value else "否"
    return format_canonical(spec, value)


def iter_csv(session: Session, flt: ExportFilter) -> Iterator[bytes]:
    """The CSV export, streamed: BOM, header, one line per facility, formula-safe."""
    cols = csv_columns(flt.kinds())
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c[0] for c in cols])
    yield BOM.encode("utf-8") + _drain(buf)
    n = 0
    for kind, obj, lon, lat, dname in _rows(session, flt):
        line: list[Any] = []
        for header, ckind, spec in cols:
            if header == "类型":
                line.append(KIND_SPECS[kind].zh)
            elif header == "来源":
                line.append(obj.source)
            elif header == "落点区县":
                line.append(dname or "")
            elif header == "系统编号":
                line.append(obj.id)
            elif ckind is not None and ckind != kind:
                line.append("")
            else:
                line.append(_cell(obj, spec, lon, lat))  # type: ignore[arg-type]
        writer.writerow([neutralise(v) for v in line])
        n += 1
        if n % 500 == 0:
            yield _drain(buf)
    yield _drain(buf)


def _drain(buf: io.StringIO) -> bytes:
    data = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return data.encode("utf-8")


def export_csv(session: Session, flt: ExportFilter) -> bytes:
    return b"".join(iter_csv(session, flt))


# --------------------------------------------------------------------------- GeoJSON and GeoPackage
def _properties(kind: FacilityKind, obj: Any, dname: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {"id": obj.id, "kind": kind.value, "source": obj.source, "external_id": obj.external_id,
                             "name": obj.name, "address": obj.address, "declared_district": obj.declared_district,
                             "district_code": obj.district_code, "district": dname, "status": obj.status,
                             "batch_id": obj.batch_id, "is_synthetic": obj.is_synthetic}
    for f in KIND_SPECS[kind].fields:
        value = getattr(obj, f.name)
        if f.type is FieldType.POINTS:
            from registry.facilities import _points_text

            value = None if value is None else _points_text(session_value=value)
        elif isinstance(value, (dt.date, dt.time)):
            value = format_canonical(f, value)
        props[f.name] = value
    return props


def iter_geojson(session: Session, flt: ExportFilter) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection (WGS-84), streamed."""
    yield b'{"type": "FeatureCollection", "features": ['
    first = True
    for kind, obj, lon, lat, dname in _rows(session, flt):
        feature = {"type": "Feature", "id": obj.id,
                   "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
                   "properties": _properties(kind, obj, dname)}
        yield (("" if first else ",\n") + json.dumps(feature, ensure_ascii=False)).encode("utf-8")
        first = False
    yield b"]}\n"


def export_geojson(session: Session, flt: ExportFilter) -> bytes:
    return b"".join(iter_geojson(session, flt))


def export_gpkg(session: Session, flt: ExportFilter) -> bytes:
    """A GeoPackage with one point layer per kind (EPSG:4326), written with pyogrio."""
    import geopandas as gpd
    from shapely.geometry import Point

    with tempfile.TemporaryDirectory(prefix="registry-export-") as tmp:
        path = Path(tmp) / "facilities.gpkg"
        written = False
        for kind in flt.kinds():
            records, geoms = [], []
            for _, obj, lon, lat, dname in _rows(session, ExportFilter(**{**flt.__dict__, "kind": kind.value})):
                records.append(_properties(kind, obj, dname))
                geoms.append(Point(lon, lat))
            if not records and (written or kind != flt.kinds()[-1]):
                continue
            frame = gpd.GeoDataFrame(records, geometry=geoms, crs="EPSG:4326") if records else \
                gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326")
            frame.to_file(path, layer=kind.value, driver="GPKG", engine="pyogrio")
            written = True
        return path.read_bytes()


def export_bytes(session: Session, flt: ExportFilter, fmt: str) -> bytes:
    """Export in ``fmt`` (``csv``, ``geojson``, ``gpkg``)."""
    if fmt == "csv":
        return export_csv(session, flt)
    if fmt == "geojson":
        return export_geojson(session, flt)
    if fmt == "gpkg":
        return export_gpkg(session, flt)
    raise ValueError(f"unknown export format {fmt!r}; expected one of: {', '.join(FORMATS)}")


# --------------------------------------------------------------------------- templates
def _example(spec: FieldSpec, kind: FacilityKind) -> str:
    examples = {"external_id": "JS-001", "name": f"示例{KIND_SPECS[kind].zh}", "address": "金水区花园路 1 号",
                "district": "金水区", "lon": "113.6654", "lat": "34.7802"}
    if spec.name in examples:
        return examples[spec.name]
    if spec.name == "status":
        return KIND_SPECS[kind].statuses[-1 if kind is FacilityKind.MUSEUM else 0].zh
    return {
        FieldType.STR: "示例",
        FieldType.INT: "100" if spec.min_value is None or spec.min_value < 100 else str(int(spec.min_value) + 100),
        FieldType.FLOAT: "120.5",
        FieldType.BOOL: "是",
        FieldType.DATE: "2019-06-30",
        FieldType.TIME: "09:00",
        FieldType.ENUM: spec.choices[0].zh if spec.choices else "",
        FieldType.POINTS: "113.6655,34.7803",
    }[spec.type]


def template_rows(kind: str | FacilityKind) -> tuple[list[str], list[str]]:
    """Chinese headers and one example row of the import template of ``kind``."""
    k = FacilityKind(kind)
    fields = [*COMMON_FIELDS, *KIND_SPECS[k].fields]
    return [f.zh for f in fields], [_example(f, k) for f in fields]


def template_csv(kind: str | FacilityKind) -> bytes:
    headers, example = template_rows(kind)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerow(example)
    return (BOM + buf.getvalue()).encode("utf-8")


def template_xlsx(kind: str | FacilityKind) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    headers, example = template_rows(kind)
    wb = Workbook()
    ws = wb.active
    ws.title = KIND_SPECS[FacilityKind(kind)].zh
    ws.append(headers)
    ws.append(example)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, len(h) * 2 + 2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
