"""Map and dashboard data: facilities and districts from PostGIS for the maps and the home page.

The statements come from :mod:`registry.spatial` (section "map data"); this
module executes them and hands :mod:`maps` what its builders expect
(``id``, ``kind``, ``name``, ``address``, ``district_name``, ``status``,
``compliance_status``, point geometry in EPSG:4326).  No Flask here.

Examples
--------
>>> from registry.db import session_scope        # doctest: +SKIP
>>> with session_scope() as s:                     # doctest: +SKIP
...     gdf = get_map_facilities(s, kinds=["museum"])
...     version = get_data_version(s)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from registry.models import SRID

if TYPE_CHECKING:
    from registry.compliance import Finding
from registry.spatial import (
    select_census_populations,
    select_compliance_counts,
    select_map_data_version,
    select_map_districts,
    select_map_facilities,
)

__all__ = [
    "FACILITY_COLUMNS",
    "TARGET_KINDS",
    "get_city_progress",
    "get_compliance_counts",
    "get_data_version",
    "get_map_districts",
    "get_map_facilities",
    "get_rule_facility_ids",
]

FACILITY_COLUMNS = (
    "id", "kind", "name", "address", "district_code", "district_name", "status", "compliance_status",
)
"""Columns of :func:`get_map_facilities` besides ``geometry``."""

#: Simplification of district outlines for maps: 0.00005° is about 5 m in Zhengzhou.
DISTRICT_TOLERANCE_DEG = 0.00005


def get_map_facilities(
    session: Session, kinds: Sequence[str] = (), ids: Sequence[int] = ()
) -> gpd.GeoDataFrame:
    """Facilities to draw (live ones only), ordered by id.

    Parameters
    ----------
    session : Session
        Database session.
    kinds : sequence of str, optional
        Facility kinds; all when empty.
    ids : sequence of int, optional
        Only these facilities.

    Returns
    -------
    GeoDataFrame
        :data:`FACILITY_COLUMNS` and point geometry, EPSG:4326.  A missing
        compliance status is ``None`` (the maps show it as unknown).
    """
    result = session.execute(select_map_facilities(kinds, ids))
    rows = result.all()
    columns = list(result.keys())
    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    lon = frame.pop("lon").to_numpy(dtype=float)
    lat = frame.pop("lat").to_numpy(dtype=float)
    frame = frame.astype(object).where(frame.notna(), None) if len(frame) else frame
    if len(frame):
        frame["id"] = frame["id"].astype(np.int64)
    return gpd.GeoDataFrame(frame[list(FACILITY_COLUMNS)], geometry=shapely.points(lon, lat), crs=SRID)


def get_map_districts(
    session: Session, level: str = "county", tolerance_deg: float | None = DISTRICT_TOLERANCE_DEG
) -> gpd.GeoDataFrame:
    """County-level district outlines (``adcode``, ``name``, ``unit_type``), EPSG:4326."""
    rows = session.execute(select_map_districts(level, tolerance_deg)).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
    return gpd.GeoDataFrame(
        {"adcode": [r.adcode for r in rows], "name": [r.name for r in rows], "unit_type": [r.unit_type for r in rows]},
        geometry=list(geoms),
        crs=SRID,
    )


def get_rule_facility_ids(session: Session, rule_id: str, verdicts: Sequence[str]) -> list[int]:
    """Ids of the facilities whose stored finding of ``rule_id`` has one of ``verdicts`` (ascending).

    Facilities the compliance run has not judged yet have no stored finding and
    are not listed under any verdict (they are not "compliant" either).
    """
    from registry.compliance_db.read import select_facility_ids_for_rule

    stmt = select_facility_ids_for_rule(rule_id, list(verdicts)).distinct()
    return sorted(int(i) for i in session.scalars(stmt))


def get_data_version(session: Session) -> str:
    """A short string that changes whenever the facilities or districts drawn on maps change.

    Built from the number of live facilities, their latest ``updated_at``,
    the highest id, the compliance mix (when that column exists) and the
    number of districts.  Used as part of the cache key of rendered maps.
    """
    row = session.execute(select_map_data_version()).one()
    return "|".join("" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in row)


def get_compliance_counts(session: Session) -> dict[str, dict[str, int]]:
    """Live facilities per kind and compliance status (``compliant``/``non_compliant``/``unknown``).

    A missing or unexpected status counts as ``unknown``: a gap is never compliant.
    """
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in session.execute(select_compliance_counts()):
        code = status if status in ("compliant", "non_compliant") else "unknown"
        counts = out.setdefault(kind, {"compliant": 0, "non_compliant": 0, "unknown": 0})
        counts[code] += int(n)
    return out


#: Kinds the city targets count (MUS-4, SR-15, KG-TARGET, PK-TARGET-*); elevators have none.
TARGET_KINDS = ("museum", "study_room", "kindergarten", "parking_lot")


def get_city_progress(session: Session, as_of: dt.date | None = None) -> list[Finding]:
    """Findings of the city-wide rules and targets (most with a ``progress``), from the live facilities.

    Facilities are read with :mod:`registry.query` (attributes in canonical
    form) and judged by :func:`registry.compliance.evaluate_city` with the
    2020 census population of the 15 census units (districts and functional
    zones).  Targets that need an end-2018 baseline the registry does not hold
    come back unknown, with a progress of what is registered.
    """
    from registry import query as ql
    from registry.compliance import evaluate_city

    units = [{"adcode": code, "name": name, "unit_type": unit_type, "population": pop}
             for code, name, unit_type, pop in session.execute(select_census_populations())]
    facilities: list[dict[str, Any]] = []
    for kind in TARGET_KINDS:
        offset: int | None = 0
        while offset is not None:
            result = ql.run(session, ql.Query(kinds=(kind,), limit=ql.MAX_LIMIT, offset=offset))
            for row in result.rows:
                flat = {k: v for k, v in row.items() if k != "attributes"}
                flat.update(row["attributes"])
                facilities.append(flat)
            offset = result.next_offset
    population = sum(float(u["population"]) for u in units if u["population"] is not None) or None
    return evaluate_city(units, facilities, as_of, city_population=population)
