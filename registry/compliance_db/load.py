"""Reading facilities, census units and reference layers as the plain data the rule engine takes.

One statement per kind (:func:`registry.spatial.select_compliance_rows`), rows
turned into dicts: no ORM objects.  Each row keeps the facility's
administrative district as ``admin_district``; for the kinds whose rules read
it (:data:`CENSUS_KINDS`) ``district_code`` becomes the code of the census unit
containing the point (the 15 units of the 2020 census, whose three functional
zones are carved out of their parent districts; see ``data/README.md``),
falling back to the administrative district when the point lies outside every
census polygon.  District rules count per census unit, and PK-8's 135号 scope
names the zones, so the rules read that code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, select

from registry.models import CensusUnit, District
from registry.reference_layers import get_layer_counts
from registry.spatial import select_compliance_rows, select_kind_ids

KINDS = ("museum", "study_room", "kindergarten", "elevator", "parking_lot")
"""The five facility kinds, in catalogue order."""

DISTRICT_COLUMNS: dict[str, tuple[str, ...]] = {
    "museum": ("category", "ownership", "grade", "opened_year", "annual_exhibitions", "annual_visitors",
               "cluster"),
    "study_room": (),
    "kindergarten": ("operator_type",),
    "parking_lot": ("parking_type", "spaces", "ev_chargers"),
}
"""Attributes the district and city rules read (besides status and district), per counted kind.

Elevators take part in no district or city rule.  A test compares district
findings computed from these light rows with those from complete rows.
"""

CENSUS_KINDS = frozenset({"museum", "study_room", "kindergarten", "parking_lot"})
"""Kinds whose rules read the census-unit code (district rules count them; PK-8's scope names the zones).

Elevators keep their administrative district: no elevator rule reads it, and
the point-in-polygon test is then skipped for the largest kind.
"""

CHUNK = 20_000


def _rows(conn: Connection, stmt: Any) -> Iterator[dict[str, Any]]:
    result = conn.execute(stmt)
    keys = list(result.keys())
    for row in result:
        record = dict(zip(keys, row))
        admin = record.get("district_code")
        record["admin_district"] = admin
        census = record.pop("census_code", None)
        record["district_code"] = census or admin
        yield record


def load_facilities(conn: Connection, kind: str, ids: Sequence[int] | None = None,
                    id_range: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Every live facility of ``kind`` (or those in ``ids`` / the id slice ``id_range``) as dicts.

    Parameters
    ----------
    conn : Connection
        Database connection.
    kind : str
        Facility kind.
    ids : sequence of int, optional
        Only these facilities (ids of other kinds or deleted ones are ignored).
    id_range : (int, int), optional
        Only ids ``lo <= id < hi``.
    """
    if ids is not None and not ids:
        return []
    out: list[dict[str, Any]] = []
    id_list = None if ids is None else sorted(set(ids))
    chunks = [None] if id_list is None else [id_list[i:i + CHUNK] for i in range(0, len(id_list), CHUNK)]
    for chunk in chunks:
        stmt = select_compliance_rows(kind, chunk, census=kind in CENSUS_KINDS, id_range=id_range)
        out.extend(_rows(conn, stmt))
    return out


def id_slices(conn: Connection, kind: str, size: int = CHUNK) -> list[tuple[int, int]]:
    """Half-open id ranges covering the live facilities of ``kind``, ``size`` facilities each."""
    ids = conn.execute(select_kind_ids(kind)).scalars().all()
    bounds = ids[::size]
    return [(lo, (bounds[i + 1] if i + 1 < len(bounds) else ids[-1] + 1)) for i, lo in enumerate(bounds)]


def load_counted(conn: Connection) -> list[dict[str, Any]]:
    """The live facilities the district and city rules count, with only the attributes they read."""
    out: list[dict[str, Any]] = []
    for kind, columns in DISTRICT_COLUMNS.items():
        out.extend(_rows(conn, select_compliance_rows(kind, census=True, columns=columns)))
    return out


def load_units(conn: Connection) -> list[dict[str, Any]]:
    """The census units as the district rules take them: adcode, name, unit type, 2020 population.

    Functional zones keep their type; the other units take the type of the
    administrative district with the same code (urban district, county,
    county-level city).
    """
    stmt = (
        select(CensusUnit.code, CensusUnit.name, CensusUnit.unit_type, CensusUnit.pop_2020,
               District.unit_type.label("district_type"))
        .outerjoin(District, District.adcode == CensusUnit.code)
        .order_by(CensusUnit.code)
    )
    units = []
    for code, name, unit_type, population, district_type in conn.execute(stmt):
        kind = "functional_zone" if unit_type == "functional_zone" else district_type
        units.append({"adcode": code, "name": name, "unit_type": kind, "population": population})
    return units


def loaded_layers(conn: Connection) -> dict[str, int]:
    """Reference layers holding at least one point, with their point counts."""
    return {layer: counts["n"] for layer, counts in get_layer_counts(conn).items() if counts["n"]}
