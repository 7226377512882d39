"""Load the shipped Zhengzhou sample: districts, census units, population grid, facilities.

Everything comes from the project's own ``data/`` folder (see
``data/README.md``).  Loading is idempotent: reference layers are replaced,
sample facilities (``source = 'sample'``) are deleted and loaded again, and
facilities imported from other sources are left alone.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, shape
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from registry.config import DATA_DIR
from registry.kinds import KIND_SPECS, FacilityKind, FieldType
from registry.kinds.values import parse_canonical, points_ewkt
from registry.models import (
    KIND_MODELS,
    CensusUnit,
    District,
    Facility,
    ImportBatch,
    PopulationCell,
    PopulationLayer,
)
from registry.spatial import update_facility_districts

SAMPLE_SOURCE = "sample"
GRID_LAYER_NAME = "modelled_grid_250m"

# County-level units by type (DOMAIN.md "Administrative units").
URBAN_DISTRICTS = {"410102", "410103", "410104", "410105", "410106", "410108"}
COUNTIES = {"410122"}
COUNTY_CITIES = {"410181", "410182", "410183", "410184", "410185"}

Progress = Callable[[str], None]


@dataclass
class LoadReport:
    """What :func:`load_sample` loaded."""

    districts: int = 0
    census_units: int = 0
    population_cells: int = 0
    facilities: dict[str, int] = field(default_factory=dict)
    outside_districts: int = 0

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [
            f"districts: {self.districts}",
            f"census units: {self.census_units}",
            f"population cells ({GRID_LAYER_NAME}): {self.population_cells}",
        ]
        out += [f"{kind}: {n}" for kind, n in self.facilities.items()]
        if self.outside_districts:
            out.append(f"facilities outside every district: {self.outside_districts}")
        return out


def load_sample(session: Session, data_dir: Path = DATA_DIR, progress: Progress | None = None) -> LoadReport:
    """Load the whole sample into the database behind ``session`` (caller commits).

    Parameters
    ----------
    session : Session
        An open session; nothing is committed here, so a failure leaves nothing.
    data_dir : Path
        Folder holding the shipped files.
    progress : callable, optional
        Called with a short message before each step.
    """
    say = progress or (lambda _msg: None)
    report = LoadReport()
    say("districts")
    report.districts = load_districts(session, data_dir / "zhengzhou_districts_wgs84.geojson")
    say("census units")
    report.census_units = load_census_units(
        session,
        data_dir / "zhengzhou_census_units15_wgs84.geojson",
        data_dir / "zhengzhou_census2020_population.csv",
    )
    grid = data_dir / "population_grid_250m.csv.gz"
    if grid.exists():
        say("population grid")
        report.population_cells = load_population_grid(session, grid)
    say("facilities")
    report.facilities = load_sample_facilities(session, data_dir / "sample")
    session.execute(update_facility_districts(
        session.scalars(select(Facility.id).where(Facility.source == SAMPLE_SOURCE)).all()
    ))
    report.outside_districts = session.scalar(
        select(text("count(*)")).select_from(Facility).where(Facility.source == SAMPLE_SOURCE,
                                                             Facility.district_code.is_(None))
    ) or 0
    say("compliance check")  # compliance: synthetic reference layer + full check (registry.compliance_db)
    from registry.compliance_db.service import after_sample_load

    after_sample_load(session, data_dir / "sample")
    return report


# --------------------------------------------------------------------------- reference layers
def _unit_type(adcode: str, level: str) -> str | None:
    if level == "city":
        return None
    if adcode in URBAN_DISTRICTS:
        return "urban_district"
    if adcode in COUNTIES:
        return "county"
    if adcode in COUNTY_CITIES:
        return "county_city"
    return None


def _multipolygon_ewkt(geometry: dict[str, Any]) -> str:
    geom = shape(geometry)
    if geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    return f"SRID=4326;{geom.wkt}"


def _features(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)["features"]


def load_districts(session: Session, path: Path) -> int:
    """Replace the district table with the 12 county-level units and the city outline."""
    session.execute(text("UPDATE facility SET district_code = NULL WHERE district_code IS NOT NULL"))
    session.execute(delete(District))
    rows = []
    for feat in _features(path):
        props = feat["properties"]
        rows.append(District(
            adcode=str(props["adcode"]), name=props["name"], level=props["level"],
            unit_type=_unit_type(str(props["adcode"]), props["level"]),
            area_km2=props.get("area_km2"), geom=_multipolygon_ewkt(feat["geometry"]),
        ))
    session.add_all(rows)
    session.flush()
    return sum(1 for r in rows if r.level == "county")


def load_census_units(session: Session, geojson: Path, census_csv: Path) -> int:
    """Replace the census units: polygons from ``geojson``, figures from ``census_csv``."""
    with census_csv.open(encoding="utf-8") as fh:
        figures = {row["adcode"]: row for row in csv.DictReader(fh)}
    session.execute(delete(CensusUnit))
    n = 0
    for feat in _features(geojson):
        code = str(feat["properties"]["code"])
        row = figures[code]
        session.add(CensusUnit(
            code=code, name=row["name"], unit_type=row["unit_type"], pop_2020=int(row["pop_2020"]),
            male=_int(row["male"]), female=_int(row["female"]), urban_pop=_int(row["urban_pop"]),
            rural_pop=_int(row["rural_pop"]), households=_int(row["households"]),
            pct_0_14=_float(row["pct_0_14"]), pct_15_64=_float(row["pct_15_64"]),
            pct_65plus=_float(row["pct_65plus"]), area_km2=feat["properties"].get("area_km2"),
            source=row["source"], geom=_multipolygon_ewkt(feat["geometry"]),
        ))
        n += 1
    session.flush()
    return n


def load_population_grid(session: Session, path: Path) -> int:
    """Replace the modelled 250 m grid layer with the cells in ``path`` (COPY)."""
    session.execute(delete(PopulationLayer).where(PopulationLayer.name == GRID_LAYER_NAME))
    layer = PopulationLayer(
        name=GRID_LAYER_NAME, year=2020, crs="EPSG:4326", geometry_kind="cells", cell_size_m=250.0,
        is_modelled=True,
        source="Modelled from the 2020 census (15 units) by distance decay from urban centres; "
               "see docs/POPULATION_GRID.md. Synthetic distribution, not observed.",
        description="250 m cells in EPSG:4547, stored as centre points; unit totals equal the census.",
    )
    session.add(layer)
    session.flush()
    raw = session.connection().connection.driver_connection
    n = 0
    with gzip.open(path, "rt", encoding="utf-8") as fh, raw.cursor() as cur:
        reader = csv.DictReader(fh)
        with cur.copy("COPY population_cell (layer_id, population, census_code, geom) FROM STDIN") as copy:
            for row in reader:
                copy.write_row((layer.id, float(row["population"]), row["census_code"],
                                f"SRID=4326;POINT({row['lon']} {row['lat']})"))
                n += 1
    return n


# --------------------------------------------------------------------------- facilities
def load_sample_facilities(session: Session, folder: Path) -> dict[str, int]:
    """Delete the previous sample facilities and load ``folder/<kind>.csv`` for each kind."""
    session.execute(delete(Facility).where(Facility.source == SAMPLE_SOURCE))
    batch = ImportBatch(source=SAMPLE_SOURCE, filename=str(folder.name), encoding="utf-8", crs="wgs84",
                        created_by="registry load-sample", note="shipped synthetic sample")
    session.add(batch)
    session.flush()
    counts: dict[str, int] = {}
    for kind in FacilityKind:
        path = folder / f"{kind.value}.csv"
        if not path.exists():
            counts[kind.value] = 0
            continue
        with path.open(encoding="utf-8-sig", newline="") as fh:
            objects = [_facility_from_row(kind, row, batch.id) for row in csv.DictReader(fh)]
        session.add_all(objects)
        counts[kind.value] = len(objects)
    batch.n_created = sum(counts.values())
    session.flush()
    return counts


def _facility_from_row(kind: FacilityKind, row: dict[str, str], batch_id: int) -> Facility:
    spec = KIND_SPECS[kind]
    attrs: dict[str, Any] = {}
    for fspec in spec.fields:
        value = parse_canonical(fspec, row.get(fspec.name))
        if fspec.type is FieldType.POINTS and value is not None:
            value = points_ewkt(value, multi=fspec.name == "entrances")
        attrs[fspec.name] = value
    lon, lat = float(row["lon"]), float(row["lat"])
    return KIND_MODELS[kind.value](
        source=SAMPLE_SOURCE, external_id=row["external_id"], name=row["name"], address=row.get("address") or None,
        declared_district=row.get("district") or None, status=row.get("status") or None,
        geom=f"SRID=4326;POINT({lon!r} {lat!r})", is_synthetic=True, batch_id=batch_id, **attrs,
    )


def _int(value: str) -> int | None:
    return int(value) if value not in ("", None) else None


def _float(value: str) -> float | None:
    return float(value) if value not in ("", None) else None

