"""The shipped sample loads completely; district lookup; spatial index use; models."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.kinds import FacilityKind
from registry.models import (
    CensusUnit,
    District,
    Facility,
    PopulationCell,
    PopulationLayer,
    StudyRoom,
)
from registry.sample import GRID_LAYER_NAME
from registry.spatial import distance_m, knn_order, select_district_at, within_distance

CENSUS_TOTAL_2020 = 12_600_574


def test_twelve_districts_and_fifteen_census_units(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(District).where(District.level == "county")) == 12
    assert session.scalar(select(func.count()).select_from(CensusUnit)) == 15
    assert session.scalar(select(func.sum(CensusUnit.pop_2020))) == CENSUS_TOTAL_2020


def test_population_grid_matches_census_per_unit(session: Session) -> None:
    layer = session.scalars(select(PopulationLayer).where(PopulationLayer.name == GRID_LAYER_NAME)).one()
    assert layer.is_modelled and layer.year == 2020
    per_unit = dict(session.execute(
        select(PopulationCell.census_code, func.sum(PopulationCell.population))
        .where(PopulationCell.layer_id == layer.id).group_by(PopulationCell.census_code)
    ).all())
    census = dict(session.execute(select(CensusUnit.code, CensusUnit.pop_2020)).all())
    assert per_unit == pytest.approx(census)


@pytest.mark.parametrize("kind,minimum", [("museum", 30), ("study_room", 30), ("kindergarten", 30),
                                          ("elevator", 300), ("parking_lot", 300)])
def test_sample_has_every_kind(session: Session, kind: str, minimum: int) -> None:
    n = session.scalar(select(func.count()).select_from(Facility).where(Facility.kind == kind))
    assert n >= minimum


def test_every_sample_facility_lies_in_its_declared_district(session: Session) -> None:
    rows = session.execute(
        select(Facility.declared_district, District.name).join(District, Facility.district_code == District.adcode,
                                                                isouter=True)
    ).all()
    assert rows
    assert [r for r in rows if r[0] != r[1]] == []


@pytest.mark.parametrize("lon,lat,expected", [
    (113.6400, 34.7200, "二七区"),      # 大学路 area, well inside 二七区
    (113.6713, 34.7886, "金水区"),      # 河南博物院, 农业路
    (113.0300, 34.4550, "登封市"),
])
def test_district_lookup_point_in_polygon(session: Session, lon: float, lat: float, expected: str) -> None:
    assert session.execute(select_district_at(lon, lat)).one().name == expected


def test_district_lookup_outside_zhengzhou(session: Session) -> None:
    assert session.execute(select_district_at(116.39, 39.91)).first() is None  # Beijing


def _plan(session: Session, stmt) -> str:  # type: ignore[no-untyped-def]
    compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    session.execute(text("SET LOCAL enable_seqscan = off"))  # small tables: make the planner show index use
    return "\n".join(session.scalars(text(f"EXPLAIN {compiled}")).all())


def test_radius_query_uses_the_geography_index(session: Session) -> None:
    stmt = select(Facility.id).where(within_distance(Facility.geom, 113.665, 34.7533, 1000))
    assert "ix_facility_geom_geog" in _plan(session, stmt)


def test_nearest_query_uses_the_geography_index(session: Session) -> None:
    stmt = select(Facility.id).order_by(knn_order(Facility.geom, 113.665, 34.7533)).limit(5)
    assert "ix_facility_geom_geog" in _plan(session, stmt)


def test_distance_is_geodesic_metres(session: Session) -> None:
    from pyproj import Geod

    expected = Geod(ellps="WGS84").inv(113.665, 34.7533, 113.675, 34.7633)[2]
    got = session.scalar(select(distance_m(func.ST_SetSRID(func.ST_MakePoint(113.675, 34.7633), 4326),
                                           113.665, 34.7533)))
    assert got == pytest.approx(expected, abs=0.01)


def test_kind_model_round_trip_and_unique_external_id(session: Session) -> None:
    room = StudyRoom(name="测试书房", source="test", external_id="T-1", status="open",
                     geom="SRID=4326;POINT(113.66 34.75)", seats=12, wifi=None)
    session.add(room)
    session.flush()
    loaded = session.get(Facility, room.id)
    assert isinstance(loaded, StudyRoom) and loaded.kind == FacilityKind.STUDY_ROOM.value
    assert loaded.seats == 12 and loaded.wifi is None
    session.add(StudyRoom(name="重复", source="test", external_id="T-1", geom="SRID=4326;POINT(113.6 34.7)"))
    with pytest.raises(IntegrityError):
        session.flush()
