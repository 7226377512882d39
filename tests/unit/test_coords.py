"""Tests for registry.coords: WGS-84 / GCJ-02 / BD-09 conversion."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pyproj import Geod

from registry import coords
from registry.coords import (
    Crs,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")

ALL_FUNCTIONS: list[Callable] = [
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
    wgs84_to_bd09,
    bd09_to_wgs84,
]


@pytest.fixture(scope="module")
def zhengzhou_grid() -> tuple[np.ndarray, np.ndarray]:
    """A 81 x 41 grid of WGS-84 points covering Zhengzhou (lon 112.7-114.3, lat 34.2-35.0)."""
    lon, lat = np.meshgrid(np.linspace(112.7, 114.3, 81), np.linspace(34.2, 35.0, 41))
    return lon.ravel(), lat.ravel()


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance on WGS-84 between two point sets, in metres."""
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist)


# --------------------------------------------------------------------------
# Reference values
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "given", "expected"),
    [
        # Published test vector of eviltransform (Shanghai).
        (wgs84_to_gcj02, (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
        # Published test vectors of coordtransform (Beijing).
        (wgs84_to_gcj02, (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
        (gcj02_to_bd09, (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
        # Computed once from the forward formula (二七广场, Zhengzhou).
        (wgs84_to_gcj02, (113.6650, 34.7533), (113.67110317664175, 34.75218716165334)),
        (wgs84_to_bd09, (113.6650, 34.7533), (113.67759780223396, 34.758163991751324)),
    ],
)
def test_forward_reference_values(func, given, expected) -> None:
    lon, lat = func(*given)
    assert lon == pytest.approx(expected[0], abs=1e-9)
    assert lat == pytest.approx(expected[1], abs=1e-9)


@pytest.mark.parametrize(
    ("func", "given", "approximate"),
    [
        # coordtransform's one-step inverses; the exact inverse differs by < 1e-6 deg.
        (gcj02_to_wgs84, (116.404, 39.915), (116.39775550083061, 39.91359571849836)),
        (bd09_to_gcj02, (116.404, 39.915), (116.39762729119315, 39.90865673957631)),
    ],
)
def test_inverse_close_to_published_approximation(func, given, approximate) -> None:
    lon, lat = func(*given)
    assert lon == pytest.approx(approximate[0], abs=1e-6)
    assert lat == pytest.approx(approximate[1], abs=1e-6)


def test_exact_inverse_beats_one_step_approximation(zhengzhou_grid) -> None:
    lon, lat = zhengzhou_grid
    glon, glat = wgs84_to_gcj02(lon, lat)
    # One-step approximation: subtract the offset evaluated at the GCJ-02 point.
    dlon, dlat = glon - lon, glat - lat
    flon, flat = wgs84_to_gcj02(glon, glat)
    one_step = _metres(lon, lat, glon - (flon - glon), glat - (flat - glat))
    exact = _metres(lon, lat, *gcj02_to_wgs84(glon, glat))
    assert np.all(dlon != 0) and np.all(dlat != 0)
    assert exact.max() < 1e-3
    assert exact.max() < one_step.max()


# --------------------------------------------------------------------------
# Round trips and accuracy over Zhengzhou
# --------------------------------------------------------------------------


def test_gcj_round_trip_zhengzhou(zhengzhou_grid) -> None:
    lon, lat = zhengzhou_grid
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(back_lon - lon).max() < 1e-6
    assert np.abs(back_lat - lat).max() < 1e-6
    # Also within the convergence tolerance the module promises (1e-7 deg).
    assert max(np.abs(back_lon - lon).max(), np.abs(back_lat - lat).max()) < 1e-7


def test_gcj_round_trip_starting_from_gcj(zhengzhou_grid) -> None:
    lon, lat = zhengzhou_grid
    again_lon, again_lat = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert np.abs(again_lon - lon).max() < 1e-7
    assert np.abs(again_lat - lat).max() < 1e-7


def test_bd_round_trip_zhengzhou(zhengzhou_grid) -> None:
    lon, lat = zhengzhou_grid
    back_lon, back_lat = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert np.abs(back_lon - lon).max() < 1e-7
    assert np.abs(back_lat - lat).max() < 1e-7
    back_lon, back_lat = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert np.abs(back_lon - lon).max() < 1e-6
    assert np.abs(back_lat - lat).max() < 1e-6


def test_inverse_accuracy_in_metres(zhengzhou_grid) -> None:
    lon, lat = zhengzhou_grid
    for crs in ("gcj02", "bd09"):
        back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
        assert _metres(lon, lat, *back).max() < 1.0, crs


def test_gcj_offset_in_zhengzhou_is_300_to_700_m(zhengzhou_grid) -> None:
    lon, lat = zhengzhou_grid
    offset = _metres(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert offset.min() > 300.0
    assert offset.max() < 700.0


def test_bd_offset_is_larger_than_gcj_offset(zhengzhou_grid) -> None:
    lon, lat = zhengzhou_grid
    gcj = _metres(lon, lat, *wgs84_to_gcj02(lon, lat))
    bd = _metres(lon, lat, *wgs84_to_bd09(lon, lat))
    # BD-09 adds roughly (0.0065, 0.006) degrees, i.e. several hundred metres more.
    assert np.all(bd > gcj + 300.0)


# --------------------------------------------------------------------------
# Outside China
# --------------------------------------------------------------------------


@pytest.mark.parametrize("func", ALL_FUNCTIONS)
@pytest.mark.parametrize(
    "point",
    [(-0.1276, 51.5072), (-74.006, 40.7128), (151.2093, -33.8688), (37.6173, 55.7558)],
    ids=["london", "new-york", "sydney", "moscow"],
)
def test_outside_china_passthrough(func, point) -> None:
    assert func(*point) == point


def test_mixed_inside_and_outside() -> None:
    lon = np.array([113.665, -0.1276])
    lat = np.array([34.7533, 51.5072])
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert glon[0] != lon[0] and glat[0] != lat[0]
    assert glon[1] == lon[1] and glat[1] == lat[1]
    assert coords.out_of_china(-0.1276, 51.5072) is True
    assert coords.out_of_china(113.665, 34.7533) is False


# --------------------------------------------------------------------------
# Scalars, arrays, shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("func", ALL_FUNCTIONS)
def test_vectorised_equals_scalar(func, zhengzhou_grid) -> None:
    lon, lat = (a[::97] for a in zhengzhou_grid)
    vec_lon, vec_lat = func(lon, lat)
    for i in range(lon.size):
        s_lon, s_lat = func(float(lon[i]), float(lat[i]))
        assert s_lon == pytest.approx(vec_lon[i], abs=1e-12)
        assert s_lat == pytest.approx(vec_lat[i], abs=1e-12)


@pytest.mark.parametrize("func", ALL_FUNCTIONS)
def test_scalar_in_float_out(func) -> None:
    out = func(113.665, 34.7533)
    assert isinstance(out, tuple) and len(out) == 2
    assert all(type(v) is float for v in out)


def test_array_shapes_lists_and_broadcasting() -> None:
    lon = np.full((3, 4), 113.665)
    lat = np.full((3, 4), 34.7533)
    out_lon, out_lat = wgs84_to_gcj02(lon, lat)
    assert out_lon.shape == out_lat.shape == (3, 4)
    # Python lists and scalar/array broadcasting.
    list_lon, list_lat = gcj02_to_wgs84([113.67, 113.68], 34.75)
    assert list_lon.shape == list_lat.shape == (2,)
    # Empty input.
    empty_lon, empty_lat = bd09_to_wgs84(np.array([]), np.array([]))
    assert empty_lon.size == empty_lat.size == 0


def test_nan_propagates() -> None:
    lon, lat = gcj02_to_wgs84(np.array([np.nan, 113.67]), np.array([34.75, 34.75]))
    assert np.isnan(lon[0]) and np.isnan(lat[0])
    assert np.isfinite(lon[1]) and np.isfinite(lat[1])


def test_inputs_are_not_modified() -> None:
    lon = np.array([113.67, 113.68])
    lat = np.array([34.75, 34.76])
    to_wgs84(lon, lat, "bd09")
    np.testing.assert_array_equal(lon, [113.67, 113.68])
    np.testing.assert_array_equal(lat, [34.75, 34.76])


# --------------------------------------------------------------------------
# CRS names
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", Crs.WGS84),
        ("WGS84", Crs.WGS84),
        ("EPSG:4326", Crs.WGS84),
        ("cgcs2000", Crs.CGCS2000),
        ("EPSG:4490", Crs.CGCS2000),
        ("gcj02", Crs.GCJ02),
        ("GCJ-02", Crs.GCJ02),
        ("amap", Crs.GCJ02),
        ("Tencent", Crs.GCJ02),
        ("bd09", Crs.BD09),
        ("BD-09", Crs.BD09),
        ("baidu", Crs.BD09),
        (" Baidu ", Crs.BD09),
        (Crs.GCJ02, Crs.GCJ02),
    ],
)
def test_parse_crs_aliases(name, expected) -> None:
    assert parse_crs(name) is expected


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "EPSG:4326", "EPSG:4490"])
def test_geodetic_crs_are_identity(crs) -> None:
    assert to_wgs84(113.665, 34.7533, crs) == (113.665, 34.7533)
    assert from_wgs84(113.665, 34.7533, crs) == (113.665, 34.7533)


@pytest.mark.parametrize(
    ("crs", "forward"),
    [
        ("amap", wgs84_to_gcj02),
        ("gcj-02", wgs84_to_gcj02),
        ("baidu", wgs84_to_bd09),
        (Crs.BD09, wgs84_to_bd09),
    ],
)
def test_from_and_to_wgs84_dispatch(crs, forward) -> None:
    assert from_wgs84(113.665, 34.7533, crs) == forward(113.665, 34.7533)
    back = to_wgs84(*forward(113.665, 34.7533), crs)
    assert back == pytest.approx((113.665, 34.7533), abs=1e-9)


@pytest.mark.parametrize("bad", ["gcj03", "mercator", "EPSG:3857", "", None])
def test_unknown_crs_raises_value_error(bad) -> None:
    with pytest.raises(ValueError, match="unknown coordinate system") as info:
        to_wgs84(113.665, 34.7533, bad)
    message = str(info.value)
    for accepted in ("wgs84", "cgcs2000", "gcj02", "bd09", "amap", "baidu"):
        assert accepted in message
    with pytest.raises(ValueError):
        from_wgs84(113.665, 34.7533, bad)
