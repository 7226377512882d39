"""Tests for the shipped, MODELLED population grid (data/population_grid_250m.csv.gz)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "data"
GRID_FILE = DATA / "population_grid_250m.csv.gz"
CENSUS_FILE = DATA / "zhengzhou_census2020_population.csv"
UNITS_FILE = DATA / "zhengzhou_census_units15_wgs84.geojson"
SCRIPT = REPO_ROOT / "scripts" / "make_population_grid.py"

CITY_TOTAL_2020 = 12_600_574
CELL_SIZE_M = 250.0
# Generous bounding box of Zhengzhou (WGS-84).
ZHENGZHOU_BBOX = (112.7, 34.2, 114.3, 35.0)


@pytest.fixture(scope="module")
def grid() -> pd.DataFrame:
    return pd.read_csv(GRID_FILE, dtype={"census_code": str})


@pytest.fixture(scope="module")
def census() -> pd.DataFrame:
    return pd.read_csv(CENSUS_FILE, dtype={"adcode": str})


@pytest.fixture(scope="module")
def script() -> ModuleType:
    """Import scripts/make_population_grid.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_population_grid", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def test_columns_and_types(grid) -> None:
    assert list(grid.columns) == ["cell_id", "lon", "lat", "population", "census_code"]
    assert pd.api.types.is_integer_dtype(grid["cell_id"])
    assert pd.api.types.is_integer_dtype(grid["population"])
    assert grid["census_code"].str.fullmatch(r"4101\d\d").all()
    assert grid.notna().all().all()


def test_cell_ids_unique_and_sequential(grid) -> None:
    assert grid["cell_id"].tolist() == list(range(1, len(grid) + 1))


def test_about_120k_cells_and_small_file(grid) -> None:
    assert 110_000 < len(grid) < 130_000
    assert GRID_FILE.stat().st_size < 3 * 1024 * 1024


def test_no_negative_population(grid) -> None:
    assert (grid["population"] >= 0).all()


def test_unit_sums_equal_census_exactly(grid, census) -> None:
    units = census[census["unit_type"] != "prefecture_total"].set_index("adcode")["pop_2020"]
    assert len(units) == 15
    sums = grid.groupby("census_code")["population"].sum()
    assert sorted(sums.index) == sorted(units.index)
    for code, expected in units.items():
        assert sums[code] == expected, code


def test_total_equals_city_census_total(grid, census) -> None:
    city_row = census.loc[census["unit_type"] == "prefecture_total", "pop_2020"]
    units_sum = census.loc[census["unit_type"] != "prefecture_total", "pop_2020"].sum()
    # The city total row and the sum of the 15 units agree in the 2020 census.
    assert city_row.tolist() == [CITY_TOTAL_2020]
    assert units_sum == CITY_TOTAL_2020
    assert grid["population"].sum() == CITY_TOTAL_2020


def test_points_inside_zhengzhou(grid) -> None:
    minx, miny, maxx, maxy = ZHENGZHOU_BBOX
    assert grid["lon"].between(minx, maxx).all()
    assert grid["lat"].between(miny, maxy).all()
    units_bounds = gpd.read_file(UNITS_FILE).total_bounds
    assert grid["lon"].between(units_bounds[0], units_bounds[2]).all()
    assert grid["lat"].between(units_bounds[1], units_bounds[3]).all()


def test_centroids_lie_on_250m_grid_in_epsg4547(grid) -> None:
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(
        grid["lon"].to_numpy(), grid["lat"].to_numpy()
    )
    # Centroids sit at (k + 0.5) * 250 m; 6-decimal rounding moves them < 0.2 m.
    col = (x - CELL_SIZE_M / 2) / CELL_SIZE_M
    row = (y - CELL_SIZE_M / 2) / CELL_SIZE_M
    for index in (col, row):
        assert (np.abs(index - np.round(index)) * CELL_SIZE_M).max() < 0.5
    # And no two cells share a position.
    keys = np.round(col).astype(np.int64) * 1_000_000 + np.round(row).astype(np.int64)
    assert np.unique(keys).size == len(grid)


def test_density_is_higher_in_the_centre(grid) -> None:
    """Sanity check of the model: the city core is far denser than the rural median."""
    near_erqi = grid[(grid["lon"] - 113.665).abs().lt(0.005) & (grid["lat"] - 34.7533).abs().lt(0.005)]
    assert near_erqi["population"].median() > 20 * grid["population"].median()


def test_largest_remainder_sums_exactly(script) -> None:
    rng = np.random.default_rng(7)
    for total in (0, 1, 9, 1_000_003):
        weights = rng.random(1000) + 0.01
        shares = script.largest_remainder(total, weights)
        assert shares.sum() == total
        assert (shares >= 0).all()
        # Each share is within one of its exact quota.
        assert np.abs(shares - total * weights / weights.sum()).max() < 1.0
    assert script.largest_remainder(10, np.array([1.0, 1.0, 1.0])).tolist() == [4, 3, 3]


def test_shipped_file_matches_generator(script, grid) -> None:
    """The shipped file is exactly what the script produces from data/ with default parameters."""
    units = script.load_census_units(DATA)
    rebuilt = script.build_population_grid(units)
    pd.testing.assert_frame_equal(rebuilt, grid, check_dtype=False, check_exact=False, rtol=0, atol=1e-9)
