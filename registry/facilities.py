"""Reading facilities: counts, lists and GeoJSON features (framework-neutral).

Statements come from :mod:`registry.spatial`; this module executes them and
shapes plain Python data for pages, the API and the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, with_polymorphic

from registry.kinds import KIND_SPECS, FacilityKind, FieldType
from registry.kinds.values import format_canonical
from registry.models import KIND_MODELS, District, Facility
from registry.spatial import facility_lonlat, select_counts_by_kind_and_district

KIND_ORDER = [k.value for k in FacilityKind]


@dataclass(frozen=True)
class CountTable:
    """Facility counts per district (rows) and kind (columns)."""

    districts: list[tuple[str, str]]  # (adcode, name), with ("", "未落区") for facilities outside
    counts: dict[tuple[str, str], int]  # (adcode, kind) -> n

    def total_for_kind(self, kind: str) -> int:
        return sum(n for (_, k), n in self.counts.items() if k == kind)

    def total_for_district(self, adcode: str) -> int:
        return sum(n for (a, _), n in self.counts.items() if a == adcode)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def get_count_table(session: Session) -> CountTable:
    """Counts of facilities per county-level district and kind."""
    districts = [(a, n) for a, n in session.execute(
        select(District.adcode, District.name).where(District.level == "county").order_by(District.adcode)
    )]
    counts: dict[tuple[str, str], int] = {}
    for kind, adcode, n in session.execute(select_counts_by_kind_and_district()):
        counts[(adcode or "", kind)] = n
    if any(a == "" for a, _ in counts):
        districts.append(("", "未落区 (outside)"))
    return CountTable(districts=districts, counts=counts)


def get_district_names(session: Session) -> dict[str, str]:
    """Map of adcode to Chinese name for the county-level districts."""
    return dict(session.execute(select(District.adcode, District.name).where(District.level == "county")).all())


def get_features(session: Session, kind: str | None = None, limit: int = 1000, offset: int = 0
                 ) -> tuple[list[dict[str, Any]], int]:
    """GeoJSON features of facilities (optionally of one kind), and the number matched.

    Parameters
    ----------
    kind : str, optional
        A :class:`FacilityKind` value; all kinds when ``None``.
    limit, offset : int
        Paging window, ordered by id.
    """
    entity = KIND_MODELS[kind] if kind else with_polymorphic(Facility, list(KIND_MODELS.values()))
    lon, lat = facility_lonlat()
    base = select(entity, lon, lat)
    count_stmt = select(func.count()).select_from(Facility)
    if kind:
        count_stmt = count_stmt.where(Facility.kind == kind)
    rows = session.execute(base.order_by(Facility.id).limit(limit).offset(offset)).all()
    names = get_district_names(session)
    features = [to_feature(obj, x, y, names) for obj, x, y in rows]
    return features, session.scalar(count_stmt) or 0


def facility_properties(obj: Facility, district_names: Mapping[str, str]) -> dict[str, Any]:
    """Plain JSON-ready properties of a facility: common fields then its kind's attributes."""
    props: dict[str, Any] = {
        "id": obj.id,
        "kind": obj.kind,
        "external_id": obj.external_id,
        "source": obj.source,
        "name": obj.name,
        "address": obj.address,
        "district_code": obj.district_code,
        "district": district_names.get(obj.district_code or "", None),
        "declared_district": obj.declared_district,
        "status": obj.status,
        "is_synthetic": obj.is_synthetic,
    }
    spec = KIND_SPECS[FacilityKind(obj.kind)]
    for field in spec.fields:
        value = getattr(obj, field.name)
        if field.type is FieldType.POINTS:
            value = None if value is None else _points_text(session_value=value)
        elif field.type in (FieldType.DATE, FieldType.TIME) and value is not None:
            value = format_canonical(field, value)
        props[field.name] = value
    return props


def to_feature(obj: Facility, lon: float, lat: float, district_names: Mapping[str, str]) -> dict[str, Any]:
    """A GeoJSON Feature for a facility row."""
    return {
        "type": "Feature",
        "id": obj.id,
        "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
        "properties": facility_properties(obj, district_names),
    }


def _points_text(session_value: Any) -> str:
    from geoalchemy2.shape import to_shape

    geom = to_shape(session_value)
    points = [geom] if geom.geom_type == "Point" else list(geom.geoms)
    return ";".join(f"{p.x:.6f},{p.y:.6f}" for p in points)
