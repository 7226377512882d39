"""The three inputs of every coverage computation, as plain numpy containers.

* :class:`PopulationGrid` — demand: population cells (or points) with their
  EPSG:4547 coordinates, counts and census-unit codes, and the
  :class:`LayerInfo` that says where they come from;
* :class:`FacilitySet` — supply: facility points in EPSG:4547 with capacity
  (``NaN`` = unknown) and census-unit codes; hypothetical (what-if) sites
  have negative ids;
* :class:`UnitTable` — the census units that carry population (15 in the
  shipped data), for per-district figures.

Every distance is computed on the EPSG:4547 coordinates (CGCS2000 / 3-degree
Gauss-Kruger CM 114E, metres); nothing here works in degrees.  Constructors
from GeoDataFrames check and convert the CRS.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

METRIC_CRS = "EPSG:4547"
"""CGCS2000 / 3-degree Gauss-Kruger CM 114E: metric CRS of every distance."""

_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def lonlat_to_metric(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """WGS-84 degrees to an ``(n, 2)`` array of EPSG:4547 metres."""
    x, y = _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])


def metric_to_lonlat(xy: np.ndarray) -> np.ndarray:
    """EPSG:4547 metres to an ``(n, 2)`` array of WGS-84 longitude/latitude."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    lon, lat = _TO_WGS84.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])


def metric_xy(gdf: gpd.GeoDataFrame, what: str = "layer") -> np.ndarray:
    """Point coordinates of ``gdf`` in EPSG:4547 metres.

    Parameters
    ----------
    gdf : GeoDataFrame
        Points (other geometries are reduced to a point on their surface).
    what : str
        Name used in error messages.

    Raises
    ------
    ValueError
        If ``gdf`` has no CRS (degrees and metres cannot be told apart) or a
        geometry is missing.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.Point(114.0, 34.75)], crs=4326)
    >>> xy = metric_xy(g)
    >>> round(float(xy[0, 0]))  # on the central meridian: the false easting, 500 km
    500000
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what} must be a GeoDataFrame, not {type(gdf).__name__}")
    if gdf.crs is None:
        raise ValueError(f"{what} has no CRS: set it (e.g. EPSG:4326) so distances are not taken in degrees")
    geoms = gdf.geometry.values
    if len(geoms) and (shapely.is_missing(geoms) | shapely.is_empty(geoms)).any():
        raise ValueError(f"{what} has missing or empty geometries")
    if len(geoms):
        not_point = shapely.get_type_id(geoms) != 0
        if not_point.any():
            geoms = geoms.copy()
            geoms[not_point] = shapely.point_on_surface(geoms[not_point])
    series = gpd.GeoSeries(geoms, crs=gdf.crs)
    if CRS.from_user_input(gdf.crs) != CRS.from_user_input(METRIC_CRS):
        series = series.to_crs(METRIC_CRS)
    if not len(series):
        return np.empty((0, 2))
    return shapely.get_coordinates(series.values)


@dataclass(frozen=True)
class LayerInfo:
    """Provenance of a population layer; shown with every result.

    Attributes
    ----------
    name : str
        Layer name (``modelled_grid_250m``, ``census_2020``, ...).
    year : int
        Reference year of the counts.
    source : str
        Where the counts come from.
    crs : str
        CRS of the layer as imported.
    geometry_kind : str
        ``cells``, ``points`` or ``units`` (census totals, no inner distribution).
    cell_size_m : float or None
        Cell edge in metres when the layer is a regular grid.
    is_modelled : bool
        True when the distribution is modelled, not observed.
    description : str
        Free text.
    id : int or None
        Database id (``None`` for an in-memory layer).
    """

    name: str
    year: int
    source: str
    crs: str = "EPSG:4326"
    geometry_kind: str = "cells"
    cell_size_m: float | None = None
    is_modelled: bool = False
    description: str = ""
    id: int | None = None

    @property
    def has_cells(self) -> bool:
        """False for census totals (per-unit counts without positions)."""
        return self.geometry_kind != "units"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "year": self.year, "source": self.source, "crs": self.crs,
            "geometry_kind": self.geometry_kind, "cell_size_m": self.cell_size_m,
            "is_modelled": self.is_modelled, "description": self.description,
        }


@dataclass(eq=False)
class PopulationGrid:
    """Demand: population counts at points (cell centres) in EPSG:4547.

    Attributes
    ----------
    xy : ndarray, shape (n, 2)
        EPSG:4547 coordinates in metres.
    population : ndarray, shape (n,)
        Residents per cell (≥ 0).
    unit : ndarray of str, shape (n,)
        Census-unit code of each cell (``""`` when outside every unit).
    ids : ndarray of int, shape (n,)
        Cell ids (database ids, or 0..n-1).
    info : LayerInfo
        Provenance.
    """

    xy: np.ndarray
    population: np.ndarray
    unit: np.ndarray
    ids: np.ndarray
    info: LayerInfo

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=float).reshape(-1, 2)
        n = len(self.xy)
        self.population = np.asarray(self.population, dtype=float).reshape(-1)
        self.unit = np.asarray(self.unit, dtype=object).reshape(-1) if n else np.empty(0, dtype=object)
        self.ids = np.asarray(self.ids).reshape(-1)
        for name in ("population", "unit", "ids"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"population grid: {name} has {len(getattr(self, name))} values for {n} cells")
        if n and (~np.isfinite(self.population)).any():
            raise ValueError("population grid: a population count is missing or not finite")
        if n and (self.population < 0).any():
            raise ValueError("population grid: population counts must be ≥ 0")

    def __len__(self) -> int:
        return len(self.xy)

    @cached_property
    def tree(self) -> cKDTree:
        """KD-tree over the cell coordinates (built once, on first use)."""
        return cKDTree(self.xy if len(self.xy) else np.empty((0, 2)))

    @property
    def total(self) -> float:
        return float(self.population.sum())

    @cached_property
    def unit_index(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, index)``: the distinct unit codes and each cell's position in them."""
        if not len(self.unit):
            return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        codes, index = np.unique(self.unit.astype(str), return_inverse=True)
        return codes.astype(object), index.astype(np.int64)

    def in_unit(self, code: str) -> np.ndarray:
        """Boolean mask of the cells of census unit ``code``."""
        codes, index = self.unit_index
        pos = np.flatnonzero(codes == code)
        if not len(pos):
            return np.zeros(len(self), dtype=bool)
        return index == pos[0]

    @classmethod
    def from_geodataframe(cls, gdf: gpd.GeoDataFrame, info: LayerInfo, population: str = "population",
                          unit: str | None = "unit_code") -> PopulationGrid:
        """Build from a GeoDataFrame of points (any CRS; polygons reduced to a point on their surface)."""
        if population not in gdf.columns:
            raise KeyError(f"population layer needs a {population!r} column")
        xy = metric_xy(gdf, "population layer")
        units = gdf[unit].fillna("").astype(str).to_numpy(dtype=object) if unit and unit in gdf.columns \
            else np.full(len(gdf), "", dtype=object)
        ids = gdf["id"].to_numpy() if "id" in gdf.columns else np.arange(len(gdf))
        return cls(xy, pd.to_numeric(gdf[population]).to_numpy(dtype=float), units, ids, info)


