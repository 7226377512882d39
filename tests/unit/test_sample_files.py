"""The shipped synthetic sample (``data/sample/<kind>.csv``) is well formed and exercises the rules.

No database: the files are read with :mod:`csv` and checked against the kind
specifications in :mod:`registry.kinds` and the district polygons in ``data/``.
The generator is ``scripts/make_sample_facilities.py`` (see ``docs/SAMPLE_DATA.md``).
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from registry.kinds import COMMON_FIELDS, FacilityKind, FieldType, spec_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "data" / "sample"
DISTRICTS = ROOT / "data" / "zhengzhou_districts_wgs84.geojson"
GENERATOR = ROOT / "scripts" / "make_sample_facilities.py"
COMMON = [f.name for f in COMMON_FIELDS]
METRIC_CRS = "EPSG:4547"

#: Allowed number of records per kind (the brief: ~70, ~75, ~600, ~800, ~120).
COUNT_RANGES: dict[FacilityKind, tuple[int, int]] = {
    FacilityKind.MUSEUM: (60, 80),
    FacilityKind.STUDY_ROOM: (65, 85),
    FacilityKind.PARKING_LOT: (550, 650),
    FacilityKind.ELEVATOR: (700, 900),
    FacilityKind.KINDERGARTEN: (100, 140),
}

#: Every rule ID of DOMAIN.md.
RULES = (
    [f"MUS-{i}" for i in range(1, 7)]
    + [f"SR-{i}" for i in range(1, 18)]
    + [f"KG-{i}" for i in range(1, 8)]
    + [f"EL-{i}" for i in range(1, 12)]
    + [f"PK-{i}" for i in range(1, 9)]
)
#: Rules without failing cases: KG-7 needs a layer of entertainment venues / internet cafés;
#: EL-11 is an advisory scope rule (in scope = pass, private single-family = not applicable).
NO_FAIL_POSSIBLE = {"KG-7", "EL-11"}

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HH_MM = re.compile(r"^\d{2}:\d{2}$")


@cache
def rows(kind: FacilityKind) -> tuple[dict[str, str], ...]:
    """Raw rows of one sample file."""
    with (SAMPLE_DIR / f"{kind.value}.csv").open(encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


@cache
def header(kind: FacilityKind) -> list[str]:
    """Header line of one sample file."""
    with (SAMPLE_DIR / f"{kind.value}.csv").open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


@cache
def districts() -> gpd.GeoDataFrame:
    """The 12 county-level polygons."""
    gdf = gpd.read_file(DISTRICTS)
    return gdf[gdf["level"] == "county"][["name", "geometry"]].reset_index(drop=True)


@cache
def generator() -> ModuleType:
    """``scripts/make_sample_facilities.py`` imported as a module."""
    spec = importlib.util.spec_from_file_location("make_sample_facilities", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def points_of(text: str) -> list[tuple[float, float]]:
    """Parse ``lon,lat;lon,lat``."""
    return [(float(a), float(b)) for a, b in (p.split(",") for p in text.split(";"))]


KINDS = list(FacilityKind)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_header_is_common_columns_then_kind_fields(kind: FacilityKind) -> None:
    assert header(kind) == COMMON + list(spec_for(kind).field_names)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_count_in_range(kind: FacilityKind) -> None:
    lo, hi = COUNT_RANGES[kind]
    assert lo <= len(rows(kind)) <= hi


def test_on_street_berth_count() -> None:
    n = sum(r["parking_type"] == "on_street" for r in rows(FacilityKind.PARKING_LOT))
    assert 130 <= n <= 170


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_external_ids_unique_and_flagged(kind: FacilityKind) -> None:
    ids = [r["external_id"] for r in rows(kind)]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("SAMPLE-") for i in ids)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_common_columns_filled(kind: FacilityKind) -> None:
    names = set(districts()["name"])
    for r in rows(kind):
        assert r["name"] and r["address"], r["external_id"]
        assert r["district"] in names, r["external_id"]
        assert r["address"].find(r["district"]) >= 0, r["external_id"]
        assert re.fullmatch(r"\d{3}\.\d{6}", r["lon"]) and re.fullmatch(r"\d{2}\.\d{6}", r["lat"]), r[
            "external_id"
        ]


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_statuses_valid(kind: FacilityKind) -> None:
    allowed = {c.value for c in spec_for(kind).statuses}
    assert {r["status"] for r in rows(kind)} <= allowed


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_values_are_canonical(kind: FacilityKind) -> None:
    """Enums are valid choices; booleans, numbers, dates, times and points parse."""
    spec = spec_for(kind)
    for r in rows(kind):
        for f in spec.fields:
            raw = r[f.name]
            if raw == "":
                continue
            where = f"{r['external_id']}.{f.name}={raw!r}"
            if f.type is FieldType.ENUM:
                assert spec.field(f.name).choice(raw) is not None, where
            elif f.type is FieldType.BOOL:
                assert raw in ("true", "false"), where
            elif f.type is FieldType.INT:
                assert int(raw) >= (f.min_value or 0), where
            elif f.type is FieldType.FLOAT:
                assert float(raw) >= (f.min_value or 0), where
            elif f.type is FieldType.DATE:
                assert ISO_DATE.match(raw) and dt.date.fromisoformat(raw) <= dt.date(2026, 11, 22), where
            elif f.type is FieldType.TIME:
                assert HH_MM.match(raw), where
                dt.time.fromisoformat(raw)
            elif f.type is FieldType.POINTS:
                assert points_of(raw), where


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_points_lie_in_their_declared_district(kind: FacilityKind) -> None:
    data = rows(kind)
    gdf = gpd.GeoDataFrame(
        {"external_id": [r["external_id"] for r in data], "declared": [r["district"] for r in data]},
        geometry=[Point(float(r["lon"]), float(r["lat"])) for r in data],
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(gdf, districts().to_crs("EPSG:4326"), how="left", predicate="within")
    assert len(joined) == len(gdf), "a point falls in two districts"
    wrong = joined[joined["name"] != joined["declared"]]
    assert wrong.empty, wrong[["external_id", "declared", "name"]].head().to_string()


def test_kindergarten_entrances_20_to_60_m_from_the_facility() -> None:
    data = [r for r in rows(FacilityKind.KINDERGARTEN) if r["entrance"]]
    assert len(data) >= 100
    here = gpd.GeoSeries([Point(float(r["lon"]), float(r["lat"])) for r in data], crs="EPSG:4326").to_crs(
        METRIC_CRS
    )
    gate = gpd.GeoSeries([Point(*points_of(r["entrance"])[0]) for r in data], crs="EPSG:4326").to_crs(
        METRIC_CRS
    )
    d = here.distance(gate)
    assert d.between(19.5, 60.5).all()


def test_pk7_berths_near_kindergarten_entrances() -> None:
    """Several on-street berths lie 20–45 m from a kindergarten entrance, the others ≥ 50 m."""
    gates = [points_of(r["entrance"])[0] for r in rows(FacilityKind.KINDERGARTEN) if r["entrance"]]
    gxy = gpd.GeoSeries([Point(p) for p in gates], crs="EPSG:4326").to_crs(METRIC_CRS)
    gx, gy = gxy.x.to_numpy(), gxy.y.to_numpy()
    berths = [r for r in rows(FacilityKind.PARKING_LOT) if r["parking_type"] == "on_street"]
    bxy = gpd.GeoSeries([Point(float(r["lon"]), float(r["lat"])) for r in berths], crs="EPSG:4326").to_crs(
        METRIC_CRS
    )
    nearest = np.array([np.min(np.hypot(gx - x, gy - y)) for x, y in zip(bxy.x, bxy.y)])
    assert ((nearest >= 19.5) & (nearest <= 45.5)).sum() >= 5
    assert ((nearest >= 50) & (nearest <= 150)).sum() >= 5
    assert (nearest >= 50).sum() >= 100


def test_some_elevators_are_overdue_and_some_suspended_without_notice() -> None:
    data = rows(FacilityKind.ELEVATOR)
    year_ago = dt.date(2025, 11, 22)
    overdue = [
        r
        for r in data
        if r["last_inspection_date"] and dt.date.fromisoformat(r["last_inspection_date"]) < year_ago
    ]
    assert len(overdue) >= 30
    suspended = [r for r in data if r["status"] == "suspended"]
    assert {r["suspension_reason_posted"] for r in suspended} >= {"true", "false"}
    assert sum(r["private_single_family"] == "true" for r in data) >= 3


def test_museum_clusters() -> None:
    data = rows(FacilityKind.MUSEUM)
    lvbo = [r for r in data if r["cluster"] == "绿博片区"]
    guxing = [r for r in data if r["cluster"] == "古荥大运河文化片区"]
    assert 6 <= len(lvbo) <= 10 and {r["district"] for r in lvbo} == {"中牟县"}
    assert 5 <= len(guxing) <= 8 and {r["district"] for r in guxing} == {"惠济区"}
    assert len(data) < 100  # MUS-4 (≥ 100 new museums) must fail


def test_study_rooms_in_every_unit_and_some_units_short() -> None:
    per = {name: 0 for name in districts()["name"]}
    for r in rows(FacilityKind.STUDY_ROOM):
        per[r["district"]] += 1
    assert all(n >= 1 for n in per.values())
    assert sum(n < 3 for n in per.values()) >= 2


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_about_a_tenth_of_values_unknown(kind: FacilityKind) -> None:
    names = spec_for(kind).field_names
    cells = len(rows(kind)) * len(names)
    empty = sum(r[n] == "" for r in rows(kind) for n in names)
    assert 0.10 <= empty / cells <= 0.45  # blanked unknowns (~10 %) plus fields that do not apply


def test_every_rule_has_passing_and_failing_cases() -> None:
    """The generator's own reading of DOMAIN.md finds pass and fail for every rule (but KG-7, EL-11)."""
    gen = generator()
    kinds = gen.read_sample(SAMPLE_DIR)
    geo = gen.Geo(np.random.default_rng(0))
    seen: dict[str, dict[str, int]] = {}
    for t in gen.evaluate(geo, kinds):
        tally = seen.setdefault(t.rule, {"pass": 0, "fail": 0, "unknown": 0})
        for verdict, ids in t.verdicts.items():
            tally[verdict] += len(ids)
    assert sorted(seen) == sorted(RULES)
    for rule, tally in seen.items():
        if rule in NO_FAIL_POSSIBLE:
            assert tally["unknown"] > 0 and tally["fail"] == 0, (rule, tally)
            continue
        assert tally["pass"] > 0 and tally["fail"] > 0, (rule, tally)


def test_files_are_up_to_date_with_the_generator(tmp_path: Path) -> None:
    """Regenerating gives byte-identical files (deterministic; nobody edited the CSVs by hand)."""
    gen = generator()
    assert gen.main(["--output", str(tmp_path)]) == 0
    for kind in KINDS:
        name = f"{kind.value}.csv"
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
