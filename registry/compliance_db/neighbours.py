"""Cross-kind neighbour pairs of the spatial rules, measured in PostGIS (geodesic metres).

* PK-7: on-street berths within 50 m of a kindergarten's entrance (the
  ``kindergarten.entrance`` point; the facility point when none is recorded,
  and the finding says so) and of the points of the loaded reference layers
  (intersections, bus stops, hospital and school entrances: 50 m; institution
  and residential entrances: 15 m).
* EL-10: elevators within 30 m of a kindergarten (facility point).
* KG-7: kindergartens within 200 m of an entertainment venue or internet café
  (reference layer ``venue``).
* SR-16: the nearest public library and bookstore of each study room (reported only).

Each function returns :class:`~registry.compliance.NeighbourPair` rows and the
``searched`` radii per category, which tell the engine which absences it may
read as "nothing nearby": a category whose layer is not loaded is not searched,
so the rules that need it stay unknown.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection

from registry.compliance import NeighbourPair
from registry.models import ParkingLot
from registry.reference_layers import LAYERS
from registry.rules.spatial import (
    EL10_KINDERGARTEN_RADIUS_M,
    KG7_LIMITS_M,
    PK7_LIMITS_M,
)
from registry.spatial import (
    select_kindergarten_pairs,
    select_nearest_reference,
    select_reference_pairs,
)

Range = tuple[int, int] | None

FALLBACK_NOTE = "（出入口未记录，按设施点位 / no entrance recorded: facility point）"
"""Added to a kindergarten's name when PK-7 measured to its facility point."""

PK7_LAYERS = ("intersection", "bus_stop", "hospital", "school", "institution_entrance", "residential_entrance")
KG7_RADIUS_M = max(KG7_LIMITS_M.values())
SR16_LAYERS = ("public_library", "bookstore")


def _on_street() -> list[Any]:
    return [ParkingLot.__table__.c.parking_type == "on_street"]


def _kindergarten_name(name: str | None, at_entrance: bool) -> str | None:
    return name if at_entrance else f"{name or ''}{FALLBACK_NOTE}"


def _layer_groups(layers: Collection[str]) -> dict[float, list[str]]:
    """PK-7 layers that are loaded, grouped by the distance Art.28 sets for their category."""
    groups: dict[float, list[str]] = {}
    for layer in PK7_LAYERS:
        if layer in layers:
            groups.setdefault(PK7_LIMITS_M[LAYERS[layer].category], []).append(layer)
    return groups


def parking_pairs(
    conn: Connection, layers: Collection[str], ids: Sequence[int] | None = None, id_range: Range = None
) -> tuple[list[NeighbourPair], dict[str, float]]:
    """PK-7 neighbours of on-street berths (all, or ``ids``)."""
    radius = PK7_LIMITS_M["kindergarten"]
    pairs = [
        NeighbourPair(sid, "kindergarten", float(d), nid, _kindergarten_name(name, at_entrance))
        for sid, nid, name, d, at_entrance in conn.execute(
            select_kindergarten_pairs("parking_lot", radius, use_entrance=True, subject_ids=ids,
                                      subject_where=_on_street(), id_range=id_range)
        )
    ]
    searched = {"kindergarten": radius}
    for metres, group in _layer_groups(layers).items():
        stmt = select_reference_pairs("parking_lot", group, metres, subject_ids=ids, subject_where=_on_street(),
                                      id_range=id_range)
        for sid, layer, _category, nid, name, d in conn.execute(stmt):
            pairs.append(NeighbourPair(sid, LAYERS[layer].category, float(d), nid, name))
        for layer in group:
            searched[LAYERS[layer].category] = metres
    return pairs, searched


def elevator_pairs(
    conn: Connection, ids: Sequence[int] | None = None, id_range: Range = None
) -> tuple[list[NeighbourPair], dict[str, float]]:
    """EL-10 neighbours: kindergartens within 30 m of each elevator (all, or ``ids``)."""
    radius = EL10_KINDERGARTEN_RADIUS_M
    pairs = [
        NeighbourPair(sid, "kindergarten", float(d), nid, name)
        for sid, nid, name, d, _ in conn.execute(
            select_kindergarten_pairs("elevator", radius, use_entrance=False, subject_ids=ids, id_range=id_range)
        )
    ]
    return pairs, {"kindergarten": radius}


def kindergarten_pairs(
    conn: Connection, layers: Collection[str], ids: Sequence[int] | None = None, id_range: Range = None
) -> tuple[list[NeighbourPair], dict[str, float]]:
    """KG-7 neighbours: venues within 200 m of each kindergarten, when the ``venue`` layer is loaded."""
    if "venue" not in layers:
        return [], {}
    stmt = select_reference_pairs("kindergarten", ["venue"], KG7_RADIUS_M, subject_ids=ids, id_range=id_range)
    pairs = [
        NeighbourPair(sid, category or "entertainment", float(d), nid, name)
        for sid, _layer, category, nid, name, d in conn.execute(stmt)
    ]
    return pairs, dict.fromkeys(KG7_LIMITS_M, KG7_RADIUS_M)


def study_room_pairs(
    conn: Connection, layers: Collection[str], ids: Sequence[int] | None = None, id_range: Range = None
) -> tuple[list[NeighbourPair], dict[str, float]]:
    """SR-16 (advisory): the nearest public library and bookstore of each study room, when loaded."""
    pairs: list[NeighbourPair] = []
    searched: dict[str, float] = {}
    for layer in SR16_LAYERS:
        if layer not in layers:
            continue
        stmt = select_nearest_reference("study_room", layer, ids, id_range)
        for sid, _layer, _category, nid, name, d in conn.execute(stmt):
            pairs.append(NeighbourPair(sid, LAYERS[layer].category, float(d), nid, name))
        searched[LAYERS[layer].category] = float("inf")
    return pairs, searched


def pairs_for(
    conn: Connection, kind: str, layers: Collection[str], ids: Sequence[int] | None = None, id_range: Range = None
) -> tuple[list[NeighbourPair], dict[str, float] | None]:
    """Neighbour pairs and searched radii for the facilities of ``kind`` (``None``: kind has no spatial rule).

    All of them, or those in ``ids`` and/or the id slice ``id_range`` (lo, hi).
    """
    if ids is not None and not ids:
        return [], None
    if kind == "parking_lot":
        return parking_pairs(conn, layers, ids, id_range)
    if kind == "elevator":
        return elevator_pairs(conn, ids, id_range)
    if kind == "kindergarten":
        return kindergarten_pairs(conn, layers, ids, id_range)
    if kind == "study_room":
        return study_room_pairs(conn, layers, ids, id_range)
    return [], None


def touched_by_kindergartens(conn: Connection, kindergarten_ids: Sequence[int]) -> set[int]:
    """Berths (PK-7, 50 m of the entrance) and elevators (EL-10, 30 m) near these live kindergartens now."""
    if not kindergarten_ids:
        return set()
    ids = list(kindergarten_ids)
    out = {
        row[0]
        for row in conn.execute(
            select_kindergarten_pairs("parking_lot", PK7_LIMITS_M["kindergarten"], use_entrance=True,
                                      kindergarten_ids=ids, subject_where=_on_street())
        )
    }
    out |= {
        row[0]
        for row in conn.execute(
            select_kindergarten_pairs("elevator", EL10_KINDERGARTEN_RADIUS_M, use_entrance=False,
                                      kindergarten_ids=ids)
        )
    }
    return out
