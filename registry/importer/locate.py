"""Point-in-polygon of staged rows against the districts, in the client, chunk by chunk.

The county districts and functional zones are read once per import
(:func:`registry.spatial.select_unit_geometries`), prepared, and each chunk's
points are tested with vectorised GEOS calls while the previous chunk is still
streaming to the server.  The answers are the ones the SQL used to give:

* ``district_code`` — the county district whose polygon intersects the point
  (boundary included); on a shared boundary the smallest code wins; ``None``
  outside every district (the row is then flagged ``outside_city``);
* ``zone_code`` — the declared code, when it names a functional zone and the
  point lies in that zone (so a zone is not reported as a mismatch).

>>> # locator = UnitLocator.load(conn)
>>> # locator.districts(np.array([113.6654]), np.array([34.7802]))  -> array(['410105'], dtype=object)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection


@dataclass
class UnitLocator:
    """Prepared county districts (ascending codes) and functional zones."""

    counties: list[tuple[str, Any]] = field(default_factory=list)
    zones: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: Connection) -> UnitLocator:
        """Read and prepare the units of the database behind ``conn``."""
        from registry import spatial

        out = cls()
        for code, level, wkb in conn.execute(spatial.select_unit_geometries()):
            geom = shapely.from_wkb(bytes(wkb))
            shapely.prepare(geom)
            if level == "county":
                out.counties.append((str(code), geom))
            else:
                out.zones[str(code)] = geom
        out.counties.sort(key=lambda item: item[0])
        return out

    def districts(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """County district code of each point (object array, ``None`` outside Zhengzhou)."""
        out = np.full(len(lon), None, dtype=object)
        todo = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        for code, geom in self.counties:  # ascending: the first hit is the smallest code
            if not len(todo):
                break
            hit = shapely.intersects_xy(geom, lon[todo], lat[todo])
            out[todo[hit]] = code
            todo = todo[~hit]
        return out

    def zones_declared(self, lon: np.ndarray, lat: np.ndarray, declared: np.ndarray) -> np.ndarray:
        """``declared[i]`` where it names a functional zone containing point ``i``, else ``None``."""
        out = np.full(len(lon), None, dtype=object)
        for code, geom in self.zones.items():
            idx = np.flatnonzero(declared == code)
            if len(idx):
                hit = shapely.intersects_xy(geom, lon[idx], lat[idx])
                out[idx[hit]] = code
        return out


__all__ = ["UnitLocator"]
