r"""Build the MODELLED 250 m population grid for Zhengzhou.

The grid is synthetic: each 2020 census unit's population is spread over the
250 m cells of its polygon with a weight that decays with distance from a
hand-picked list of urban centres. It reproduces the census totals exactly
but NOT the real distribution of people. See ``docs/POPULATION_GRID.md``.

Usage
-----
::

    python scripts/make_population_grid.py
    python scripts/make_population_grid.py --source-dir ../shared/data \
        --output data/population_grid_250m.csv.gz

The output is deterministic: the same inputs and parameters give a
byte-identical file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

REPO_ROOT = Path(__file__).resolve().parent.parent
UNITS_FILE = "zhengzhou_census_units15_wgs84.geojson"
CENSUS_FILE = "zhengzhou_census2020_population.csv"
DEFAULT_OUTPUT = REPO_ROOT / "data" / "population_grid_250m.csv.gz"

#: Metric CRS of the grid: CGCS2000 / 3-degree Gauss-Kruger CM 114E.
GRID_CRS = "EPSG:4547"
#: Geographic CRS of the inputs and of the output coordinates.
GEOGRAPHIC_CRS = "EPSG:4326"


class Centre(NamedTuple):
    """An urban centre that attracts modelled population (approximate location)."""

    name: str
    name_en: str
    lon: float
    lat: float


#: Urban centres (WGS-84, approximate to a few hundred metres; chosen by hand
#: from the layout of the city, not surveyed).
CENTRES: tuple[Centre, ...] = (
    Centre("二七广场", "Erqi Square (city centre)", 113.6650, 34.7533),
    Centre("郑东新区CBD", "Zhengdong New District CBD", 113.7280, 34.7690),
    Centre("金水", "Jinshui", 113.6860, 34.8000),
    Centre("中原", "Zhongyuan", 113.6130, 34.7480),
    Centre("惠济", "Huiji", 113.6160, 34.8670),
    Centre("管城", "Guancheng", 113.6770, 34.7460),
    Centre("上街", "Shangjie", 113.2990, 34.8030),
    Centre("航空港", "Airport Economy Zone", 113.8400, 34.5270),
    Centre("经开区", "Economic-Technological Development Zone", 113.7350, 34.7190),
    Centre("高新区", "High-Tech Development Zone", 113.5600, 34.8050),
    Centre("中牟", "Zhongmu", 113.9770, 34.7190),
    Centre("巩义", "Gongyi", 113.0220, 34.7480),
    Centre("荥阳", "Xingyang", 113.3830, 34.7870),
    Centre("新密", "Xinmi", 113.3910, 34.5390),
    Centre("新郑", "Xinzheng", 113.7400, 34.3950),
    Centre("登封", "Dengfeng", 113.0500, 34.4530),
)


@dataclass(frozen=True)
class GridParameters:
    """Parameters of the modelled grid.

    Attributes
    ----------
    cell_size_m : float
        Side of the square cells in EPSG:4547 metres.
    base : float
        Weight every cell gets regardless of distance (the rural floor).
    scale_km : float
        e-folding distance of each centre's ``exp(-d / scale)`` term, in km.
    """

    cell_size_m: float = 250.0
    base: float = 0.02
    scale_km: float = 3.0


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def resolve_source_dir(source_dir: Path | None) -> Path:
    """Pick the directory holding the census inputs.

    Parameters
    ----------
    source_dir : Path or None
        Explicit directory; if None, the repository's ``data/`` when it holds
        the census-unit polygons, else ``../shared/data`` next to the repository.

    Returns
    -------
    Path
        The directory to read from.
    """
    if source_dir is not None:
        return source_dir
    repo_data = REPO_ROOT / "data"
    if (repo_data / UNITS_FILE).exists():
        return repo_data
    return REPO_ROOT.parent / "shared" / "data"


def load_census_units(source_dir: Path) -> gpd.GeoDataFrame:
    """Read the 15 census-unit polygons with their 2020 census population.

    The population is taken from the census CSV (the authority) and checked
    against the ``pop_2020`` property of the polygons.

    Parameters
    ----------
    source_dir : Path
        Directory holding ``zhengzhou_census_units15_wgs84.geojson`` and
        ``zhengzhou_census2020_population.csv``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code`` (str), ``name``, ``pop_2020`` (int) and geometry, in
        EPSG:4547, sorted by code.

    Raises
    ------
    ValueError
        If the two sources disagree on codes or populations.
    """
    units = gpd.read_file(source_dir / UNITS_FILE)
    if units.crs is None or not units.crs.equals(GEOGRAPHIC_CRS):
        raise ValueError(f"{UNITS_FILE}: expected {GEOGRAPHIC_CRS}, got {units.crs}")
    census = pd.read_csv(source_dir / CENSUS_FILE, dtype={"adcode": str})
    census = census[census["unit_type"] != "prefecture_total"]

    units["code"] = units["code"].astype(str)
    merged = units.merge(
        census[["adcode", "pop_2020"]].rename(columns={"adcode": "code", "pop_2020": "census_pop"}),
        on="code",
        how="outer",
        indicator=True,
    )
    if not (merged["_merge"] == "both").all():
        odd = merged.loc[merged["_merge"] != "both", "code"].tolist()
        raise ValueError(f"census units and census CSV disagree on codes: {odd}")
    mismatch = merged[merged["pop_2020"] != merged["census_pop"]]
    if not mismatch.empty:
        raise ValueError(f"pop_2020 differs between polygons and CSV for {mismatch['code'].tolist()}")

    out = merged[["code", "name", "census_pop", "geometry"]].rename(columns={"census_pop": "pop_2020"})
    out["pop_2020"] = out["pop_2020"].astype(np.int64)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=GEOGRAPHIC_CRS).to_crs(GRID_CRS)
    return out.sort_values("code").reset_index(drop=True)


# --------------------------------------------------------------------------
# Grid
# --------------------------------------------------------------------------


def grid_centroids(
    bounds: Sequence[float], cell_size: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centroids of a square grid aligned to multiples of ``cell_size``.

    Parameters
    ----------
    bounds : sequence of float
        ``(minx, miny, maxx, maxy)`` to cover, in grid-CRS metres.
    cell_size : float
        Side of a cell in metres.

    Returns
    -------
    x, y : numpy.ndarray
        Centroid coordinates, row-major from the south-west corner
        (west to east within a row, rows from south to north).
    """
    minx, miny, maxx, maxy = bounds
    x0 = np.floor(minx / cell_size) * cell_size
    y0 = np.floor(miny / cell_size) * cell_size
    ncols = int(np.ceil((maxx - x0) / cell_size))
    nrows = int(np.ceil((maxy - y0) / cell_size))
    xs = x0 + (np.arange(ncols) + 0.5) * cell_size
    ys = y0 + (np.arange(nrows) + 0.5) * cell_size
    gx, gy = np.meshgrid(xs, ys)
    return gx.ravel(), gy.ravel()


