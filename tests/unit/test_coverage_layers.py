"""Population layer import: CSV points/cells, GeoJSON/GeoPackage polygons, GeoTIFF rasters."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from registry.coords import wgs84_to_gcj02
from registry.coverage.inputs import LayerInfo, lonlat_to_metric
from registry.coverage.layers import CENSUS_LAYER, LayerImportError, read_layer


def info(name: str = "mine", crs: str = "wgs84") -> LayerInfo:
    return LayerInfo(name, 2023, "district survey", crs)


def test_csv_points_with_chinese_headers_in_gbk(tmp_path: Path) -> None:
    path = tmp_path / "pop.csv"
    path.write_bytes("经度,纬度,人口\n113.65,34.75,120\n113.66,34.76,80.5\n".encode("gbk"))
    layer = read_layer(path, info())
    assert layer.total == 200.5 and layer.info.geometry_kind == "points"
    assert layer.cells.crs.to_epsg() == 4326
    assert shapely.get_coordinates(layer.cells.geometry.values).tolist() == [[113.65, 34.75], [113.66, 34.76]]
    assert layer.info.name == "mine" and layer.info.year == 2023 and layer.info.source == "district survey"


def test_csv_in_gcj02_is_converted_to_wgs84(tmp_path: Path) -> None:
    lon, lat = 113.65, 34.75
    glon, glat = wgs84_to_gcj02(lon, lat)
    path = tmp_path / "amap.csv"
    path.write_text(f"lng,lat,count\n{glon!r},{glat!r},10\n", encoding="utf-8")
    layer = read_layer(path, info(crs="gcj02"))
    x, y = shapely.get_coordinates(layer.cells.geometry.values)[0]
    assert (x, y) == pytest.approx((lon, lat), abs=1e-6)


def test_csv_cells_in_a_projected_crs_with_cell_size(tmp_path: Path) -> None:
    xy = lonlat_to_metric(np.array([113.65]), np.array([34.75]))[0]
    path = tmp_path / "grid.csv"
    path.write_text(f"x,y,population\n{xy[0]},{xy[1]},50\n", encoding="utf-8")
    layer = read_layer(path, info(crs="EPSG:4547"), cell_size_m=100)
    assert shapely.get_coordinates(layer.cells.geometry.values)[0] == pytest.approx([113.65, 34.75], abs=1e-7)
    assert layer.info.geometry_kind == "cells" and layer.info.cell_size_m == 100
    square = gpd.GeoSeries([layer.cells["cell"].iloc[0]], crs=4326).to_crs(4547).iloc[0]
    assert square.area == pytest.approx(100 * 100, rel=1e-3)


def test_csv_with_wkt_polygons(tmp_path: Path) -> None:
    poly = shapely.box(113.60, 34.70, 113.61, 34.71)
    path = tmp_path / "blocks.csv"
    path.write_text(f'wkt,pop\n"{poly.wkt}",300\n', encoding="utf-8")
    layer = read_layer(path, info())
    assert layer.info.geometry_kind == "cells"
    assert poly.contains(layer.cells.geometry.iloc[0]) and layer.cells["cell"].iloc[0].equals(poly)


def test_geojson_polygons_and_splitting(tmp_path: Path) -> None:
    polys = gpd.GeoDataFrame({"residents": [1000, 500]},
                             geometry=[shapely.box(113.60, 34.70, 113.62, 34.72), shapely.box(113.7, 34.7, 113.701,
                                                                                               34.701)], crs=4326)
    path = tmp_path / "blocks.geojson"
    polys.to_file(path, driver="GeoJSON")
    whole = read_layer(path, info())
    assert len(whole.cells) == 2 and whole.total == 1500
    split = read_layer(path, info(), split_m=500)
    assert split.total == pytest.approx(1500)
    assert len(split.cells) > 10  # ~1.8 km x 2.2 km at 500 m spacing
    first = polys.geometry.iloc[0]
    inside = split.cells.geometry.within(first)
    assert split.cells.loc[inside, "population"].sum() == pytest.approx(1000)
    assert split.info.cell_size_m == 500


def test_geopackage_in_a_projected_crs(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame({"人口数": [10, 20]}, geometry=shapely.points(lonlat_to_metric(
        np.array([113.6, 113.7]), np.array([34.7, 34.8]))), crs=4547)
    path = tmp_path / "points.gpkg"
    pts.to_file(path, driver="GPKG")
    layer = read_layer(path, info(crs=""))
    assert layer.info.crs == "EPSG:4547" and layer.info.geometry_kind == "points"
    assert shapely.get_coordinates(layer.cells.geometry.values).ravel() == pytest.approx(
        [113.6, 34.7, 113.7, 34.8], abs=1e-7)


def _write_tif(path: Path, data: np.ndarray, crs: str, transform: object, nodata: float | None) -> None:
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data.astype("float32"), 1)


def test_geotiff_worldpop_style_in_degrees(tmp_path: Path) -> None:
    from affine import Affine

    res = 1 / 1200  # 3 arc-seconds, WorldPop 100 m
    data = np.array([[1.0, 2.0, -99999.0], [0.0, 4.0, 5.5]])
    path = tmp_path / "worldpop.tif"
    _write_tif(path, data, "EPSG:4326", Affine(res, 0, 113.6, 0, -res, 34.8), -99999.0)
    layer = read_layer(path, info(crs=""))
    assert layer.total == pytest.approx(12.5) and len(layer.cells) == 4  # nodata and zero dropped
    first = shapely.get_coordinates(layer.cells.geometry.values)[0]
    assert first == pytest.approx([113.6 + res / 2, 34.8 - res / 2])
    assert 70 < layer.info.cell_size_m < 95  # about 92 m x 77 m at 34.8°N
    # Reading only a window: the box around the first column keeps that column only.
    windowed = read_layer(path, info(crs=""), bounds=(113.6, 34.79, 113.6 + res * 0.9, 34.8))
    assert windowed.total == pytest.approx(1.0)


def test_geotiff_in_metres(tmp_path: Path) -> None:
    from affine import Affine

    x0, y0 = lonlat_to_metric(np.array([113.65]), np.array([34.75]))[0]
    path = tmp_path / "grid.tif"
    _write_tif(path, np.array([[10.0, 20.0]]), "EPSG:4547", Affine(100, 0, x0, 0, -100, y0), None)
    layer = read_layer(path, info(crs=""))
    assert layer.info.cell_size_m == pytest.approx(100, abs=0.5)
    centre = lonlat_to_metric(*shapely.get_coordinates(layer.cells.geometry.values)[1])
    assert centre[0] == pytest.approx([x0 + 150, y0 - 50], abs=1e-3)


@pytest.mark.parametrize(
    ("content", "kwargs", "parameter"),
    [
        ("lon,lat,pop\n113.6,34.7,-5\n", {}, "count_column"),
        ("lon,lat,pop\n113.6,34.7,abc\n", {}, "count_column"),
        ("lon,lat,people\n113.6,34.7,5\n", {}, "count_column"),
        ("lon,lat,pop\n34.7,113.6,5\n", {}, "crs"),  # swapped columns
        ("lon,lat,pop\n113.6,,5\n", {}, "coordinates"),
        ("lon,lat,pop\n113.6,34.7,5\n", {"count_column": "nope"}, "count_column"),
    ],
)
def test_bad_csv_gets_a_specific_error(tmp_path: Path, content: str, kwargs: dict, parameter: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LayerImportError) as err:
        read_layer(path, info(), **kwargs)
    assert err.value.parameter == parameter


def test_layer_metadata_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("lon,lat,pop\n113.6,34.7,5\n", encoding="utf-8")
    for bad, parameter in ((LayerInfo(CENSUS_LAYER, 2020, "x"), "name"), (LayerInfo("a", 1800, "x"), "year"),
                           (LayerInfo("a", 2020, " "), "source"), (LayerInfo("a", 2020, "x", "EPSG:999999"), "crs")):
        with pytest.raises(LayerImportError) as err:
            read_layer(path, bad)
        assert err.value.parameter == parameter
    with pytest.raises(LayerImportError, match="unsupported"):
        read_layer(path.rename(tmp_path / "p.xlsx"), info())
    with pytest.raises(LayerImportError, match="no such file"):
        read_layer(tmp_path / "missing.csv", info())