@dataclass(eq=False)
class FacilitySet:
    """Supply: facility points in EPSG:4547 with capacity and census-unit code.

    Attributes
    ----------
    ids : ndarray of int
        Facility ids; hypothetical sites have negative ids.
    xy : ndarray, shape (m, 2)
        EPSG:4547 coordinates in metres.
    capacity : ndarray of float
        Capacity (places, seats, spaces); ``NaN`` when unknown.
    unit : ndarray of str
        Census-unit code containing the facility (``""`` when outside every unit).
    names : ndarray of str
        Names (for tables and popups).
    """

    ids: np.ndarray
    xy: np.ndarray
    capacity: np.ndarray
    unit: np.ndarray
    names: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=float).reshape(-1, 2)
        m = len(self.xy)
        self.ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        self.capacity = np.asarray(self.capacity, dtype=float).reshape(-1)
        self.unit = np.asarray(self.unit, dtype=object).reshape(-1) if m else np.empty(0, dtype=object)
        names = np.asarray(self.names, dtype=object).reshape(-1)
        self.names = names if len(names) == m else np.full(m, "", dtype=object)
        for name in ("ids", "capacity", "unit"):
            if len(getattr(self, name)) != m:
                raise ValueError(f"facilities: {name} has {len(getattr(self, name))} values for {m} points")
        if m and (self.capacity[np.isfinite(self.capacity)] < 0).any():
            raise ValueError("facilities: capacity must be ≥ 0")

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def hypothetical(self) -> np.ndarray:
        """True for what-if sites (negative ids)."""
        return self.ids < 0

    def subset(self, mask: np.ndarray) -> FacilitySet:
        return FacilitySet(self.ids[mask], self.xy[mask], self.capacity[mask], self.unit[mask], self.names[mask])

    def concat(self, other: FacilitySet) -> FacilitySet:
        return FacilitySet(
            np.concatenate([self.ids, other.ids]), np.vstack([self.xy, other.xy]),
            np.concatenate([self.capacity, other.capacity]), np.concatenate([self.unit, other.unit]),
            np.concatenate([self.names, other.names]),
        )

    def fingerprint(self) -> bytes:
        """Digest of positions and ids: equal sets give equal fingerprints (cache key)."""
        import hashlib

        h = hashlib.blake2b(digest_size=16)
        order = np.lexsort((self.xy[:, 1], self.xy[:, 0])) if len(self.xy) else np.empty(0, dtype=int)
        h.update(np.ascontiguousarray(self.xy[order]).tobytes())
        return h.digest()

    @classmethod
    def from_geodataframe(cls, gdf: gpd.GeoDataFrame, capacity: str | None = "capacity",
                          unit: str | None = "unit_code") -> FacilitySet:
        """Build from a GeoDataFrame of points (any CRS)."""
        xy = metric_xy(gdf, "facilities")
        m = len(gdf)
        ids = gdf["id"].to_numpy() if "id" in gdf.columns else np.arange(1, m + 1)
        cap = pd.to_numeric(gdf[capacity], errors="coerce").to_numpy(dtype=float) \
            if capacity and capacity in gdf.columns else np.full(m, np.nan)
        units = gdf[unit].fillna("").astype(str).to_numpy(dtype=object) if unit and unit in gdf.columns \
            else np.full(m, "", dtype=object)
        names = gdf["name"].fillna("").astype(str).to_numpy(dtype=object) if "name" in gdf.columns \
            else np.full(m, "", dtype=object)
        return cls(ids, xy, cap, units, names)

    @classmethod
    def empty(cls) -> FacilitySet:
        return cls(np.empty(0, dtype=np.int64), np.empty((0, 2)), np.empty(0), np.empty(0, dtype=object))

    def with_units(self, unit: np.ndarray) -> FacilitySet:
        return replace(self, unit=np.asarray(unit, dtype=object))


