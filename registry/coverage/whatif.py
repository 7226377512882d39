"""What-if analysis: add or remove hypothetical sites and see every metric change.

Nothing here touches the registry: a :class:`Scenario` is applied to a
:class:`~registry.coverage.inputs.FacilitySet` in memory (added sites get
negative ids) and :func:`compare` puts two :class:`CoverageResult` side by side.

Examples
--------
>>> import numpy as np
>>> from registry.coverage.inputs import FacilitySet
>>> base = FacilitySet([1, 2], np.array([[0., 0], [1000, 0]]), [10, 20], ["A", "B"])
>>> s = Scenario(add=(Site(114.0, 34.75, capacity=90),), remove=(2,))
>>> out = apply_scenario(base, s)
>>> out.ids.tolist(), out.capacity.tolist()
([1, -1], [10.0, 90.0])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from registry.coverage.inputs import FacilitySet, UnitTable, lonlat_to_metric
from registry.coverage.metrics import CoverageResult, units_records
from registry.coverage.params import MAX_SITES_WHATIF, CoverageInputError


@dataclass(frozen=True)
class Site:
    """A hypothetical facility (WGS-84 position, optional capacity and name)."""

    lon: float
    lat: float
    capacity: float | None = None
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"lon": self.lon, "lat": self.lat, "capacity": self.capacity, "name": self.name}


@dataclass(frozen=True)
class Scenario:
    """Sites to add and facility ids to remove (nothing is saved to the registry)."""

    add: tuple[Site, ...] = ()
    remove: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove

    def to_dict(self) -> dict[str, Any]:
        return {"add": [s.to_dict() for s in self.add], "remove": list(self.remove)}


def apply_scenario(facilities: FacilitySet, scenario: Scenario, units: UnitTable | None = None) -> FacilitySet:
    """The facility set with ``scenario`` applied.

    Raises
    ------
    CoverageInputError
        If a facility to remove is not among ``facilities`` (wrong id, other
        kind, or filtered out), so a typo is not silently ignored.
    """
    remove = np.asarray(scenario.remove, dtype=np.int64)
    missing = sorted(set(remove.tolist()) - set(facilities.ids.tolist()))
    if missing:
        raise CoverageInputError(f"facilities {missing} are not among the facilities analysed "
                                 f"(wrong id, another kind, or excluded by the filters)", "remove")
    kept = facilities.subset(~np.isin(facilities.ids, remove))
    if not scenario.add:
        return kept
    lon = np.array([s.lon for s in scenario.add], dtype=float)
    lat = np.array([s.lat for s in scenario.add], dtype=float)
    codes = units.locate(np.column_stack([lon, lat])) if units is not None else np.full(len(lon), "", dtype=object)
    added = FacilitySet(
        ids=-np.arange(1, len(lon) + 1),
        xy=lonlat_to_metric(lon, lat),
        capacity=np.array([np.nan if s.capacity is None else s.capacity for s in scenario.add], dtype=float),
        unit=codes,
        names=np.array([s.name or f"新增点 {i + 1}" for i, s in enumerate(scenario.add)], dtype=object),
    )
    return kept.concat(added)


def parse_scenario(add: Any = None, remove: Any = None) -> Scenario:
    """Scenario from ``add`` = ``"lon,lat[,capacity[,name]]; ..."`` (or a list of dicts/lists) and ``remove`` ids."""
    sites = []
    items: Iterable[Any]
    if add is None or (isinstance(add, str) and not add.strip()):
        items = []
    elif isinstance(add, str):
        items = [p for p in add.replace("\r", "\n").replace(";", "\n").split("\n") if p.strip()]
    else:
        items = add
    for item in items:
        sites.append(_site(item))
    if len(sites) > MAX_SITES_WHATIF:
        raise CoverageInputError(f"at most {MAX_SITES_WHATIF} hypothetical sites", "add")
    ids: list[int] = []
    raw_ids: Iterable[Any]
    if remove is None or (isinstance(remove, str) and not remove.strip()):
        raw_ids = []
    elif isinstance(remove, str):
        raw_ids = [p for p in remove.replace("，", ",").replace(";", ",").replace("\n", ",").split(",") if p.strip()]
    else:
        raw_ids = remove
    for raw in raw_ids:
        try:
            ids.append(int(str(raw).strip()))
        except ValueError:
            raise CoverageInputError(f"remove: {raw!r} is not a facility id", "remove") from None
    return Scenario(tuple(sites), tuple(dict.fromkeys(ids)))


def _site(item: Any) -> Site:
    if isinstance(item, Mapping):
        lon, lat, cap, name = item.get("lon"), item.get("lat"), item.get("capacity"), item.get("name") or ""
    else:
        parts = [p.strip() for p in (item.replace("，", ",").split(",") if isinstance(item, str) else item)]
        if len(parts) < 2:
            raise CoverageInputError(f"add: {item!r} must read lon,lat[,capacity[,name]]", "add")
        lon, lat = parts[0], parts[1]
        cap = parts[2] if len(parts) > 2 and str(parts[2]).strip() else None
        name = str(parts[3]) if len(parts) > 3 else ""
    try:
        lon_f, lat_f = float(lon), float(lat)  # type: ignore[arg-type]
        cap_f = None if cap in (None, "") else float(cap)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CoverageInputError(f"add: {item!r} must read lon,lat[,capacity[,name]] with numbers", "add") from None
    if not (112.0 <= lon_f <= 115.0 and 34.0 <= lat_f <= 35.5):
        raise CoverageInputError(f"add: ({lon_f}, {lat_f}) is not in Zhengzhou (WGS-84 lon,lat)", "add")
    if cap_f is not None and not (math.isfinite(cap_f) and cap_f >= 0):
        raise CoverageInputError(f"add: capacity must be ≥ 0, got {cap!r}", "add")
    return Site(lon_f, lat_f, cap_f, str(name)[:100])


# --------------------------------------------------------------------------- comparison
def _delta(before: Any, after: Any) -> Any:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return {k: _delta(before.get(k), after.get(k)) for k in after}
    if isinstance(before, Sequence) and isinstance(after, Sequence) and not isinstance(before, str):
        return [_delta(b, a) for b, a in zip(before, after)]
    if isinstance(before, bool) or isinstance(after, bool):
        return None
    numbers = isinstance(before, (int, float)) and isinstance(after, (int, float))
    if numbers and math.isfinite(before) and math.isfinite(after):
        return after - before
    return None


def compare(before: CoverageResult, after: CoverageResult) -> dict[str, Any]:
    """Differences ``after - before`` of every numeric city and per-unit figure.

    Returns
    -------
    dict
        ``city`` (same shape as :attr:`CoverageResult.city`, numbers replaced
        by their change, ``None`` where either side is unknown) and ``units``
        (one dict per unit with ``code``, ``name`` and the changes).
    """
    radii = after.radii
    b_units = {u["code"]: u for u in units_records(before.units, before.radii)}
    units = []
    for row in units_records(after.units, radii):
        d = _delta(b_units.get(row["code"], {}), row)
        d["code"], d["name"] = row["code"], row["name"]
        d["radii"] = [dict(r, radius_m=row["radii"][i]["radius_m"]) for i, r in enumerate(d.get("radii") or [])]
        units.append(d)
    city = _delta(before.city, after.city)
    city["radii"] = [dict(r, radius_m=after.city["radii"][i]["radius_m"]) for i, r in enumerate(city["radii"])]
    return {"city": city, "units": units}


@dataclass
class WhatIfResult:
    """Coverage before and after a scenario, and the change."""

    scenario: Scenario
    before: CoverageResult
    after: CoverageResult
    delta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, hot_spot_limit: int | None = 100) -> dict[str, Any]:
        return {"scenario": self.scenario.to_dict(), "before": self.before.to_dict(hot_spot_limit),
                "after": self.after.to_dict(hot_spot_limit), "delta": _clean(self.delta)}


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if obj is pd.NA:
        return None
    return obj
