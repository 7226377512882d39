"""Planning standards behind the coverage defaults: radii, population targets, rule IDs.

Every radius and target used by a coverage analysis comes from here unless the
planner overrides it, and every result carries the ``basis`` text so that a
figure can be traced to the document that asks for it (DOMAIN.md "Service
radii and coverage").

>>> standard_for("kindergarten").radii_m
(300.0,)
>>> standard_for("museum").residents_per_facility_max
100000
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.kinds import spec_for


@dataclass(frozen=True)
class CoverageStandard:
    """How one facility kind is planned.

    Attributes
    ----------
    kind : str
        The :class:`~registry.kinds.FacilityKind` value.
    radii_m : tuple of float
        Default straight-line service radii in metres (empty: planned by
        population only, no radius unless the planner gives one).
    residents_per_facility_max : int or None
        Target "at most this many residents per facility" (MUS-1), if any.
    rule_ids : tuple of str
        Rule IDs of DOMAIN.md the defaults come from.
    basis_zh, basis_en : str
        Where the defaults come from, for every result.
    capacity_field : str or None
        Attribute measuring capacity (places, seats, spaces) for 2SFCA.
    capacity_unit_zh, capacity_unit_en : str
        Unit of that capacity.
    """

    kind: str
    radii_m: tuple[float, ...]
    residents_per_facility_max: int | None
    rule_ids: tuple[str, ...]
    basis_zh: str
    basis_en: str
    capacity_field: str | None
    capacity_unit_zh: str = ""
    capacity_unit_en: str = ""


STANDARDS: dict[str, CoverageStandard] = {
    "kindergarten": CoverageStandard(
        "kindergarten", (300.0,), None, ("GB 50180-2018", "KG-6"),
        "GB 50180-2018《城市居住区规划设计标准》5分钟生活圈（约300米）",
        "GB 50180-2018 5-minute life circle (about 300 m)",
        "places", "学位", "places",
    ),
    "study_room": CoverageStandard(
        "study_room", (500.0, 1000.0), None, ("SR-16",),
        "郑政文〔2019〕92号 SR-16：按服务半径或服务人口布点；10分钟（500米）与15分钟（1000米）生活圈",
        "SR-16 (郑政文〔2019〕92号): sited by service radius or population; 10- and 15-minute circles (500 m, 1,000 m)",
        "seats", "座位", "seats",
    ),
    "parking_lot": CoverageStandard(
        "parking_lot", (300.0,), None, ("GB 50180-2018",),
        "GB 50180-2018 5分钟生活圈（约300米）步行距离",
        "GB 50180-2018 5-minute walk (about 300 m)",
        "spaces", "泊位", "spaces",
    ),
    "museum": CoverageStandard(
        "museum", (), 100_000, ("MUS-1",),
        "郑政文〔2019〕89号 MUS-1：每10万人拥有1座博物馆（按人口规划，不设服务半径）",
        "MUS-1 (郑政文〔2019〕89号): at most 100,000 residents per museum (planned by population, no radius)",
        None,
    ),
    "elevator": CoverageStandard(
        "elevator", (), None, (),
        "电梯无覆盖标准；半径需由规划人员指定",
        "No coverage standard for elevators; a radius must be given",
        None,
    ),
}


def standard_for(kind: str) -> CoverageStandard:
    """The :class:`CoverageStandard` of ``kind`` (raises ``ValueError`` for an unknown kind)."""
    return STANDARDS[spec_for(kind).kind.value]