@dataclass(eq=False)
class UnitTable:
    """Census units that carry population (per-district figures).

    Attributes
    ----------
    frame : DataFrame
        Columns ``code``, ``name``, ``unit_type`` and ``census_population``
        (the census total, used for the ``census_2020`` layer and for checks).
    geoms : ndarray of shapely geometries (WGS-84), optional
        Unit polygons, for assigning hypothetical sites and for maps.
    """

    frame: pd.DataFrame
    geoms: np.ndarray | None = None

    def __post_init__(self) -> None:
        for col in ("code", "name"):
            if col not in self.frame.columns:
                raise KeyError(f"units need a {col!r} column")
        if "unit_type" not in self.frame.columns:
            self.frame = self.frame.assign(unit_type="")
        if "census_population" not in self.frame.columns:
            self.frame = self.frame.assign(census_population=np.nan)
        self.frame = self.frame.reset_index(drop=True)
        self.frame["code"] = self.frame["code"].astype(str)

    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def _tree(self) -> shapely.STRtree | None:
        return shapely.STRtree(self.geoms) if self.geoms is not None and len(self.geoms) else None

    def locate(self, lonlat: np.ndarray) -> np.ndarray:
        """Code of the unit containing each WGS-84 point (``""`` outside every unit)."""
        lonlat = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        out = np.full(len(lonlat), "", dtype=object)
        if self._tree is None or not len(lonlat):
            return out
        pts = shapely.points(lonlat)
        pt_idx, unit_idx = self._tree.query(pts, predicate="intersects")
        codes = self.frame["code"].to_numpy(dtype=object)
        # A point on a shared boundary takes the first unit (by code order), deterministically.
        order = np.lexsort((codes[unit_idx], pt_idx))
        pt_idx, unit_idx = pt_idx[order], unit_idx[order]
        first = np.unique(pt_idx, return_index=True)[1]
        out[pt_idx[first]] = codes[unit_idx[first]]
        return out

    def geodataframe(self) -> gpd.GeoDataFrame:
        """The units as a WGS-84 GeoDataFrame (needs ``geoms``)."""
        if self.geoms is None:
            raise ValueError("these units have no geometries")
        return gpd.GeoDataFrame(self.frame.copy(), geometry=list(self.geoms), crs=4326)
