"""Population layers: read a planner's file, keep its provenance, store it in PostGIS.

Accepted inputs (:func:`read_layer` dispatches on the file name):

* **CSV** of points or cells with a count — coordinate columns (``lon``/``lat``,
  ``x``/``y``, ``经度``/``纬度``...) in any CRS (WGS-84, CGCS2000, GCJ-02, BD-09
  or an EPSG code such as ``EPSG:4547``), or a ``wkt`` column of polygons;
* **GeoPackage / GeoJSON** polygons (or points) with a count attribute; a
  polygon's residents are placed at its representative point, or spread over
  points ``split_m`` apart inside it (areal weighting);
* **GeoTIFF** rasters such as WorldPop 100 m, read with rasterio: one point per
  cell with a positive value, at the cell centre, optionally only inside
  ``bounds`` (read as a window, so a country-wide raster is not read whole).

Every layer keeps its name, year, source and CRS (:class:`LayerInfo`).  The
census totals of the 15 units are the built-in layer ``census_2020``
(:data:`CENSUS_LAYER`): per-unit figures only, no positions.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from sqlalchemy.orm import Session

from registry.coverage.inputs import (
    METRIC_CRS,
    LayerInfo,
    PopulationGrid,
    UnitTable,
    lonlat_to_metric,
)

CENSUS_LAYER = "census_2020"
"""Name of the built-in layer made of the census units' 2020 totals."""

DEFAULT_LAYER = "modelled_grid_250m"
"""The shipped modelled 250 m grid (see docs/POPULATION_GRID.md)."""

COUNT_COLUMNS = ("population", "pop", "count", "value", "residents", "人口", "人口数", "人数", "常住人口")
LON_COLUMNS = ("lon", "lng", "longitude", "x", "经度", "东经")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度", "北纬")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")

CSV_SUFFIXES = (".csv", ".txt", ".csv.gz", ".tsv")
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")
RASTER_SUFFIXES = (".tif", ".tiff")

# Plausibility box for WGS-84 positions (China and a margin).
_CHINA = (70.0, 0.0, 140.0, 56.0)


class LayerImportError(ValueError):
    """A population file that cannot be imported; the message says what to fix.

    Attributes
    ----------
    parameter : str or None
        The option or column at fault (``count_column``, ``crs``, ...).
    """

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass
class ImportedLayer:
    """A population layer read from a file, not yet stored.

    Attributes
    ----------
    info : LayerInfo
        Provenance (``crs`` is the CRS of the file).
    cells : GeoDataFrame
        EPSG:4326 points (cell centres) with ``population``; column ``cell``
        holds the cell polygon (EPSG:4326 shapely geometry) or ``None``.
    """

    info: LayerInfo
    cells: gpd.GeoDataFrame

    @property
    def total(self) -> float:
        return float(self.cells["population"].sum())

    def to_grid(self, units: UnitTable | None = None) -> PopulationGrid:
        """The layer as a :class:`PopulationGrid` (unit codes located in ``units`` when given)."""
        lonlat = shapely.get_coordinates(self.cells.geometry.values)
        codes = units.locate(lonlat) if units is not None else np.full(len(lonlat), "", dtype=object)
        return PopulationGrid(lonlat_to_metric(lonlat[:, 0], lonlat[:, 1]), self.cells["population"].to_numpy(float),
                              codes, np.arange(1, len(lonlat) + 1), self.info)


