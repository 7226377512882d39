"""CRS checks and display transforms for the map builders."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["Transform", "to_display_crs", "transform_lat_lon"]

#: Vectorised coordinate transform ``(lon, lat) -> (lon, lat)`` in degrees, e.g.
#: ``registry.coords.wgs84_to_gcj02`` for the Amap (GCJ-02) basemap.
Transform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _apply(transform: Transform, xy: np.ndarray) -> np.ndarray:
    if len(xy) == 0:
        return xy
    lon, lat = transform(np.asarray(xy[:, 0], dtype=float), np.asarray(xy[:, 1], dtype=float))
    out = np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])
    if out.shape != xy.shape:
        raise ValueError(f"transform returned shape {out.shape} for input {xy.shape}")
    return out


def to_display_crs(
    gdf: gpd.GeoDataFrame,
    transform: Transform | None = None,
    *,
    what: str = "gdf",
) -> gpd.GeoDataFrame:
    """Return ``gdf`` in WGS-84 degrees, shifted by ``transform`` for display.

    Parameters
    ----------
    gdf : GeoDataFrame
        Input layer.  Any CRS is converted with ``to_crs(4326)``; a missing CRS
        is assumed to be EPSG:4326 with a warning.
    transform : callable, optional
        ``(lon, lat) -> (lon, lat)`` applied to every vertex after the CRS step;
        use ``registry.coords.wgs84_to_gcj02`` on a GCJ-02 basemap (Amap).  The
        input is never modified: the shift is for display only.
    what : str
        Name used in the warning.

    Returns
    -------
    GeoDataFrame
        A copy in EPSG:4326 without rows whose geometry is missing or empty.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what} must be a GeoDataFrame, not {type(gdf).__name__}")
    if gdf.crs is None:
        warnings.warn(
            f"{what} has no CRS; assuming EPSG:4326 (WGS-84 longitude/latitude)",
            UserWarning,
            stacklevel=3,
        )
        out = gdf.set_crs(4326, allow_override=True)
    elif gdf.crs.to_epsg() != 4326:
        out = gdf.to_crs(4326)
    else:
        out = gdf.copy()
    geoms = out.geometry.values
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not keep.all():
        out = out.loc[keep]
    if transform is not None and len(out):
        shifted = shapely.transform(out.geometry.values, lambda xy: _apply(transform, xy))
        out = out.copy()
        out[out.geometry.name] = gpd.GeoSeries(shifted, index=out.index, crs=out.crs)
    return out


def transform_lat_lon(lat: float, lon: float, transform: Transform | None) -> tuple[float, float]:
    """Apply a display transform to one ``(lat, lon)`` pair."""
    if transform is None:
        return float(lat), float(lon)
    x, y = transform(np.array([lon], dtype=float), np.array([lat], dtype=float))
    return float(np.asarray(y)[0]), float(np.asarray(x)[0])
