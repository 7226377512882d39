"""Conversion between WGS-84, GCJ-02 and BD-09 coordinates.

Chinese web maps publish coordinates in obfuscated datums:

- **GCJ-02** (国测局坐标, "Mars coordinates") is used by Amap (高德), Tencent and
  Google Maps in mainland China. It shifts WGS-84 positions by a smooth but
  non-linear offset of a few hundred metres (roughly 300--700 m in Zhengzhou).
- **BD-09** (百度坐标) is used by Baidu Maps; it is a further, small rotation and
  scaling applied on top of GCJ-02.

The forward transforms implemented here follow the widely published
algorithm (known as "eviltransform" / "coordtransform"): a polynomial and
trigonometric offset on the Krasovsky 1940 ellipsoid for GCJ-02 and a polar
perturbation around (0.0065, 0.006) for BD-09. The inverse transforms are
not the usual one-step approximations: they iterate on the forward formula
until the residual is below :data:`INVERSE_TOLERANCE_DEG`.

WGS-84 (EPSG:4326) and CGCS2000 (EPSG:4490) differ by centimetres and are
treated as identical.

Every function accepts Python floats or numpy arrays (anything broadcastable).
When both inputs are scalars, a tuple of Python floats is returned; otherwise a
tuple of ``float64`` arrays. Points outside China's rough bounding box are
returned unchanged by every GCJ-02 and BD-09 conversion (the published rule),
so foreign coordinates pass through untouched.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(113.6650, 34.7533)
>>> round(lon, 6), round(lat, 6)
(113.671103, 34.752187)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(back[0], 7), round(back[1], 7)
(113.665, 34.7533)
>>> to_wgs84(113.6650, 34.7533, "EPSG:4326")
(113.665, 34.7533)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "INVERSE_TOLERANCE_DEG",
    "Crs",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "parse_crs",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Semi-major axis of the Krasovsky 1940 ellipsoid, in metres.
KRASOVSKY_A: float = 6378245.0
#: First eccentricity squared of the Krasovsky 1940 ellipsoid.
KRASOVSKY_EE: float = 0.00669342162296594323
#: Angular constant of the BD-09 perturbation.
X_PI: float = math.pi * 3000.0 / 180.0
#: Offset of the BD-09 origin relative to GCJ-02, in degrees (lon, lat).
BD_DLON: float = 0.0065
BD_DLAT: float = 0.006

#: The inverse transforms stop once the forward image of the estimate is
#: within this many degrees of the input (1e-9 deg is about 0.1 mm).
INVERSE_TOLERANCE_DEG: float = 1e-9
_MAX_ITERATIONS: int = 50

# Rough bounding box of China used by the published algorithm.
_CHINA_LON_MIN, _CHINA_LON_MAX = 72.004, 137.8347
_CHINA_LAT_MIN, _CHINA_LAT_MAX = 0.8293, 55.8271

FloatOrArray = TypeVar("FloatOrArray", float, NDArray[np.float64])
_Array = NDArray[np.float64]
_Transform = Callable[[_Array, _Array], tuple[_Array, _Array]]


class Crs(str, Enum):
    """Coordinate reference systems understood by :func:`to_wgs84`.

    ``WGS84`` and ``CGCS2000`` are true geodetic datums (treated as identical);
    ``GCJ02`` and ``BD09`` are the obfuscated datums of Chinese web maps.
    """

    WGS84 = "wgs84"
    CGCS2000 = "cgcs2000"
    GCJ02 = "gcj02"
    BD09 = "bd09"


# Normalised alias (lower case, no spaces) -> Crs.
_CRS_ALIASES: dict[str, Crs] = {
    "wgs84": Crs.WGS84,
    "wgs-84": Crs.WGS84,
    "wgs_84": Crs.WGS84,
    "epsg:4326": Crs.WGS84,
    "4326": Crs.WGS84,
    "cgcs2000": Crs.CGCS2000,
    "epsg:4490": Crs.CGCS2000,
    "4490": Crs.CGCS2000,
    "gcj02": Crs.GCJ02,
    "gcj-02": Crs.GCJ02,
    "gcj_02": Crs.GCJ02,
    "amap": Crs.GCJ02,
    "gaode": Crs.GCJ02,
    "tencent": Crs.GCJ02,
    "bd09": Crs.BD09,
    "bd-09": Crs.BD09,
    "bd_09": Crs.BD09,
    "baidu": Crs.BD09,
}


def parse_crs(crs: str | Crs) -> Crs:
    """Normalise a coordinate system name to a :class:`Crs`.

    Parameters
    ----------
    crs : str or Crs
        Name of the system, case-insensitive, e.g. ``"WGS84"``, ``"EPSG:4490"``,
        ``"gcj-02"``, ``"amap"``, ``"tencent"``, ``"Baidu"``.

    Returns
    -------
    Crs
        The canonical member.

    Raises
    ------
    ValueError
        If the name is not recognised; the message lists the accepted names.

    Examples
    --------
    >>> parse_crs("Amap")
    <Crs.GCJ02: 'gcj02'>
    """
    if isinstance(crs, Crs):
        return crs
    if isinstance(crs, str):
        key = crs.strip().lower().replace(" ", "")
        found = _CRS_ALIASES.get(key)
        if found is not None:
            return found
    accepted = ", ".join(repr(name) for name in _CRS_ALIASES)
    raise ValueError(
        f"unknown coordinate system {crs!r}; accepted (case-insensitive): {accepted}"
    )


# --------------------------------------------------------------------------
# Input/output helpers
# --------------------------------------------------------------------------


def _as_arrays(lon: object, lat: object) -> tuple[_Array, _Array, bool]:
    """Broadcast inputs to float64 arrays and report whether both were scalars."""
    lon_arr = np.asarray(lon, dtype=np.float64)
    lat_arr = np.asarray(lat, dtype=np.float64)
    scalar = lon_arr.ndim == 0 and lat_arr.ndim == 0
    lon_arr, lat_arr = np.broadcast_arrays(lon_arr, lat_arr)
    return lon_arr, lat_arr, scalar


def _apply(
    func: _Transform, lon: FloatOrArray, lat: FloatOrArray
) -> tuple[FloatOrArray, FloatOrArray]:
    """Run an array transform and return floats for scalar input."""
    lon_arr, lat_arr, scalar = _as_arrays(lon, lat)
    out_lon, out_lat = func(lon_arr, lat_arr)
    if scalar:
        return float(out_lon), float(out_lat)  # type: ignore[return-value]
    return out_lon, out_lat  # type: ignore[return-value]


def out_of_china(lon: FloatOrArray, lat: FloatOrArray) -> bool | NDArray[np.bool_]:
    """Tell whether points lie outside the box where GCJ-02 applies.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees.

    Returns
    -------
    bool or numpy.ndarray of bool
        True where the point is outside the published China bounding box
        (lon 72.004--137.8347, lat 0.8293--55.8271). NaN counts as inside, so
        NaN propagates through the transforms.
    """
    lon_arr, lat_arr, scalar = _as_arrays(lon, lat)
    mask = _out_of_china(lon_arr, lat_arr)
    return bool(mask) if scalar else mask


def _out_of_china(lon: _Array, lat: _Array) -> NDArray[np.bool_]:
    return (
        (lon < _CHINA_LON_MIN)
        | (lon > _CHINA_LON_MAX)
        | (lat < _CHINA_LAT_MIN)
        | (lat > _CHINA_LAT_MAX)
    )


# --------------------------------------------------------------------------
# GCJ-02
# --------------------------------------------------------------------------


def _offset_lat(x: _Array, y: _Array) -> _Array:
    """Latitude offset polynomial (before ellipsoid scaling), x = lon-105, y = lat-35."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret = ret + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret = ret + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret = ret + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x: _Array, y: _Array) -> _Array:
    """Longitude offset polynomial (before ellipsoid scaling), x = lon-105, y = lat-35."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret = ret + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret = ret + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret = ret + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_delta(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    """GCJ-02 minus WGS-84, in degrees, at WGS-84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    dlat = _offset_lat(x, y)
    dlon = _offset_lon(x, y)
    rad_lat = np.radians(lat)
    sin_lat = np.sin(rad_lat)
    magic = 1.0 - KRASOVSKY_EE * sin_lat * sin_lat
    sqrt_magic = np.sqrt(magic)
    # Convert the metre-like offsets to degrees on the Krasovsky ellipsoid:
    # meridian radius of curvature for latitude, parallel radius for longitude.
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _wgs_to_gcj(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    dlon, dlat = _gcj_delta(lon, lat)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def _invert(forward: _Transform, lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    """Invert a near-identity transform by fixed-point iteration.

    Solves ``forward(x) == target`` with ``x <- x - (forward(x) - target)``.
    The offsets vary slowly (their Jacobian differs from the identity by about
    1e-3 or less), so each step gains about three decimal digits. Each point
    stops on its own once converged, so the result does not depend on which
    other points are converted in the same call.
    """
    est_lon = lon.astype(np.float64, copy=True).ravel()
    est_lat = lat.astype(np.float64, copy=True).ravel()
    target_lon = est_lon.copy()
    target_lat = est_lat.copy()
    # NaN in either coordinate makes both NaN (as in the forward transforms);
    # infinite values lie outside China and pass through unchanged.
    missing = np.isnan(est_lon) | np.isnan(est_lat)
    est_lon[missing] = np.nan
    est_lat[missing] = np.nan
    active = np.flatnonzero(np.isfinite(est_lon) & np.isfinite(est_lat))
    for _ in range(_MAX_ITERATIONS):
        if active.size == 0:
            break
        img_lon, img_lat = forward(est_lon[active], est_lat[active])
        err_lon = img_lon - target_lon[active]
        err_lat = img_lat - target_lat[active]
        est_lon[active] -= err_lon
        est_lat[active] -= err_lat
        pending = (np.abs(err_lon) > INVERSE_TOLERANCE_DEG) | (
            np.abs(err_lat) > INVERSE_TOLERANCE_DEG
        )
        active = active[pending]
    return est_lon.reshape(lon.shape), est_lat.reshape(lat.shape)


def _gcj_to_wgs(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    return _invert(_wgs_to_gcj, lon, lat)


# --------------------------------------------------------------------------
# BD-09
# --------------------------------------------------------------------------


def _gcj_to_bd(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * X_PI)
    bd_lon = z * np.cos(theta) + BD_DLON
    bd_lat = z * np.sin(theta) + BD_DLAT
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, bd_lon), np.where(outside, lat, bd_lat)


def _bd_to_gcj(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    return _invert(_gcj_to_bd, lon, lat)


def _wgs_to_bd(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    return _gcj_to_bd(*_wgs_to_gcj(lon, lat))


def _bd_to_wgs(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    return _gcj_to_wgs(*_bd_to_gcj(lon, lat))


def _identity(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    return lon.copy(), lat.copy()


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def wgs84_to_gcj02(lon: FloatOrArray, lat: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert WGS-84 coordinates to GCJ-02 (Amap, Tencent).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``; floats for scalar input, arrays otherwise.
        Points outside China are returned unchanged.

    Examples
    --------
    >>> [round(v, 6) for v in wgs84_to_gcj02(113.6650, 34.7533)]
    [113.671103, 34.752187]
    """
    return _apply(_wgs_to_gcj, lon, lat)


def gcj02_to_wgs84(lon: FloatOrArray, lat: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert GCJ-02 coordinates (Amap, Tencent) to WGS-84.

    The inverse is computed iteratively from the forward formula until the
    forward image is within :data:`INVERSE_TOLERANCE_DEG` of the input, so the
    result is exact to well below a millimetre (the one-step approximation
    used by many libraries is off by up to a few metres).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``; floats for scalar input, arrays otherwise.
        Points outside China are returned unchanged.
    """
    return _apply(_gcj_to_wgs, lon, lat)


def gcj02_to_bd09(lon: FloatOrArray, lat: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert GCJ-02 coordinates to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)``; points outside China are returned unchanged.
    """
    return _apply(_gcj_to_bd, lon, lat)


def bd09_to_gcj02(lon: FloatOrArray, lat: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert BD-09 coordinates (Baidu) to GCJ-02, by exact iterative inversion.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``; points outside China are returned unchanged.
    """
    return _apply(_bd_to_gcj, lon, lat)


def wgs84_to_bd09(lon: FloatOrArray, lat: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert WGS-84 coordinates to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)``; points outside China are returned unchanged.
    """
    return _apply(_wgs_to_bd, lon, lat)


def bd09_to_wgs84(lon: FloatOrArray, lat: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert BD-09 coordinates (Baidu) to WGS-84 (through GCJ-02).

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``; points outside China are returned unchanged.
    """
    return _apply(_bd_to_wgs, lon, lat)


_TO_WGS84: dict[Crs, _Transform] = {
    Crs.WGS84: _identity,
    Crs.CGCS2000: _identity,
    Crs.GCJ02: _gcj_to_wgs,
    Crs.BD09: _bd_to_wgs,
}

_FROM_WGS84: dict[Crs, _Transform] = {
    Crs.WGS84: _identity,
    Crs.CGCS2000: _identity,
    Crs.GCJ02: _wgs_to_gcj,
    Crs.BD09: _wgs_to_bd,
}


def to_wgs84(
    lon: FloatOrArray, lat: FloatOrArray, crs: str | Crs
) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert coordinates given in ``crs`` to WGS-84.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees, in the system named by ``crs``.
    crs : str or Crs
        ``"wgs84"``/``"EPSG:4326"``, ``"cgcs2000"``/``"EPSG:4490"`` (identity:
        the two differ by centimetres), ``"gcj02"``/``"gcj-02"``/``"amap"``/
        ``"tencent"``, or ``"bd09"``/``"bd-09"``/``"baidu"``; case-insensitive.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``; floats for scalar input, arrays otherwise.

    Raises
    ------
    ValueError
        If ``crs`` is not one of the accepted names.

    Examples
    --------
    >>> lon, lat = to_wgs84(113.671103, 34.752187, "amap")
    >>> round(lon, 4), round(lat, 4)
    (113.665, 34.7533)
    """
    return _apply(_TO_WGS84[parse_crs(crs)], lon, lat)


def from_wgs84(
    lon: FloatOrArray, lat: FloatOrArray, crs: str | Crs
) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert WGS-84 coordinates to the system named by ``crs``.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude and latitude in degrees.
    crs : str or Crs
        Target system; same names as :func:`to_wgs84`.

    Returns
    -------
    tuple
        ``(lon, lat)`` in the target system.

    Raises
    ------
    ValueError
        If ``crs`` is not one of the accepted names.
    """
    return _apply(_FROM_WGS84[parse_crs(crs)], lon, lat)