# --------------------------------------------------------------------------- CRS
def _to_wgs84(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates in ``crs`` (names of registry.coords, or anything pyproj reads) to WGS-84."""
    from registry.coords import parse_crs, to_wgs84

    try:
        parsed = parse_crs(crs)
    except ValueError:
        parsed = None
    if parsed is not None:
        lon, lat = to_wgs84(np.asarray(x, float), np.asarray(y, float), parsed)
        return np.asarray(lon, float), np.asarray(lat, float)
    try:
        source = CRS.from_user_input(crs)
    except CRSError:
        raise LayerImportError(f"unknown CRS {crs!r}: use wgs84, cgcs2000, gcj02, bd09 or an EPSG code "
                               f"such as EPSG:4547", "crs") from None
    lon, lat = Transformer.from_crs(source, "EPSG:4326", always_xy=True).transform(np.asarray(x, float),
                                                                                 np.asarray(y, float))
    return np.asarray(lon, float), np.asarray(lat, float)


def _check_positions(lon: np.ndarray, lat: np.ndarray, crs: str) -> None:
    bad = ~np.isfinite(lon) | ~np.isfinite(lat)
    if bad.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad)[:5])
        raise LayerImportError(f"missing or invalid coordinates (file rows {rows}...)", "coordinates")
    minx, miny, maxx, maxy = _CHINA
    outside = (lon < minx) | (lon > maxx) | (lat < miny) | (lat > maxy)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise LayerImportError(
            f"{int(outside.sum())} positions are not in China after reading them as {crs} "
            f"(first: {lon[i]:.6f}, {lat[i]:.6f}); check the CRS and whether x/y are swapped", "crs")


def _counts(values: pd.Series, column: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    if bad.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad)[:5])
        raise LayerImportError(f"column {column!r}: missing or non-numeric counts (file rows {rows}...)",
                               "count_column")
    if (numbers < 0).any():
        raise LayerImportError(f"column {column!r}: counts must be ≥ 0", "count_column")
    return numbers


def _pick(columns: Sequence[str], wanted: str | None, candidates: Sequence[str], what: str,
          required: bool = True) -> str | None:
    if wanted:
        if wanted not in columns:
            raise LayerImportError(f"no column {wanted!r} (columns: {', '.join(map(str, columns))})", what)
        return wanted
    lower = {str(c).strip().lower(): c for c in columns}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    if required:
        raise LayerImportError(f"cannot tell which column is the {what.replace('_', ' ')}; "
                               f"name it with --{what.replace('_', '-')} (columns: {', '.join(map(str, columns))})",
                               what)
    return None


# --------------------------------------------------------------------------- readers
def read_csv_layer(path: Path, info: LayerInfo, *, count_column: str | None = None, lon_column: str | None = None,
                   lat_column: str | None = None, wkt_column: str | None = None,
                   cell_size_m: float | None = None) -> ImportedLayer:
    """Read a CSV of points or cells (coordinates or WKT polygons) with a count.

    ``cell_size_m`` marks the points as centres of square cells of that size
    in EPSG:4547 (kept for maps; distances use the centres).
    """
    raw = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise LayerImportError("the file is neither UTF-8 nor GBK text", "path")
    sep = "\t" if str(path).endswith(".tsv") else None
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, engine="python", dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LayerImportError(f"cannot read the CSV: {exc}", "path") from None
    if frame.empty:
        raise LayerImportError("the file has no rows", "path")
    columns = list(frame.columns)
    count = _pick(columns, count_column, COUNT_COLUMNS, "count_column")
    population = _counts(frame[count], count)
    wkt = wkt_column or (None if (lon_column or lat_column) else _pick(columns, None, WKT_COLUMNS, "wkt_column",
                                                                           required=False))
    if wkt:
        try:
            shapes = shapely.from_wkt(frame[wkt].fillna("").to_numpy(dtype=str), on_invalid="raise")
        except shapely.errors.GEOSException as exc:
            raise LayerImportError(f"column {wkt!r}: invalid WKT ({exc})", "wkt_column") from None
        return _from_shapes(shapes, population, info, crs=info.crs)
    lon_c = _pick(columns, lon_column, LON_COLUMNS, "lon_column")
    lat_c = _pick(columns, lat_column, LAT_COLUMNS, "lat_column")
    x = pd.to_numeric(frame[lon_c], errors="coerce").to_numpy(float)
    y = pd.to_numeric(frame[lat_c], errors="coerce").to_numpy(float)
    lon, lat = _to_wgs84(x, y, info.crs)
    _check_positions(lon, lat, info.crs)
    cells = None
    if cell_size_m:
        if not (math.isfinite(cell_size_m) and cell_size_m > 0):
            raise LayerImportError("cell size must be a positive number of metres", "cell_size_m")
        cells = _squares_wgs84(lon, lat, cell_size_m)
    info = replace(info, geometry_kind="cells" if cell_size_m else "points", cell_size_m=cell_size_m)
    return _layer(lon, lat, population, cells, info)


def read_vector_layer(path: Path, info: LayerInfo, *, count_column: str | None = None,
                      split_m: float | None = None) -> ImportedLayer:
    """Read a GeoPackage/GeoJSON of polygons (or points) with a count attribute."""
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several types for unreadable files
        raise LayerImportError(f"cannot read {Path(path).name}: {exc}", "path") from None
    if gdf.empty:
        raise LayerImportError("the file has no features", "path")
    if gdf.crs is None:
        if info.crs:
            gdf = gdf.set_crs(info.crs if ":" in info.crs else "EPSG:4326")
        else:
            raise LayerImportError("the file has no CRS; give one with --crs", "crs")
    count = _pick([c for c in gdf.columns if c != gdf.geometry.name], count_column, COUNT_COLUMNS, "count_column")
    population = _counts(gdf[count], count)
    info = replace(info, crs=gdf.crs.to_string())
    shapes = gdf.to_crs(4326).geometry.values
    if shapely.is_missing(shapes).any() or shapely.is_empty(shapes).any():
        raise LayerImportError("some features have no geometry", "path")
    if split_m:
        return _split_polygons(shapes, population, info, split_m)
    return _from_shapes(shapes, population, info)


def read_raster_layer(path: Path, info: LayerInfo, *, band: int = 1,
                      bounds: tuple[float, float, float, float] | None = None) -> ImportedLayer:
    """Read a GeoTIFF population raster (e.g. WorldPop 100 m) with rasterio.

    Parameters
    ----------
    band : int, default 1
        Band holding the counts.
    bounds : (minlon, minlat, maxlon, maxlat), optional
        Read only the window covering this WGS-84 box (the city).
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.windows import Window

    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise LayerImportError(f"cannot read {Path(path).name}: {exc}", "path") from None
    with src:
        if src.crs is None:
            raise LayerImportError("the raster has no CRS", "crs")
        if not 1 <= band <= src.count:
            raise LayerImportError(f"band {band} does not exist (the raster has {src.count})", "band")
        t = src.transform
        a, b, c, d, e, f = t.a, t.b, t.c, t.d, t.e, t.f
        col0, row0, col1, row1 = 0, 0, src.width, src.height
        if bounds is not None and b == 0 and d == 0:  # north-up raster: read only the window over ``bounds``
            to_src = Transformer.from_crs("EPSG:4326", src.crs.to_wkt(), always_xy=True)
            xs, ys = to_src.transform([bounds[0], bounds[2], bounds[0], bounds[2]],
                                      [bounds[1], bounds[1], bounds[3], bounds[3]])
            cs = (np.asarray(xs) - c) / a
            rs = (np.asarray(ys) - f) / e
            col0, col1 = max(0, math.floor(cs.min())), min(src.width, math.ceil(cs.max()))
            row0, row1 = max(0, math.floor(rs.min())), min(src.height, math.ceil(rs.max()))
            if col1 <= col0 or row1 <= row0:
                raise LayerImportError("the raster does not cover the area asked for", "bounds")
        data = src.read(band, window=Window(col0, row0, col1 - col0, row1 - row0), masked=True)
        c, f = c + a * col0 + b * row0, f + d * col0 + e * row0  # transform of the window
        crs_text = src.crs.to_string()
        values = np.ma.filled(data.astype(float), np.nan)
    rows, cols = np.nonzero(np.isfinite(values) & (values > 0))
    if not len(rows):
        raise LayerImportError("the raster has no cell with a positive value in the area read", "path")
    population = values[rows, cols]

    def apply(col: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return a * col + b * row + c, d * col + e * row + f

    xc, yc = apply(cols + 0.5, rows + 0.5)
    lon, lat = _to_wgs84(np.asarray(xc), np.asarray(yc), crs_text)
    _check_positions(lon, lat, crs_text)
    # Cell polygons from the four corners (exact in the raster's CRS, reprojected).
    corners = [apply(cols + dc, rows + dr) for dc, dr in ((0, 0), (1, 0), (1, 1), (0, 1))]
    ring_lon, ring_lat = [], []
    for cx, cy in corners:
        lon_c, lat_c = _to_wgs84(np.asarray(cx), np.asarray(cy), crs_text)
        ring_lon.append(lon_c)
        ring_lat.append(lat_c)
    coords = np.stack([np.column_stack([ring_lon[i], ring_lat[i]]) for i in (0, 1, 2, 3, 0)], axis=1)
    cells = shapely.polygons(coords)
    metric = gpd.GeoSeries(cells[: min(len(cells), 1000)], crs=4326).to_crs(METRIC_CRS)
    size = float(np.sqrt(metric.area.mean()))
    info = replace(info, crs=crs_text, geometry_kind="cells", cell_size_m=round(size, 1))
    return _layer(lon, lat, population, cells, info)


def read_layer(path: str | Path, info: LayerInfo, *, count_column: str | None = None, lon_column: str | None = None,
               lat_column: str | None = None, wkt_column: str | None = None, cell_size_m: float | None = None,
               split_m: float | None = None, band: int = 1,
               bounds: tuple[float, float, float, float] | None = None) -> ImportedLayer:
    """Read any supported population file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise LayerImportError(f"no such file: {path}", "path")
    name = path.name.lower()
    if not info.name or not info.name.strip():
        raise LayerImportError("the layer needs a name", "name")
    if info.name == CENSUS_LAYER:
        raise LayerImportError(f"{CENSUS_LAYER!r} is reserved for the census totals", "name")
    if not 1900 <= int(info.year) <= 2100:
        raise LayerImportError(f"year {info.year} is not plausible", "year")
    if not info.source or not info.source.strip():
        raise LayerImportError("say where the counts come from (source)", "source")
    if name.endswith(CSV_SUFFIXES):
        return read_csv_layer(path, info, count_column=count_column, lon_column=lon_column, lat_column=lat_column,
                              wkt_column=wkt_column, cell_size_m=cell_size_m)
    if name.endswith(VECTOR_SUFFIXES):
        return read_vector_layer(path, info, count_column=count_column, split_m=split_m)
    if name.endswith(RASTER_SUFFIXES):
        return read_raster_layer(path, info, band=band, bounds=bounds)
    raise LayerImportError(f"unsupported file type {path.suffix!r}: use CSV, GeoPackage, GeoJSON or GeoTIFF", "path")


def _squares_wgs84(lon: np.ndarray, lat: np.ndarray, size: float) -> np.ndarray:
    from registry.coverage.inputs import metric_to_lonlat
    from registry.coverage.metrics import cell_squares

    squares = cell_squares(lonlat_to_metric(lon, lat), size)
    return shapely.transform(squares, lambda xy: metric_to_lonlat(xy))


def _from_shapes(shapes: np.ndarray, population: np.ndarray, info: LayerInfo,
                 crs: str | None = None) -> ImportedLayer:
    """Points or polygons (in ``crs``; ``None``: already WGS-84) as a layer."""
    if shapely.is_missing(shapes).any() or shapely.is_empty(shapes).any():
        raise LayerImportError("some rows have no geometry", "wkt_column")
    if crs is not None:
        shapes = shapely.transform(shapes, lambda c: np.column_stack(_to_wgs84(c[:, 0], c[:, 1], crs)))
    kinds = shapely.get_type_id(shapes)
    points = np.where(kinds == 0, shapes, shapely.point_on_surface(shapes))
    xy = shapely.get_coordinates(points)
    _check_positions(xy[:, 0], xy[:, 1], crs or "EPSG:4326")
    cells = np.where(kinds == 3, shapes, None)  # POLYGON only; multipolygons keep just their point
    kind = "cells" if (kinds != 0).any() else "points"
    return _layer(xy[:, 0], xy[:, 1], population, cells, replace(info, geometry_kind=kind))


def _split_polygons(shapes: np.ndarray, population: np.ndarray, info: LayerInfo, split_m: float) -> ImportedLayer:
    """Spread each polygon's count evenly over grid points ``split_m`` apart inside it (EPSG:4547)."""
    if not (math.isfinite(split_m) and split_m > 0):
        raise LayerImportError("split distance must be a positive number of metres", "split_m")
    from registry.coverage.inputs import metric_to_lonlat

    metric = gpd.GeoSeries(shapes, crs=4326).to_crs(METRIC_CRS).values
    xs, pops = [], []
    for geom, pop in zip(metric, population):
        minx, miny, maxx, maxy = geom.bounds
        gx = np.arange(math.floor(minx / split_m) * split_m + split_m / 2, maxx, split_m)
        gy = np.arange(math.floor(miny / split_m) * split_m + split_m / 2, maxy, split_m)
        px, py = (a.ravel() for a in np.meshgrid(gx, gy))
        inside = shapely.contains_xy(geom, px, py) if len(px) else np.zeros(0, dtype=bool)
        pts = np.column_stack([px[inside], py[inside]])
        if not len(pts):
            pts = shapely.get_coordinates(shapely.point_on_surface(geom))
        xs.append(pts)
        pops.append(np.full(len(pts), pop / len(pts)))
    lonlat = metric_to_lonlat(np.vstack(xs))
    cells = _squares_wgs84(lonlat[:, 0], lonlat[:, 1], split_m)
    info = replace(info, geometry_kind="cells", cell_size_m=float(split_m),
                   description=(info.description + " " if info.description else "")
                   + f"Polygon counts spread evenly over points {split_m:g} m apart.")
    return _layer(lonlat[:, 0], lonlat[:, 1], np.concatenate(pops), cells, info)


def _layer(lon: np.ndarray, lat: np.ndarray, population: np.ndarray, cells: np.ndarray | None,
           info: LayerInfo) -> ImportedLayer:
    frame = gpd.GeoDataFrame(
        {"population": np.asarray(population, float),
         "cell": list(cells) if cells is not None else [None] * len(lon)},
        geometry=shapely.points(np.column_stack([lon, lat])), crs=4326,
    )
    return ImportedLayer(info, frame)


# --------------------------------------------------------------------------- storing
def write_layer(session: Session, layer: ImportedLayer, *, replace_existing: bool = False) -> int:
    """Store ``layer`` as a new population layer (caller commits); return its id.

    Cells get the code of the census unit containing their centre.

    Raises
    ------
    LayerImportError
        If a layer with that name exists and ``replace_existing`` is false.
    """
    from sqlalchemy import delete

    from registry.models import PopulationLayer
    from registry.spatial import select_population_layer, update_layer_census_codes

    info = layer.info
    existing = session.scalars(select_population_layer(info.name)).first()
    if existing is not None:
        if not replace_existing:
            raise LayerImportError(f"a population layer called {info.name!r} exists; choose another name "
                                   f"or replace it", "name")
        session.execute(delete(PopulationLayer).where(PopulationLayer.id == existing.id))
    row = PopulationLayer(name=info.name, year=int(info.year), source=info.source, crs=info.crs,
                          geometry_kind=info.geometry_kind, cell_size_m=info.cell_size_m,
                          is_modelled=info.is_modelled, description=info.description or None)
    session.add(row)
    session.flush()
    raw = session.connection().connection.driver_connection
    xy = shapely.get_coordinates(layer.cells.geometry.values)
    with raw.cursor() as cur, cur.copy("COPY population_cell (layer_id, population, geom, cell) FROM STDIN") as copy:
        for (lon, lat), pop, cell in zip(xy, layer.cells["population"].to_numpy(float), layer.cells["cell"]):
            copy.write_row((row.id, float(pop), f"SRID=4326;POINT({float(lon)!r} {float(lat)!r})",
                            None if cell is None else f"SRID=4326;{shapely.to_wkt(cell, rounding_precision=8)}"))
    session.execute(update_layer_census_codes(row.id))
    return row.id


def census_layer_info() -> LayerInfo:
    """Provenance of the built-in census-totals layer."""
    return LayerInfo(CENSUS_LAYER, 2020, "2020 (seventh) census, 15 county-level units (NBS; see data/README.md)",
                     "EPSG:4326", "units", None, False,
                     "Per-unit totals without positions: radius figures need a gridded or point layer.")