def assign_units(
    units: gpd.GeoDataFrame, x: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Index of the unit containing each point, or -1 when none does.

    A point on a shared boundary goes to the unit that comes first in
    ``units`` (sorted by code), so the result is deterministic.
    """
    owner = np.full(x.shape, -1, dtype=np.int64)
    for i, geom in enumerate(units.geometry):
        shapely.prepare(geom)
        free = owner == -1
        inside = shapely.contains_xy(geom, x[free], y[free])
        owner[np.flatnonzero(free)[inside]] = i
    return owner


def density_weight(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    centres_xy: NDArray[np.float64],
    base: float,
    scale_km: float,
) -> NDArray[np.float64]:
    """Modelled density weight ``base + sum_c exp(-d_c / scale)``.

    Parameters
    ----------
    x, y : numpy.ndarray
        Cell centroids in grid-CRS metres.
    centres_xy : numpy.ndarray
        Shape ``(n, 2)``: centres in grid-CRS metres.
    base : float
        Weight floor.
    scale_km : float
        e-folding distance in kilometres.

    Returns
    -------
    numpy.ndarray
        Positive weights, one per cell.
    """
    weight = np.full(x.shape, base, dtype=np.float64)
    for cx, cy in centres_xy:
        d_km = np.hypot(x - cx, y - cy) / 1000.0
        weight += np.exp(-d_km / scale_km)
    return weight


def largest_remainder(total: int, weights: NDArray[np.float64]) -> NDArray[np.int64]:
    """Split an integer total in proportion to weights, summing exactly.

    Each share is the floor of its quota; the units left over go one each to
    the largest fractional parts (ties to the earlier element).

    Parameters
    ----------
    total : int
        Non-negative integer to distribute.
    weights : numpy.ndarray
        Non-negative weights with a positive sum.

    Returns
    -------
    numpy.ndarray of int64
        Shares with ``shares.sum() == total``.

    Examples
    --------
    >>> largest_remainder(10, np.array([1.0, 1.0, 1.0])).tolist()
    [4, 3, 3]
    """
    quota = total * weights / weights.sum()
    shares = np.floor(quota).astype(np.int64)
    left = total - int(shares.sum())
    if left > 0:
        order = np.argsort(-(quota - shares), kind="stable")
        shares[order[:left]] += 1
    return shares


def build_population_grid(
    units: gpd.GeoDataFrame, params: GridParameters = GridParameters()
) -> pd.DataFrame:
    """Model the population of each grid cell.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Output of :func:`load_census_units` (EPSG:4547).
    params : GridParameters
        Cell size and weight parameters.

    Returns
    -------
    pandas.DataFrame
        Columns ``cell_id`` (1..n), ``lon``, ``lat`` (WGS-84 centroid, rounded
        to 6 decimals), ``population`` (int) and ``census_code``.
    """
    if units.crs is None or not units.crs.equals(GRID_CRS):
        raise ValueError(f"units must be in {GRID_CRS}, got {units.crs}")
    x, y = grid_centroids(units.total_bounds, params.cell_size_m)
    owner = assign_units(units, x, y)
    keep = owner >= 0
    x, y, owner = x[keep], y[keep], owner[keep]

    to_grid = Transformer.from_crs(GEOGRAPHIC_CRS, GRID_CRS, always_xy=True)
    cx, cy = to_grid.transform([c.lon for c in CENTRES], [c.lat for c in CENTRES])
    weight = density_weight(x, y, np.column_stack([cx, cy]), params.base, params.scale_km)

    population = np.zeros(x.shape, dtype=np.int64)
    for i, pop in enumerate(units["pop_2020"]):
        cells = np.flatnonzero(owner == i)
        if cells.size == 0:
            raise ValueError(f"census unit {units['code'].iat[i]} received no cells")
        population[cells] = largest_remainder(int(pop), weight[cells])

    to_wgs = Transformer.from_crs(GRID_CRS, GEOGRAPHIC_CRS, always_xy=True)
    lon, lat = to_wgs.transform(x, y)
    return pd.DataFrame(
        {
            "cell_id": np.arange(1, x.size + 1, dtype=np.int64),
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "population": population,
            "census_code": units["code"].to_numpy()[owner],
        }
    )


def write_grid(grid: pd.DataFrame, output: Path) -> None:
    """Write the grid as gzip CSV with a fixed header timestamp (reproducible bytes)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    grid.to_csv(
        output,
        index=False,
        float_format="%.6f",
        compression={"method": "gzip", "compresslevel": 9, "mtime": 0},
    )


def _summary(grid: pd.DataFrame, units: gpd.GeoDataFrame, params: GridParameters) -> str:
    cell_km2 = (params.cell_size_m / 1000.0) ** 2
    lines = [
        f"cells: {len(grid):,}  total population: {int(grid['population'].sum()):,}",
        (
            f"max cell: {int(grid['population'].max()):,} "
            f"({grid['population'].max() / cell_km2:,.0f} per km²)"
        ),
        f"empty cells: {int((grid['population'] == 0).sum()):,}",
    ]
    per_unit = grid.groupby("census_code")["population"].agg(["size", "sum", "max", "median"])
    for code, row in per_unit.iterrows():
        name = units.loc[units["code"] == code, "name"].iat[0]
        lines.append(
            f"  {code} {name}: {int(row['size']):,} cells, {int(row['sum']):,} people, "
            f"max {int(row['max']):,}, median {row['median']:,.0f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source-dir",
        type=Path,
        default=None,
        help="directory with the census inputs (default: data/ if present, else ../shared/data)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output .csv.gz")
    defaults = GridParameters()
    parser.add_argument("--cell-size", type=float, default=defaults.cell_size_m, help="metres")
    parser.add_argument("--base", type=float, default=defaults.base, help="weight floor")
    parser.add_argument("--scale-km", type=float, default=defaults.scale_km, help="decay distance")
    args = parser.parse_args(argv)

    params = GridParameters(cell_size_m=args.cell_size, base=args.base, scale_km=args.scale_km)
    source_dir = resolve_source_dir(args.source_dir)
    units = load_census_units(source_dir)
    grid = build_population_grid(units, params)
    write_grid(grid, args.output)
    print(f"read {source_dir}; wrote {args.output}")
    print(_summary(grid, units, params))
    return 0


if __name__ == "__main__":
    sys.exit(main())
