r"""Generate the shipped SYNTHETIC sample facilities (``data/sample/<kind>.csv``).

Everything written here is invented for demonstration and testing, except
the district polygons and census figures it reads and the names of a handful
of real museums (placed approximately).  Every record carries an
``external_id`` starting with ``SAMPLE-`` and the loader flags them as
synthetic.  See ``docs/SAMPLE_DATA.md`` for what is real, what is made up and
how the sample exercises every rule of ``DOMAIN.md``.

Usage
-----
::

    .venv/bin/python scripts/make_sample_facilities.py            # write data/sample/*.csv
    .venv/bin/python scripts/make_sample_facilities.py --report   # also print rule coverage

The output is deterministic: a fixed seed drives one ``numpy`` Generator and
the same inputs give byte-identical files.

Design
------
* Points are sampled inside the polygon of their declared ``district``
  (inset by :data:`INSET_M` so that entrances and jitter stay inside too),
  and inside the intended 2020 census unit, biased towards urban centres
  (Gaussian around an anchor, rejection sampling).
* Each rule of DOMAIN.md gets deliberate passing and failing records; the
  numeric thresholds of failing and passing values are kept well apart so
  that the verdicts do not hinge on ``<`` versus ``<=``.
* About a tenth of the applicable kind-specific values are then blanked
  (unknown).  Fields that do not apply to a record (the food licence of a
  kindergarten that serves no meals, the lease of an owned study room...)
  are empty as well.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # allow running as a plain script
    sys.path.insert(0, str(REPO_ROOT))

from registry.kinds import COMMON_FIELDS, FacilityKind, FieldType, spec_for

DATA_DIR = REPO_ROOT / "data"
OUT_DIR = DATA_DIR / "sample"
DISTRICTS_FILE = DATA_DIR / "zhengzhou_districts_wgs84.geojson"
UNITS_FILE = DATA_DIR / "zhengzhou_census_units15_wgs84.geojson"
CENSUS_FILE = DATA_DIR / "zhengzhou_census2020_population.csv"

SEED = 20191122
"""Seed of the single random generator (deterministic output)."""

AS_OF = dt.date(2026, 11, 22)
"""Reference date of the time rules (the engine's default evaluation date)."""

METRIC_CRS = "EPSG:4547"
"""CGCS2000 / 3-degree Gauss-Kruger CM 114E (metres)."""

INSET_M = 150.0
"""Sampled points keep at least this distance from their district / census-unit boundary."""

BLANK_RATE = 0.10
"""Probability that an applicable kind-specific value is blanked (unknown)."""

COMMON_NAMES: tuple[str, ...] = tuple(f.name for f in COMMON_FIELDS)

URBAN_FIVE = ("中原区", "二七区", "管城回族区", "金水区", "惠济区")
"""市内五区: the scope of on-street berths."""


# --------------------------------------------------------------------------- geography
@dataclass(frozen=True)
class Area:
    """A sampling area: a declared district, the census unit it should fall in, and an anchor.

    Parameters
    ----------
    key : str
        Short identifier used in the tables below.
    district : str
        Chinese name of the county-level unit (``name`` in the districts file).
    unit : str
        Chinese name of the 2020 census unit the points must fall in.
    lon, lat : float
        Anchor (WGS-84) the points concentrate around.
    sigma_m : float
        Standard deviation of the Gaussian around the anchor, metres.
    """

    key: str
    district: str
    unit: str
    lon: float
    lat: float
    sigma_m: float


# fmt: off
_AREAS: tuple[Area, ...] = (
    Area("zhongyuan", "中原区", "中原区", 113.625, 34.752, 2800),
    Area("gaoxin", "中原区", "郑州高新技术产业开发区", 113.545, 34.815, 2500),
    Area("shuanghu", "中原区", "郑州高新技术产业开发区", 113.56, 34.845, 900),  # 双湖片区
    Area("erqi", "二七区", "二七区", 113.665, 34.7533, 2800),  # 二七广场
    Area("guancheng", "管城回族区", "管城回族区", 113.69, 34.745, 2200),
    Area("jingkai", "管城回族区", "郑州经济技术开发区", 113.74, 34.7, 2000),
    Area("jinshui", "金水区", "金水区", 113.67, 34.785, 2500),
    Area("zhengdong", "金水区", "金水区", 113.728, 34.769, 2200),  # 郑东新区
    Area("huiji", "惠济区", "惠济区", 113.615, 34.865, 2500),
    Area("guxing", "惠济区", "惠济区", 113.53, 34.875, 1000),  # 古荥
    Area("shangjie", "上街区", "上街区", 113.3, 34.805, 1500),
    Area("zhongmou", "中牟县", "中牟县", 113.976, 34.719, 2000),
    Area("lvbo", "中牟县", "中牟县", 113.86, 34.745, 1000),  # 绿博园
    Area("hkg_zm", "中牟县", "郑州航空港经济综合实验区", 113.85, 34.53, 3000),
    Area("yuanling", "新郑市", "郑州航空港经济综合实验区", 113.842, 34.46, 1500),  # 苑陵故城
    Area("gongyi", "巩义市", "巩义市", 112.983, 34.748, 2000),
    Area("xingyang", "荥阳市", "荥阳市", 113.383, 34.787, 2000),
    Area("xinmi", "新密市", "新密市", 113.387, 34.54, 2000),
    Area("xinzheng", "新郑市", "新郑市", 113.74, 34.396, 2000),
    Area("dengfeng", "登封市", "登封市", 113.05, 34.454, 2000),
)
# fmt: on
AREAS: dict[str, Area] = {a.key: a for a in _AREAS}

#: Weights of the areas for the dense kinds (elevators, off-street parking).
# fmt: off
URBAN_WEIGHTS: dict[str, float] = {
    "jinshui": 0.17, "zhengdong": 0.1, "zhongyuan": 0.09, "gaoxin": 0.04, "erqi": 0.11, "guancheng": 0.08,
    "jingkai": 0.04, "huiji": 0.07, "shangjie": 0.03, "zhongmou": 0.04, "hkg_zm": 0.03, "xinzheng": 0.04,
    "gongyi": 0.04, "xingyang": 0.04, "xinmi": 0.04, "dengfeng": 0.04,
}
# fmt: on
#: Weights of the areas for on-street berths (市内五区 only).
# fmt: off
ON_STREET_WEIGHTS: dict[str, float] = {
    "jinshui": 0.28, "zhengdong": 0.12, "zhongyuan": 0.16, "erqi": 0.18, "guancheng": 0.16, "huiji": 0.1,
}
# fmt: on

#: Road names used for addresses and names, per district (real street names; house numbers invented).
# fmt: off
ROADS: dict[str, tuple[str, ...]] = {
    "中原区": (
        "建设路", "中原路", "桐柏路", "伏牛路", "棉纺路", "秦岭路", "嵩山北路", "华山路", "须水河路",
        "陇海西路", "协作路", "冉屯路", "化工路", "科学大道", "莲花街", "长椿路", "西三环路", "工人路",
    ),
    "二七区": (
        "大学路", "京广路", "陇海中路", "航海中路", "嵩山南路", "兴华街", "福华街", "长江路", "淮河路",
        "齐礼阎路", "侯寨路", "康复街", "解放路", "德化街", "一马路", "政通路", "汝河路", "帝湖路",
    ),
    "管城回族区": (
        "紫荆山路", "城东路", "商城路", "东大街", "北顺城街", "航海东路", "南关街", "紫辰路", "未来路",
        "商都路", "港湾路", "南三环", "经北一路", "第八大街", "经南五路", "第三大街", "布厂街", "货站街",
    ),
    "金水区": (
        "农业路", "花园路", "经三路", "纬五路", "文化路", "黄河路", "东风路", "丰产路", "国基路", "经八路",
        "红专路", "金水路", "政七街", "姚砦路", "天明路", "商务内环路", "如意西路", "金水东路", "商鼎路",
        "平安大道", "心怡路", "明理路", "祥盛街", "黄河东路", "东风南路", "龙湖中环路", "北三环", "南阳路",
    ),
    "上街区": (
        "济源路", "中心路", "淮阳路", "新安路", "许昌路", "汝南路", "工业路", "金华路",
    ),
    "惠济区": (
        "天河路", "开元路", "英才街", "长兴路", "江山路", "迎宾路", "大河路", "文化北路", "清华园路",
        "南阳北路", "香山路", "古荥大道",
    ),
    "中牟县": (
        "青年路", "官渡大道", "建设路", "人民路", "广惠街", "文化路", "万胜路", "商都大道", "郑开大道",
        "牟州路",
    ),
    "巩义市": (
        "杜甫路", "新兴路", "嵩山路", "桐本路", "永安路", "紫荆路", "人民路", "建设路", "陇海路",
    ),
    "荥阳市": (
        "索河路", "京城路", "中原路", "郑上路", "演武路", "广武路", "桃花路", "万山路", "塔山路",
    ),
    "新密市": (
        "青屏大街", "开阳路", "溱水路", "平安路", "西大街", "金凤路", "长乐路", "嵩山大道", "东大街",
    ),
    "新郑市": (
        "轩辕路", "人民路", "新华路", "金城路", "中华路", "郑韩路", "新建路", "文化路", "郑港四路",
        "航兴路", "四港联动大道",
    ),
    "登封市": (
        "少林大道", "中岳大街", "嵩阳路", "书院河路", "崇高路", "大禹路", "禅武大道", "玉溪路", "颖河路",
    ),
}
# fmt: on

# fmt: off
SHORT: dict[str, str] = {
    "中原区": "中原", "二七区": "二七", "管城回族区": "管城", "金水区": "金水", "上街区": "上街",
    "惠济区": "惠济", "中牟县": "中牟", "巩义市": "巩义", "荥阳市": "荥阳", "新密市": "新密",
    "新郑市": "新郑", "登封市": "登封",
}
# fmt: on


class Geo:
    """District and census-unit polygons, metric transforms and point sampling.

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator every random draw comes from.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        districts = gpd.read_file(DISTRICTS_FILE)
        districts = districts[districts["level"] == "county"]
        units = gpd.read_file(UNITS_FILE)
        self.district_ll: dict[str, BaseGeometry] = dict(zip(districts["name"], districts.geometry))
        self.unit_ll: dict[str, BaseGeometry] = dict(zip(units["name"], units.geometry))
        self.district_m: dict[str, BaseGeometry] = dict(
            zip(districts["name"], districts.to_crs(METRIC_CRS).geometry)
        )
        self.unit_m: dict[str, BaseGeometry] = dict(zip(units["name"], units.to_crs(METRIC_CRS).geometry))
        self.unit_pop: dict[str, int] = dict(zip(units["name"], units["pop_2020"].astype(int)))
        for geom in (*self.district_ll.values(), *self.unit_ll.values()):
            shapely.prepare(geom)
        self._to_m = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        self._to_ll = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
        self._regions: dict[tuple[str, str | None], BaseGeometry] = {}

    # -- transforms ------------------------------------------------------------------------
    def to_m(self, lon: float, lat: float) -> tuple[float, float]:
        """WGS-84 lon/lat to metric x/y."""
        x, y = self._to_m.transform(lon, lat)
        return float(x), float(y)

    def to_ll(self, x: float, y: float) -> tuple[float, float]:
        """Metric x/y to WGS-84 lon/lat rounded to 6 decimals."""
        lon, lat = self._to_ll.transform(x, y)
        return round(float(lon), 6), round(float(lat), 6)

    def dist_m(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """Distance in metres between two lon/lat points (metric projection)."""
        ax, ay = self.to_m(*a)
        bx, by = self.to_m(*b)
        return math.hypot(ax - bx, ay - by)

    # -- regions ---------------------------------------------------------------------------
    def region(self, district: str, unit: str | None = None) -> BaseGeometry:
        """Metric polygon: ``district`` (∩ census ``unit``), inset by :data:`INSET_M`."""
        key = (district, unit)
        if key not in self._regions:
            geom = self.district_m[district]
            if unit is not None:
                geom = geom.intersection(self.unit_m[unit])
            geom = geom.buffer(-INSET_M)
            shapely.prepare(geom)
            self._regions[key] = geom
        return self._regions[key]

    def district_of(self, lon: float, lat: float) -> str | None:
        """Name of the county-level unit containing the point."""
        p = Point(lon, lat)
        return next((n for n, g in self.district_ll.items() if g.contains(p)), None)

    def unit_of(self, lon: float, lat: float) -> str | None:
        """Name of the 2020 census unit containing the point."""
        p = Point(lon, lat)
        return next((n for n, g in self.unit_ll.items() if g.contains(p)), None)

    # -- sampling --------------------------------------------------------------------------
    def _accept(self, region: BaseGeometry, x: float, y: float, district: str) -> tuple[float, float] | None:
        if not region.contains(Point(x, y)):
            return None
        lon, lat = self.to_ll(x, y)
        return (lon, lat) if self.district_ll[district].contains(Point(lon, lat)) else None

    def sample(
        self,
        area: Area,
        sigma_m: float | None = None,
        spread: bool = False,
        centre: tuple[float, float] | None = None,
    ) -> tuple[float, float]:
        """A point of ``area``: Gaussian around the anchor (or ``centre``), or uniform if ``spread``."""
        region = self.region(area.district, area.unit)
        if not spread:
            cx, cy = self.to_m(*(centre or (area.lon, area.lat)))
            sigma = sigma_m or area.sigma_m
            for _ in range(5000):
                x, y = cx + self.rng.normal(0, sigma), cy + self.rng.normal(0, sigma)
                if (pt := self._accept(region, x, y, area.district)) is not None:
                    return pt
        minx, miny, maxx, maxy = region.bounds
        for _ in range(100000):
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if (pt := self._accept(region, x, y, area.district)) is not None:
                return pt
        raise RuntimeError(f"cannot sample a point in {area}")  # pragma: no cover

    def near(
        self,
        lon: float,
        lat: float,
        district: str,
        rmin: float,
        rmax: float,
        avoid: Callable[[tuple[float, float]], bool] | None = None,
    ) -> tuple[float, float]:
        """A point ``rmin``–``rmax`` metres from (lon, lat), inside ``district`` (inset).

        ``avoid`` rejects candidates for which it returns true.
        """
        cx, cy = self.to_m(lon, lat)
        region = self.region(district)
        for _ in range(20000):
            r = self.rng.uniform(rmin, rmax)
            a = self.rng.uniform(0, 2 * math.pi)
            x, y = cx + r * math.cos(a), cy + r * math.sin(a)
            pt = self._accept(region, x, y, district)
            if pt is not None and rmin <= self.dist_m((lon, lat), pt) <= rmax and not (avoid and avoid(pt)):
                return pt
        raise RuntimeError(f"no point {rmin}-{rmax} m from {lon},{lat} in {district}")  # pragma: no cover


# --------------------------------------------------------------------------- helpers
class Names:
    """Hands out unique names per kind and plausible addresses."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def road(self, district: str) -> str:
        """A random road of ``district``."""
        roads = ROADS[district]
        return roads[int(self.rng.integers(len(roads)))]

    def address(self, district: str, road: str | None = None) -> str:
        """``郑州市<district><road><n>号`` with an invented house number."""
        road = road or self.road(district)
        return f"郑州市{district}{road}{int(self.rng.integers(1, 300))}号"

    def make(self, *parts: str | tuple[str, ...]) -> str:
        """Join ``parts``: a string is used as is, a tuple is a pool to pick one item from."""
        return "".join(p if isinstance(p, str) else pick(self.rng, p) for p in parts)

    def unique(self, *parts: str | tuple[str, ...]) -> str:
        """An unused name made of ``parts`` (see :meth:`make`); numbered variants as a last resort."""
        for _ in range(200):
            name = self.make(*parts)
            if name not in self.used:
                self.used.add(name)
                return name
        base = self.make(*parts)
        for n in range(2, 1000):
            name = f"{base}（{n}）"
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("ran out of names")  # pragma: no cover


NUMBERS: tuple[str, ...] = tuple(str(i) for i in range(1, 100))
"""Pool of small numbers for names (``…段3``)."""


def pick(rng: np.random.Generator, items: Sequence[Any], p: Sequence[float] | None = None) -> Any:
    """One item of ``items`` (optionally weighted)."""
    if p is not None:
        w = np.asarray(p, dtype=float)
        return items[int(rng.choice(len(items), p=w / w.sum()))]
    return items[int(rng.integers(len(items)))]


def chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability ``p``."""
    return bool(rng.random() < p)


def rand_date(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    """A uniformly random date in [start, end]."""
    return start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))


def add_years(d: dt.date, years: int) -> dt.date:
    """``d`` plus ``years`` calendar years (29 Feb → 28 Feb)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def weighted_area_keys(rng: np.random.Generator, weights: dict[str, float], n: int) -> list[str]:
    """``n`` area keys drawn according to ``weights`` (largest-remainder allocation, shuffled)."""
    keys = list(weights)
    w = np.array([weights[k] for k in keys], dtype=float)
    raw = w / w.sum() * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts))[: n - counts.sum()]:
        counts[i] += 1
    out = [k for k, c in zip(keys, counts) for _ in range(int(c))]
    rng.shuffle(out)
    return out


@dataclass
class KindData:
    """The generated rows of one kind plus the bookkeeping used by the coverage report."""

    kind: FacilityKind
    rows: list[dict[str, Any]] = field(default_factory=list)
    protected: set[str] = field(default_factory=set)
    applicable: int = 0
    blanked: int = 0

    def blank(
        self,
        rng: np.random.Generator,
        rate: float = BLANK_RATE,
        keep: Callable[[dict[str, Any]], Iterable[str]] | None = None,
    ) -> None:
        """Blank each applicable kind-specific value with probability ``rate``.

        Fields in :attr:`protected`, and those that ``keep(row)`` returns, stay filled.
        """
        names = spec_for(self.kind).field_names
        for row in self.rows:
            extra = set(keep(row)) if keep else set()
            for name in names:
                if row.get(name) is None:
                    continue
                self.applicable += 1
                if name in self.protected or name in extra:
                    continue
                if rng.random() < rate:
                    row[name] = None
                    self.blanked += 1


def ensure_failures(
    rng: np.random.Generator,
    rows: list[dict[str, Any]],
    name: str,
    bad: Any,
    is_bad: Callable[[Any], bool],
    where: Callable[[dict[str, Any]], bool],
    k: int = 2,
) -> None:
    """Make sure at least ``k`` rows matching ``where`` hold a known failing value of ``name``.

    Small kinds can miss a rare defect by chance; this sets ``bad`` on randomly chosen
    rows that currently pass, so that every rule keeps failing cases.
    """
    known = [r for r in rows if where(r) and r.get(name) is not None]
    need = k - sum(1 for r in known if is_bad(r[name]))
    good = [r for r in known if not is_bad(r[name])]
    if need > 0 and good:
        for i in sorted(rng.choice(len(good), min(need, len(good)), replace=False)):
            good[int(i)][name] = bad


def format_value(ftype: FieldType, value: Any) -> str:
    """Canonical text of a value (same form as ``registry.kinds.values.format_canonical``)."""
    if value is None:
        return ""
    if ftype is FieldType.BOOL:
        return "true" if value else "false"
    if ftype is FieldType.TIME:
        return value.strftime("%H:%M")
    if ftype is FieldType.POINTS:
        return ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in value)
    if ftype is FieldType.FLOAT:
        return str(float(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_csv(data: KindData, folder: Path) -> Path:
    """Write ``folder/<kind>.csv`` (UTF-8, no BOM, LF line ends, canonical values)."""
    spec = spec_for(data.kind)
    types = {f.name: f.type for f in (*COMMON_FIELDS, *spec.fields)}
    header = [*COMMON_NAMES, *spec.field_names]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data.kind.value}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in data.rows:
            out = []
            for name in header:
                if name in ("lon", "lat"):
                    out.append(f"{row[name]:.6f}")
                else:
                    out.append(format_value(types[name], row.get(name)))
            writer.writerow(out)
    return path


def parse_value(ftype: FieldType, text: str) -> Any:
    """Inverse of :func:`format_value` (empty text is ``None``)."""
    if text == "":
        return None
    if ftype is FieldType.BOOL:
        if text not in ("true", "false"):
            raise ValueError(f"not a boolean: {text!r}")
        return text == "true"
    if ftype is FieldType.INT:
        return int(text)
    if ftype is FieldType.FLOAT:
        return float(text)
    if ftype is FieldType.DATE:
        return dt.date.fromisoformat(text)
    if ftype is FieldType.TIME:
        return dt.datetime.strptime(text, "%H:%M").time()
    if ftype is FieldType.POINTS:
        return [tuple(float(v) for v in part.split(",")) for part in text.split(";")]
    return text


def read_sample(folder: Path = OUT_DIR) -> dict[FacilityKind, KindData]:
    """Read ``folder/<kind>.csv`` back into typed rows (as produced by :func:`generate`)."""
    out: dict[FacilityKind, KindData] = {}
    for kind in FacilityKind:
        spec = spec_for(kind)
        types = {f.name: f.type for f in (*COMMON_FIELDS, *spec.fields)}
        data = KindData(kind)
        with (folder / f"{kind.value}.csv").open(encoding="utf-8", newline="") as fh:
            for raw in csv.DictReader(fh):
                data.rows.append({k: parse_value(types[k], v) for k, v in raw.items()})
        out[kind] = data
    return out


def base_row(
    prefix: str, n: int, name: str, district: str, pt: tuple[float, float], status: str, address: str
) -> dict[str, Any]:
    """The common columns of one record."""
    return {
        "external_id": f"SAMPLE-{prefix}-{n:04d}",
        "name": name,
        "address": address,
        "district": district,
        "lon": pt[0],
        "lat": pt[1],
        "status": status,
    }


# --------------------------------------------------------------------------- museums
@dataclass(frozen=True)
class MuseumSeed:
    """A museum to generate: name (``None`` = invent one), area and the designed attributes."""

    name: str | None
    area: str
    ownership: str | None
    category: str | None
    grade: str
    status: str
    cluster: str | None = None
    opened: int | None = None
    at: tuple[float, float] | None = None


#: Real museums (names from 郑政文〔2019〕89号 or well known); coordinates approximate.
# fmt: off
REAL_MUSEUMS: tuple[MuseumSeed, ...] = (
    MuseumSeed("河南博物院", "jinshui", "state", "comprehensive", "grade1", "open",
               opened=1998, at=(113.6717, 34.7885)),
    MuseumSeed("河南地质博物馆", "zhengdong", "industry", "thematic", "grade2", "open",
               opened=2012, at=(113.7270, 34.7770)),
    MuseumSeed("郑州大河村遗址博物馆", "jinshui", "state", "thematic", "grade3", "open",
               opened=2009, at=(113.6840, 34.8420)),
    MuseumSeed("郑州博物馆", "erqi", "state", "comprehensive", "grade1", "open",
               opened=1999, at=(113.6325, 34.7399)),
    MuseumSeed("郑州二七纪念馆", "erqi", "state", "thematic", "grade2", "open",
               opened=1971, at=(113.6650, 34.7533)),
    MuseumSeed("郑州樱桃沟早期人类起源遗址博物馆", "erqi", "state", "thematic", "none", "planned",
               at=(113.5940, 34.6650)),
    MuseumSeed("郑州博物馆新馆", "zhongyuan", "state", "comprehensive", "none", "open",
               opened=2021, at=(113.5900, 34.7700)),
    MuseumSeed("郑州纺织工业遗址博物馆", "zhongyuan", "state", "thematic", "none", "open",
               opened=2021, at=(113.6060, 34.7570)),
    MuseumSeed("郑州商都遗址博物院", "guancheng", "state", "thematic", "none", "open",
               opened=2021, at=(113.6900, 34.7500)),
    MuseumSeed("郑州城隍庙民俗博物馆", "guancheng", "state", "thematic", "none", "planned",
               at=(113.6780, 34.7550)),
    MuseumSeed("郑州文庙国学博物馆", "guancheng", "state", "thematic", "none", "building",
               at=(113.6840, 34.7530)),
    MuseumSeed("郑州运河遗产博物馆", "guxing", "state", "thematic", "none", "building",
               cluster="古荥大运河文化片区"),
    MuseumSeed("巩义市博物馆", "gongyi", "state", "comprehensive", "grade3", "open",
               opened=2008),
    MuseumSeed("荥阳市博物馆", "xingyang", "state", "comprehensive", "none", "renovating",
               opened=2004),
    MuseumSeed("新密市博物馆", "xinmi", "state", "comprehensive", "none", "open",
               opened=2011),
    MuseumSeed("新郑市博物馆", "xinzheng", "state", "comprehensive", "grade3", "open",
               opened=2009),
    MuseumSeed("登封历史博物馆", "dengfeng", "state", "comprehensive", "grade3", "open",
               opened=2005),
    MuseumSeed("登封阳城遗址博物馆", "dengfeng", "state", "thematic", "none", "renovating",
               opened=2010, at=(113.1420, 34.4040)),
)
# fmt: on

#: Addresses of real museums where well known; the others get invented addresses.
REAL_ADDRESSES: dict[str, str] = {
    "河南博物院": "郑州市金水区农业路8号",
    "郑州博物馆": "郑州市二七区嵩山南路168号",
}

#: Invented museums: area, ownership, category, grade, status, cluster, opened year.
GENERATED_MUSEUMS: tuple[MuseumSeed, ...] = (
    # 金水区 / 郑东新区: 2+N met
    MuseumSeed(None, "zhengdong", "non_state", "thematic", "none", "open", None, 2019),
    MuseumSeed(None, "zhengdong", "non_state", "thematic", "none", "open", None, 2020),
    MuseumSeed(None, "zhengdong", "industry", "industry", "grade3", "open", None, 2016),
    MuseumSeed(None, "jinshui", "non_state", "thematic", "none", "open", None, 2017),
    # 中原区: one more thematic (non-state)
    MuseumSeed(None, "zhongyuan", "non_state", "thematic", "none", "open", None, 2018),
    # 高新区 双湖片区 cluster: 10 (MUS-5 target ~10 met)
    MuseumSeed(None, "shuanghu", "non_state", "thematic", "none", "open", "双湖片区", 2019),
    MuseumSeed(None, "shuanghu", "non_state", "thematic", "none", "open", "双湖片区", 2020),
    MuseumSeed(None, "shuanghu", "non_state", "thematic", "none", "open", "双湖片区", 2020),
    MuseumSeed(None, "shuanghu", "industry", "industry", "none", "open", "双湖片区", 2021),
    MuseumSeed(None, "shuanghu", "non_state", "thematic", "none", "open", "双湖片区", 2021),
    MuseumSeed(None, "shuanghu", "state", "thematic", "grade3", "open", "双湖片区", 2019),
    MuseumSeed(None, "shuanghu", "non_state", "thematic", "none", "open", "双湖片区", 2022),
    MuseumSeed(None, "shuanghu", "non_state", "thematic", "none", "open", "双湖片区", 2024),
    MuseumSeed(None, "shuanghu", "industry", "industry", "none", "open", "双湖片区", 2025),
    MuseumSeed(None, "shuanghu", "non_state", "thematic", "none", "open", "双湖片区", 2025),
    # 二七区: one more open thematic
    MuseumSeed(None, "erqi", "non_state", "thematic", "none", "open", None, 2016),
    # 管城回族区: a second open thematic
    MuseumSeed(None, "guancheng", "non_state", "thematic", "none", "open", None, 2019),
    # 经开区: only one thematic (MUS-3 fails)
    MuseumSeed(None, "jingkai", "non_state", "thematic", "none", "open", None, 2020),
    MuseumSeed(None, "jingkai", "industry", "industry", "none", "open", None, 2018),
    # 航空港区 苑陵故城 cluster: 3 (target ~10 missed)
    MuseumSeed(None, "yuanling", "state", "thematic", "none", "open", "苑陵故城", 2021),
    MuseumSeed(None, "yuanling", "non_state", "thematic", "none", "open", "苑陵故城", 2021),
    MuseumSeed(None, "yuanling", "non_state", "thematic", "none", "building", "苑陵故城", None),
    # 惠济区 古荥大运河文化片区: 5 + 运河遗产博物馆 = 6 (target ~20 missed); + 1 outside the cluster
    MuseumSeed(None, "guxing", "non_state", "thematic", "none", "open", "古荥大运河文化片区", 2019),
    MuseumSeed(None, "guxing", "non_state", "thematic", "none", "open", "古荥大运河文化片区", 2020),
    MuseumSeed(None, "guxing", "state", "thematic", "grade3", "open", "古荥大运河文化片区", 2015),
    MuseumSeed(None, "guxing", "non_state", "industry", "none", "open", "古荥大运河文化片区", 2021),
    MuseumSeed(None, "guxing", "non_state", "thematic", "none", "open", "古荥大运河文化片区", 2021),
    MuseumSeed(None, "huiji", "non_state", "thematic", "none", "open", None, 2014),
    # 上街区: 1 thematic + 1 comprehensive + 1 of unknown category (MUS-3 unknown)
    MuseumSeed(None, "shangjie", "state", "comprehensive", "none", "open", None, 2013),
    MuseumSeed(None, "shangjie", "industry", "thematic", "none", "open", None, 2017),
    MuseumSeed(None, "shangjie", "non_state", None, "none", "open", None, 2020),
    # 中牟县: 8 in 绿博片区 + 3 in the county seat, no comprehensive museum (MUS-2 fails)
    MuseumSeed(None, "lvbo", "non_state", "thematic", "none", "open", "绿博片区", 2019),
    MuseumSeed(None, "lvbo", "non_state", "thematic", "none", "open", "绿博片区", 2019),
    MuseumSeed(None, "lvbo", "non_state", "thematic", "none", "open", "绿博片区", 2020),
    MuseumSeed(None, "lvbo", "non_state", "thematic", "none", "open", "绿博片区", 2020),
    MuseumSeed(None, "lvbo", "industry", "industry", "none", "open", "绿博片区", 2020),
    MuseumSeed(None, "lvbo", "non_state", "thematic", "none", "open", "绿博片区", 2021),
    MuseumSeed(None, "lvbo", "state", "thematic", "grade3", "open", "绿博片区", 2021),
    MuseumSeed(None, "lvbo", "non_state", "thematic", "none", "building", "绿博片区", None),
    MuseumSeed(None, "zhongmou", "state", "thematic", "none", "open", None, 2012),
    MuseumSeed(None, "zhongmou", "non_state", "thematic", "none", "open", None, 2018),
    MuseumSeed(None, "zhongmou", "industry", "industry", "none", "open", None, 2016),
    # 巩义市: 1 + 2 met
    MuseumSeed(None, "gongyi", "state", "thematic", "grade3", "open", None, 2010),
    MuseumSeed(None, "gongyi", "non_state", "thematic", "none", "open", None, 2019),
    # 登封市: 1 + 2 met (with 阳城遗址)
    MuseumSeed(None, "dengfeng", "state", "thematic", "grade3", "open", None, 2007),
    MuseumSeed(None, "dengfeng", "non_state", "thematic", "none", "open", None, 2020),
    # 荥阳市: only one thematic (MUS-2 fails)
    MuseumSeed(None, "xingyang", "non_state", "thematic", "none", "open", None, 2019),
    # 新密市: one thematic + one of unknown category (MUS-2 unknown)
    MuseumSeed(None, "xinmi", "non_state", "thematic", "none", "open", None, 2018),
    MuseumSeed(None, "xinmi", "non_state", None, "none", "open", None, 2021),
    # 新郑市: 1 + 2 met
    MuseumSeed(None, "xinzheng", "state", "thematic", "grade3", "open", None, 2012),
    MuseumSeed(None, "xinzheng", "non_state", "thematic", "none", "open", None, 2019),
    MuseumSeed(None, "xinzheng", "non_state", "industry", "none", "open", None, 2020),
)

# fmt: off
THEMES: tuple[str, ...] = (
    "黄河文化", "嵩山文化", "中原非遗", "豫剧", "武术", "汝瓷", "钧瓷", "古钱币", "农耕文化", "中医药",
    "铁路", "纺织", "航空", "汽车", "茶文化", "书法", "剪纸", "皮影", "古陶瓷", "青铜器", "玉器", "石刻",
    "木版年画", "中原民俗", "红色记忆", "老物件", "钟表", "邮政", "电影", "印刷", "商代文化", "姓氏文化",
    "民间乐器", "古琴", "古籍", "服饰", "建筑", "地质矿物", "自然科学", "儿童科技", "粮食", "烹饪", "音乐",
    "科举文化", "园林", "水利", "古建筑构件", "烟草", "煤炭", "金融", "消防", "气象", "中原木作", "竹编",
    "酒文化", "汉字", "少儿美术", "民间刺绣", "老电器", "铁艺", "黄河石", "杂技", "古典家具",
)
# fmt: on


def make_museums(rng: np.random.Generator, geo: Geo) -> KindData:
    """About 70 museums (real names where known) designed for MUS-1 … MUS-6."""
    data = KindData(
        FacilityKind.MUSEUM, protected={"cluster", "category", "opened_year", "annual_exhibitions"}
    )
    names = Names(rng)
    themes = list(THEMES)
    rng.shuffle(themes)
    for n, seed in enumerate((*REAL_MUSEUMS, *GENERATED_MUSEUMS), start=1):
        area = AREAS[seed.area]
        if seed.at is not None:
            pt = geo.sample(area, sigma_m=150, centre=seed.at)
        else:
            pt = geo.sample(area, sigma_m=min(area.sigma_m, 1500))
        if seed.name:
            name = seed.name
            names.used.add(name)
        else:
            theme = themes.pop() if seed.category != "comprehensive" else ""
            if seed.category == "industry":
                name = names.unique("郑州", theme, "行业博物馆")
            elif seed.category == "comprehensive":
                name = names.unique(area.district, "综合博物馆")
            elif area.district in ("巩义市", "荥阳市", "新密市", "新郑市", "登封市", "中牟县", "上街区"):
                name = names.unique(SHORT[area.district], theme, "博物馆")
            else:
                name = names.unique("郑州", theme, "专题博物馆")
        address = REAL_ADDRESSES.get(name) or names.address(area.district)
        row = base_row("MUS", n, name, area.district, pt, seed.status, address)
        active = seed.status in ("open", "renovating")
        big = seed.name in ("河南博物院", "郑州博物馆", "郑州商都遗址博物院", "郑州二七纪念馆")
        if big:
            exhibitions = int(rng.integers(12, 25))
            visitors = int(rng.integers(800, 2500)) * 1000
        elif seed.category == "comprehensive":
            exhibitions = int(rng.integers(6, 14))
            visitors = int(rng.integers(150, 500)) * 1000
        else:
            exhibitions = int(rng.integers(2, 8))
            visitors = int(rng.integers(10, 160)) * 1000
        facilities_ok = [not chance(rng, 0.12) for _ in range(4)]
        row.update(
            {
                "ownership": seed.ownership,
                "category": seed.category,
                "grade": seed.grade,
                "free_admission": (seed.ownership != "non_state") or chance(rng, 0.35),
                "cluster": seed.cluster,
                "opened_year": seed.opened if active else None,
                "annual_exhibitions": exhibitions if active else 0,
                "annual_visitors": visitors if active else 0,
                "fire_security_ok": facilities_ok[0] if active else None,
                "storage_equipment_ok": facilities_ok[1] if active else None,
                "environment_monitoring_ok": facilities_ok[2] if active else None,
                "display_ok": facilities_ok[3] if active else None,
            }
        )
        data.rows.append(row)
    data.blank(rng, keep=lambda r: ("annual_visitors",) if r["annual_visitors"] > 700000 else ())
    return data


# --------------------------------------------------------------------------- study rooms
#: Study rooms per area: SR-15 (≥ 3 per unit) fails in 上街区, 登封市 and the 经开区 zone.
# fmt: off
STUDY_ROOM_PLAN: dict[str, int] = {
    "jinshui": 12, "zhengdong": 6, "zhongyuan": 8, "gaoxin": 3, "erqi": 9, "guancheng": 6, "jingkai": 1,
    "huiji": 6, "shangjie": 2, "zhongmou": 5, "xinzheng": 5, "yuanling": 2, "gongyi": 3, "xingyang": 3,
    "xinmi": 3, "dengfeng": 2,
}
# fmt: on


def make_study_rooms(rng: np.random.Generator, geo: Geo) -> KindData:
    """About 75 city study rooms designed for SR-1 … SR-17."""
    data = KindData(FacilityKind.STUDY_ROOM)
    names = Names(rng)
    keys = [k for k, c in STUDY_ROOM_PLAN.items() for _ in range(c)]
    seq_by_year: Counter[int] = Counter()
    placed: list[tuple[str, tuple[float, float]]] = []
    roads_used: dict[str, set[str]] = defaultdict(set)
    for n, key in enumerate(keys, start=1):
        area = AREAS[key]
        # SR-16: two rooms in 金水 are sited right next to an existing one (complementarity fails).
        twin = {10: 1, 12: 4}.get(n) if key == "jinshui" else None
        if twin is not None:
            pt = geo.near(*placed[twin][1], area.district, 80, 200)
        else:
            pt = geo.sample(area)
        placed.append((key, pt))
        free_roads = [r for r in ROADS[area.district] if r not in roads_used[area.district]]
        road = pick(rng, free_roads or list(ROADS[area.district]))
        roads_used[area.district].add(road)
        name = names.unique(area.district, "城市书房·", road, "店")
        status = pick(rng, ["open", "trial", "building", "planned", "closed"], [0.80, 0.06, 0.06, 0.04, 0.04])
        status = {3: "closed", 40: "closed", 20: "trial", 55: "trial", 33: "building"}.get(n, status)
        opened = None
        if status in ("open", "trial", "closed"):
            opened = rand_date(rng, dt.date(2019, 9, 1), dt.date(2024, 12, 31))
            if status == "trial" or chance(rng, 0.05):
                opened = rand_date(rng, dt.date(2026, 3, 1), dt.date(2026, 10, 31))  # < 1 year: SR-5 n/a
        row = base_row("SR", n, name, area.district, pt, status, names.address(area.district, road))
        active = status in ("open", "trial")
        if opened is not None:
            seq_by_year[opened.year] += 1
            city_number = f"ZZSF-{opened.year}-{seq_by_year[opened.year]:03d}"
        else:
            city_number = None
        rented = chance(rng, 0.4)

        def bad(p: float) -> bool:
            """A defect with probability ``p``."""
            return chance(rng, p)

        opens, closes = dt.time(8, 0), dt.time(23, 0)
        if bad(0.12):
            opens, closes = dt.time(9, 0), pick(rng, [dt.time(21, 0), dt.time(20, 30), dt.time(22, 0)])
        if n in (7, 45):  # 09:00-23:00 is 14 h: the document's own window, short of its "15 h"
            opens, closes = dt.time(9, 0), dt.time(23, 0)
        row.update(
            {
                "city_number": city_number,
                "floor_area_m2": float(
                    round(rng.uniform(45, 72), 1) if bad(0.10) else round(rng.uniform(90, 320), 1)
                ),
                "seats": int(rng.integers(6, 13) if bad(0.10) else rng.integers(18, 90)),
                "volumes": int(rng.integers(12, 26) * 100 if bad(0.10) else rng.integers(35, 200) * 100),
                "opens_at": opens,
                "closes_at": closes,
                "open_every_day": not bad(0.08),
                "opened_date": opened,
                "annual_renewal_pct": float(
                    round(rng.uniform(3, 8), 1) if bad(0.12) else round(rng.uniform(11, 30), 1)
                ),
                "video_surveillance": not bad(0.05),
                "access_control": not bad(0.06),
                "security_networked": not bad(0.12),
                "rfid": not bad(0.06),
                "self_service_machine": not bad(0.05),
                "ebook_machine": not bad(0.10),
                "library_interop": not bad(0.06),
                "bandwidth_mbps": int(
                    pick(rng, [20, 50]) if bad(0.10) else pick(rng, [100, 200, 300, 500, 1000])
                ),
                "wifi": not bad(0.04),
                "has_water": not bad(0.03),
                "has_power": True,
                "has_network": not bad(0.03),
                "glass_box": bad(0.07),
                "own_toilet": not bad(0.12),
                "tenure": "rented" if rented else "owned",
                "title_clear": (not bad(0.10)) if rented else True,
                "lease_years": (
                    float(pick(rng, [3, 5, 8])) if bad(0.25) else float(pick(rng, [10, 12, 15, 20]))
                )
                if rented
                else None,
                "air_conditioning": not bad(0.03),
                "drinking_water": not bad(0.05),
                "first_aid_kit": not bad(0.06),
                "reading_glasses": not bad(0.10),
                "umbrellas": not bad(0.08),
                "accessible": not bad(0.10),
                "damp_fire_protection": not bad(0.05),
                "occupies_road_space": bad(0.07),
                "unified_logo": not bad(0.10),
                "annual_visits": int(rng.integers(8, 120) * 1000)
                if active and opened and opened.year < 2026
                else None,
                "loans_per_reader": float(round(rng.uniform(0.5, 6.0), 1)) if active else None,
                "activities_per_year": int(rng.integers(4, 60)) if active else None,
                "satisfaction_pct": float(round(rng.uniform(72, 99), 1)) if active else None,
            }
        )
        if status in ("planned", "building"):  # nothing to inspect yet
            for k in spec_for(FacilityKind.STUDY_ROOM).field_names:
                if k not in (
                    "floor_area_m2",
                    "seats",
                    "tenure",
                    "title_clear",
                    "lease_years",
                    "glass_box",
                    "occupies_road_space",
                ):
                    row[k] = None
        data.rows.append(row)
    data.blank(rng)
    year_ago = AS_OF - dt.timedelta(days=365)

    def is_active(r: dict[str, Any]) -> bool:
        return bool(r["status"] in ("open", "trial"))

    def opened_a_year_ago(r: dict[str, Any]) -> bool:
        return is_active(r) and r["opened_date"] is not None and r["opened_date"] <= year_ago

    def rented_room(r: dict[str, Any]) -> bool:
        return is_active(r) and r["tenure"] == "rented"

    forced: list[tuple[str, Any, Callable[[Any], bool], Callable[[dict[str, Any]], bool]]] = [
        ("floor_area_m2", 68.0, lambda v: v < 80, is_active),
        ("seats", 12, lambda v: v < 15, is_active),
        ("volumes", 2400, lambda v: v < 3000, is_active),
        ("annual_renewal_pct", 6.5, lambda v: v < 10, opened_a_year_ago),
        ("bandwidth_mbps", 50, lambda v: v < 100, is_active),
        ("has_water", False, lambda v: v is False, is_active),
        ("glass_box", True, lambda v: v is True, is_active),
        ("own_toilet", False, lambda v: v is False, is_active),
        ("lease_years", 5.0, lambda v: v < 10, rented_room),
        ("occupies_road_space", True, lambda v: v is True, is_active),
        ("unified_logo", False, lambda v: v is False, is_active),
    ]
    for field_name, bad_value, is_bad, where in forced:
        ensure_failures(rng, data.rows, field_name, bad_value, is_bad, where)
    return data


# --------------------------------------------------------------------------- kindergartens
# fmt: off
KG_PLAN: dict[str, int] = {
    "jinshui": 15, "zhengdong": 7, "zhongyuan": 11, "gaoxin": 3, "erqi": 14, "guancheng": 9, "jingkai": 3,
    "huiji": 9, "shangjie": 4, "zhongmou": 8, "hkg_zm": 2, "xinzheng": 8, "gongyi": 7, "xingyang": 7,
    "xinmi": 7, "dengfeng": 6,
}
# fmt: on
# fmt: off
COMPOUND_A = (
    "锦绣", "康宁", "翠竹", "丰乐", "和美", "嘉禾", "春晓", "金桂", "清风", "明珠", "玉兰", "景和", "欣悦",
    "长青", "泰和", "颐和", "安居", "雅荷", "祥瑞", "福润", "瑞景", "丹桂", "润泽", "书香", "锦华", "恒安",
    "沁园", "紫薇", "桐荫", "广厦",
)
# fmt: on
COMPOUND_B = ("花园", "家园", "小区", "新城", "雅苑", "华庭", "佳苑", "名苑", "社区", "公馆", "嘉园", "里")
# fmt: off
KG_BRANDS = (
    "星星", "小太阳", "彩虹", "向日葵", "童心", "小树苗", "蒲公英", "贝乐", "启蒙", "快乐宝贝", "小海豚",
    "金色童年", "七色花", "小蜜蜂", "萌芽", "春苗", "小白鸽", "童话", "爱心", "阳光宝贝",
)
# fmt: on


def compound_name(rng: np.random.Generator) -> str:
    """An invented residential compound name (e.g. ``翠竹家园``)."""
    return f"{pick(rng, COMPOUND_A)}{pick(rng, COMPOUND_B)}"


def make_kindergartens(rng: np.random.Generator, geo: Geo) -> KindData:
    """About 120 kindergartens designed for KG-1 … KG-5 (KG-6/7 are spatial, see the docs)."""
    data = KindData(FacilityKind.KINDERGARTEN, protected={"entrance"})
    names = Names(rng)
    keys = [k for k, c in KG_PLAN.items() for _ in range(c)]
    # Designed unlicensed cases (KG-3): (disposition, completed on, status)
    unlicensed = [
        ("admit", dt.date(2019, 7, 10), "open"),
        ("admit", dt.date(2019, 6, 28), "open"),
        ("rectify", dt.date(2019, 7, 25), "open"),
        ("rectify", dt.date(2019, 7, 18), "open"),
        ("rectify", dt.date(2019, 10, 15), "open"),
        ("rectify", None, "open"),
        ("merge", dt.date(2019, 8, 20), "closed"),
        ("close", dt.date(2019, 8, 25), "closed"),
        ("close", dt.date(2019, 8, 12), "closed"),
        ("close", dt.date(2019, 11, 5), "closed"),
        ("close", None, "open"),
        (None, None, "open"),
        (None, None, "open"),
    ]
    unlicensed_at = {int(i) for i in rng.choice(np.arange(1, len(keys) + 1), len(unlicensed), replace=False)}
    unlicensed_iter = iter(unlicensed)
    for n, key in enumerate(keys, start=1):
        area = AREAS[key]
        county = area.district not in URBAN_FIVE and area.district != "上街区"
        pt = geo.sample(area, spread=county and chance(rng, 0.3))
        road = names.road(area.district)
        residential = chance(rng, 0.45)
        if n in unlicensed_at:
            op = pick(rng, ["inclusive_private", "for_profit"], [0.4, 0.6])
            residential = False
        else:
            op = (
                pick(rng, ["public", "inclusive_private", "for_profit"], [0.55, 0.42, 0.03])
                if residential
                else pick(rng, ["public", "inclusive_private", "for_profit"], [0.40, 0.30, 0.30])
            )
        if residential:
            name = names.unique(COMPOUND_A, COMPOUND_B, "幼儿园")
        elif op == "public":
            name = names.unique(area.district, ROADS[area.district], "幼儿园")
        else:
            name = names.unique(KG_BRANDS, "幼儿园（", ROADS[area.district], "园）")
        licensed: bool | None = True
        disposition = disposition_date = None
        status = "open"
        stage = handed = None
        if residential:
            # KG-2: handed over in time / late / not yet (built or still planned).
            stage = pick(rng, ["handed_over", "in_use", "built", "planned"], [0.30, 0.45, 0.15, 0.10])
            if stage in ("handed_over", "in_use"):
                handed = (
                    rand_date(rng, dt.date(2019, 9, 1), dt.date(2021, 6, 30))
                    if chance(rng, 0.2)
                    else rand_date(rng, dt.date(2016, 3, 1), dt.date(2019, 6, 20))
                )
            if stage == "planned":
                status = "planned"
            elif stage == "built" and chance(rng, 0.5):
                status = "building"
        if n in unlicensed_at:
            disposition, disposition_date, status = next(unlicensed_iter)
            licensed = False
        operating = status in ("open",)
        places = int(rng.integers(3, 19)) * 30
        serves_meals = chance(rng, 0.9)
        lic_ok = licensed is True
        row = base_row("KG", n, name, area.district, pt, status, names.address(area.district, road))
        row.update(
            {
                "operator_type": op,
                "residential_supporting": residential,
                "supporting_stage": stage,
                "handed_over_date": handed,
                "licensed": licensed if status != "planned" else None,
                "disposition": disposition,
                "disposition_date": disposition_date,
                "operating_licence": (lic_ok and not chance(rng, 0.04)) if operating else None,
                "legal_person_registered": (not chance(rng, 0.05 if lic_ok else 0.5)) if operating else None,
                "serves_meals": serves_meals if operating else None,
                "food_licence": (not chance(rng, 0.08 if lic_ok else 0.6))
                if operating and serves_meals
                else None,
                "health_evaluation": (not chance(rng, 0.08 if lic_ok else 0.5)) if operating else None,
                "places": places,
                "enrolment": int(places * rng.uniform(0.6, 1.1)) if operating else None,
                "guards": (not chance(rng, 0.04)) if operating else None,
                "anti_ramming": None,
                "anti_ramming_installable": None,
                "entrance_video": (not chance(rng, 0.05)) if operating else None,
                "closed_management": (not chance(rng, 0.04)) if operating else None,
                "alarm_linked": (not chance(rng, 0.07)) if operating else None,
                "entrance": None,
            }
        )
        if operating:
            installable = not chance(rng, 0.15)
            row["anti_ramming_installable"] = installable
            row["anti_ramming"] = (not chance(rng, 0.08)) if installable else False
        if status != "planned":
            row["entrance"] = [geo.near(pt[0], pt[1], area.district, 20, 60)]
        data.rows.append(row)
    # KG-1: a few residential-supporting ones run for profit (at least 6).
    residential_rows = [r for r in data.rows if r["residential_supporting"] and r["status"] != "planned"]
    for r in residential_rows[::6][:8]:
        r["operator_type"] = "for_profit"
    data.blank(
        rng, keep=lambda r: ("licensed", "disposition", "disposition_date") if r["licensed"] is False else ()
    )
    return data


# --------------------------------------------------------------------------- elevators
@dataclass
class Site:
    """A building with elevators (user unit)."""

    name: str
    building_type: str
    district: str
    pt: tuple[float, float]
    public_gathering: bool
    n: int
    owner: str
    address: str


# fmt: off
MAINTAINERS = (
    "河南安达电梯工程有限公司", "郑州恒升电梯服务有限公司", "河南中联电梯安装有限公司",
    "郑州宏达电梯维保有限公司", "河南迅捷电梯工程有限公司", "郑州鼎信电梯技术有限公司",
    "河南华梯机电设备有限公司", "郑州瑞通电梯有限公司", "河南博远电梯工程有限公司",
    "郑州坤泰机电工程有限公司", "河南众鑫电梯服务有限公司", "郑州安顺电梯维修有限公司",
)
# fmt: on
# fmt: off
MALLS = (
    "万和", "中原", "德丰", "嘉茂", "国贸", "新田", "金博", "正弘", "天成", "宏图", "汇达", "凯旋", "华联",
)
# fmt: on
# fmt: off
HOSPITAL_WORDS = (
    "康华", "仁和", "博爱", "华康", "安和", "永康", "济民", "康泰", "益民", "同心", "惠民", "福寿",
)
# fmt: on


def _type_code(elevator_type: str) -> str:
    return {"passenger": "3110", "freight": "3120", "escalator": "3310", "moving_walk": "3320"}[elevator_type]


# fmt: off
ADCODES = {
    "中原区": "410102", "二七区": "410103", "管城回族区": "410104", "金水区": "410105", "上街区": "410106",
    "惠济区": "410108", "中牟县": "410122", "巩义市": "410181", "荥阳市": "410182", "新密市": "410183",
    "新郑市": "410184", "登封市": "410185",
}
# fmt: on


def elevator_sites(rng: np.random.Generator, geo: Geo, kindergartens: KindData) -> list[Site]:
    """Buildings with elevators: compounds, malls, hospitals, schools, offices, kindergartens, villas."""
    names = Names(rng)
    sites: list[Site] = []
    plan = [
        ("住宅", 118, (2, 6), False),
        ("商场", 12, (6, 12), True),
        ("医院", 12, (3, 8), True),
        ("学校", 12, (1, 3), True),
        ("写字楼", 14, (3, 7), False),
        ("酒店", 6, (2, 4), False),
        ("体育场馆", 2, (2, 5), True),
    ]
    for btype, count, (lo, hi), gathering in plan:
        for key in weighted_area_keys(rng, URBAN_WEIGHTS, count):
            area = AREAS[key]
            pt = geo.sample(area)
            road = names.road(area.district)
            short = SHORT[area.district]
            if btype == "住宅":
                name = names.unique(COMPOUND_A, COMPOUND_B, "小区")
                owner = (
                    f"{name}业主委员会" if chance(rng, 0.3) else f"郑州{pick(rng, COMPOUND_A)}置业有限公司"
                )
            elif btype == "商场":
                name = names.unique(MALLS, ("购物中心", "广场", "百货"), f"（{road}）")
                owner = f"郑州{name[:2]}商业管理有限公司"
            elif btype == "医院":
                name = names.unique(short, HOSPITAL_WORDS, "医院")
                owner = name
            elif btype == "学校":
                name = names.unique(
                    short, road.removesuffix("路").removesuffix("街"), ("小学", "中学", "实验学校")
                )
                owner = f"{area.district}教育局"
            elif btype == "写字楼":
                name = names.unique(COMPOUND_A, ("大厦", "国际中心", "商务楼"))
                owner = f"郑州{name[:2]}物业管理有限公司"
            elif btype == "酒店":
                name = names.unique(COMPOUND_A, ("酒店", "宾馆"))
                owner = f"郑州{name[:2]}酒店管理有限公司"
            else:
                name = names.unique(short, "全民健身中心")
                owner = f"{area.district}体育局"
            sites.append(
                Site(
                    name,
                    btype,
                    area.district,
                    pt,
                    gathering,
                    int(rng.integers(lo, hi + 1)),
                    owner,
                    names.address(area.district, road),
                )
            )
    # Kindergartens with an elevator (public gathering places).
    kgs = [r for r in kindergartens.rows if r["status"] == "open" and r["district"] in URBAN_FIVE]
    for r in kgs[:10]:
        sites.append(
            Site(
                r["name"],
                "幼儿园",
                r["district"],
                (r["lon"], r["lat"]),
                True,
                int(rng.integers(1, 3)),
                r["name"],
                r["address"],
            )
        )
    # Private single-family elevators (EL-11: out of scope).
    for key in ("huiji", "zhengdong", "xinzheng", "dengfeng", "erqi"):
        area = AREAS[key]
        pt = geo.sample(area, spread=True)
        family = pick(rng, ["王", "李", "张", "刘", "陈", "杨", "赵"])
        sites.append(
            Site(
                f"{family}宅（个人自用）",
                "私人住宅",
                area.district,
                pt,
                False,
                1,
                f"{family}某某",
                names.address(area.district),
            )
        )
    return sites


def make_elevators(rng: np.random.Generator, geo: Geo, kindergartens: KindData) -> KindData:
    """About 800 elevators designed for EL-1 … EL-11."""
    data = KindData(
        FacilityKind.ELEVATOR,
        protected={"elevator_type", "building_type", "installation_date", "disaster_exposure"},
    )
    serial: Counter[str] = Counter()
    n = 0
    one_year_ago = AS_OF - dt.timedelta(days=365)
    for site in elevator_sites(rng, geo, kindergartens):
        maintainer = pick(rng, MAINTAINERS)
        site_installed = rand_date(rng, dt.date(1994, 1, 1), dt.date(2024, 6, 30))
        for i in range(site.n):
            n += 1
            pt = geo.near(site.pt[0], site.pt[1], site.district, 5, 60)
            if site.building_type == "商场":
                etype = pick(rng, ["escalator", "passenger", "freight"], [0.6, 0.3, 0.1])
            elif site.building_type == "医院":
                etype = pick(rng, ["passenger", "freight", "escalator"], [0.7, 0.2, 0.1])
            elif site.building_type == "体育场馆":
                etype = pick(rng, ["passenger", "escalator"], [0.6, 0.4])
            elif site.building_type == "住宅":
                etype = "passenger" if chance(rng, 0.97) else "freight"
            else:
                etype = "passenger"
            if site.building_type in ("商场",) and chance(rng, 0.05):
                etype = "moving_walk"
            installed = site_installed + dt.timedelta(days=int(rng.integers(0, 60)))
            serial[installed.strftime("%Y")] += 1
            year = installed.strftime("%Y")
            code = f"{_type_code(etype)}{ADCODES[site.district]}{year}{serial[year]:06d}"
            status = pick(rng, ["in_use", "suspended", "scrapped"], [0.88, 0.09, 0.03])
            private = site.building_type == "私人住宅"
            if private:
                status = "in_use"
            design_life = int(pick(rng, [15, 20, 25], [0.3, 0.5, 0.2]))
            life_end = add_years(installed, design_life)
            # EL-2: inspection current, overdue (>1 year), or failed.
            if status == "scrapped":
                last_insp = rand_date(rng, dt.date(2018, 1, 1), dt.date(2023, 12, 31))
            elif chance(rng, 0.13):
                last_insp = rand_date(rng, dt.date(2023, 1, 1), one_year_ago - dt.timedelta(days=21))
            else:
                last_insp = rand_date(rng, one_year_ago + dt.timedelta(days=14), AS_OF - dt.timedelta(days=7))
            last_insp = max(last_insp, installed)
            result = "fail" if chance(rng, 0.06 if status == "in_use" else 0.4) else "pass"
            # EL-3 triggers: frequent faults, disaster, design life reached.
            faults = int(rng.integers(7, 16)) if chance(rng, 0.06) else int(rng.integers(0, 4))
            exposure, disaster_date = "无", None
            if chance(rng, 0.07) and installed < dt.date(2021, 7, 1):
                exposure, disaster_date = "水浸", dt.date(2021, 7, 20)  # 7·20 rainstorm
            elif chance(rng, 0.01):
                exposure, disaster_date = (
                    pick(rng, ["雷击", "火灾"]),
                    rand_date(rng, dt.date(2022, 1, 1), dt.date(2025, 12, 31)),
                )
            triggers = [d for d in (disaster_date,) if d] + ([life_end] if life_end <= AS_OF else [])
            if faults >= 7:
                triggers.append(AS_OF - dt.timedelta(days=180))
            assessment = None
            roll = rng.random()
            if triggers and roll < 0.55:
                start = max(triggers)
                assessment = rand_date(rng, min(start + dt.timedelta(days=10), AS_OF), AS_OF)
            elif triggers and roll < 0.80:
                assessment = rand_date(
                    rng, min(triggers) - dt.timedelta(days=1500), min(triggers) - dt.timedelta(days=30)
                )
            modified = chance(rng, 0.10)
            suspended = status == "suspended"
            row = base_row(
                "EL",
                n,
                f"{site.name} {i + 1}号{'扶梯' if etype == 'escalator' else '梯'}",
                site.district,
                pt,
                status,
                f"{site.address}（{site.name}）",
            )
            row.update(
                {
                    "registration_code": code,
                    "registered": not chance(rng, 0.03),
                    "modified": modified,
                    "re_registered": (not chance(rng, 0.3)) if modified else None,
                    "elevator_type": etype,
                    "owner": site.owner,
                    "user_unit": site.name,
                    "maintenance_unit": maintainer,
                    "maintenance_qualified": not chance(rng, 0.03),
                    "maintenance_subcontracted": chance(rng, 0.04),
                    "records_kept_years": float(pick(rng, [2, 3]))
                    if chance(rng, 0.07)
                    else float(pick(rng, [4, 5, 6])),
                    "records_confirmed": not chance(rng, 0.08),
                    "last_inspection_date": last_insp,
                    "inspection_result": result,
                    "installation_date": installed,
                    "design_life_years": design_life,
                    "faults_12m": faults,
                    "disaster_exposure": exposure,
                    "disaster_date": disaster_date,
                    "last_assessment_date": assessment,
                    "assessment_posted": (not chance(rng, 0.2)) if assessment else None,
                    "monitoring_device": not chance(rng, 0.12),
                    "platform_connected": None,
                    "emergency_alarm_ok": not chance(rng, 0.05),
                    "notices_posted": not chance(rng, 0.07),
                    "liability_insurance": not chance(rng, 0.15),
                    "safety_manager_on_duty": not chance(rng, 0.08),
                    "suspension_reason_posted": (not chance(rng, 0.35)) if suspended else None,
                    "building_type": site.building_type,
                    "public_gathering": site.public_gathering,
                    "private_single_family": private,
                }
            )
            row["platform_connected"] = (not chance(rng, 0.1)) if row["monitoring_device"] else False
            if private:
                row["registration_code"] = None if chance(rng, 0.5) else code
                row["owner"] = row["user_unit"] = site.owner
            if status == "scrapped":
                for k in (
                    "monitoring_device",
                    "platform_connected",
                    "emergency_alarm_ok",
                    "notices_posted",
                    "liability_insurance",
                    "safety_manager_on_duty",
                ):
                    row[k] = None
            data.rows.append(row)
    # EL-11: one "private" elevator now serving the public (Art.33: back in scope).
    privates = [r for r in data.rows if r["private_single_family"]]
    privates[0]["public_gathering"] = True
    privates[0]["building_type"] = "私人住宅（改作民宿对外经营）"
    data.blank(
        rng,
        keep=lambda r: ("private_single_family", "public_gathering") if r["private_single_family"] else (),
    )
    return data


# --------------------------------------------------------------------------- parking
# fmt: off
OPERATORS = (
    "郑州畅行停车管理有限公司", "郑州易泊智能停车有限公司", "河南安泊停车服务有限公司",
    "郑州智停科技有限公司", "郑州通达停车场管理有限公司", "河南顺泊物业服务有限公司",
    "郑州捷停停车管理有限公司", "郑州城泊静态交通有限公司",
)
# fmt: on


def make_parking(rng: np.random.Generator, geo: Geo, kindergartens: KindData) -> KindData:
    """About 600 parking lots incl. ~150 on-street berths, designed for PK-1 … PK-8."""
    data = KindData(
        FacilityKind.PARKING_LOT, protected={"parking_type", "structure", "entrances", "operating"}
    )
    names = Names(rng)
    kg_entrances = [(r["entrance"][0], r) for r in kindergartens.rows if r.get("entrance")]
    kg_xy = np.array([geo.to_m(*e) for e, _ in kg_entrances])

    def nearest_kg(pt: tuple[float, float]) -> float:
        x, y = geo.to_m(*pt)
        return float(np.min(np.hypot(kg_xy[:, 0] - x, kg_xy[:, 1] - y)))

    n = 0
    rows = data.rows

    # ---- on-street berths (市内五区) --------------------------------------------------------
    urban_kgs = [(e, r) for e, r in kg_entrances if r["district"] in URBAN_FIVE and r["status"] == "open"]
    order = rng.permutation(len(urban_kgs))
    near_fail = [urban_kgs[int(i)] for i in order[:9]]  # 20-45 m: PK-7 fails
    near_pass = [urban_kgs[int(i)] for i in order[9:21]]  # 60-150 m: allowed
    placements: list[tuple[str, tuple[float, float], str]] = []
    for e, r in near_fail:
        placements.append((r["district"], geo.near(e[0], e[1], r["district"], 20, 45), "near_fail"))
    for e, r in near_pass:
        placements.append(
            (
                r["district"],
                geo.near(e[0], e[1], r["district"], 60, 150, avoid=lambda p: nearest_kg(p) < 60),
                "near_pass",
            )
        )
    for key in weighted_area_keys(rng, ON_STREET_WEIGHTS, 150 - len(placements)):
        area = AREAS[key]
        for _ in range(1000):
            pt = geo.sample(area, sigma_m=area.sigma_m * 0.8)
            if nearest_kg(pt) >= 60:
                break
        placements.append((area.district, pt, "random"))
    for district, pt, how in placements:
        n += 1
        road = names.road(district)
        name = names.unique(road, "道路停车泊位（", SHORT[district], "段", NUMBERS[:19], "）")
        road_class = pick(rng, ["secondary", "branch", "arterial", "expressway"], [0.45, 0.43, 0.10, 0.02])
        if how != "random":
            road_class = pick(rng, ["secondary", "branch"])
        status = "open" if chance(rng, 0.94) else pick(rng, ["closed", "planned"])
        first = int(rng.integers(1, 250))
        row = base_row(
            "PK",
            n,
            name,
            district,
            pt,
            status,
            f"郑州市{district}{road}{first}号至{first + int(rng.integers(10, 60))}号路侧",
        )
        row.update(_empty_parking())
        row.update(
            {
                "parking_type": "on_street",
                "structure": "surface",
                "operator": f"{district}道路停车管理中心",
                "spaces": int(rng.integers(6, 41)),
                "operating": True,
                "fees": pick(rng, ["首小时2元，之后每小时1元", "白天每小时2元，夜间免费", "每半小时1元"]),
                "hours": pick(rng, ["07:00-21:00", "08:00-20:00", "全天"]),
                "platform_connected": not chance(rng, 0.15),
                "markings": not chance(rng, 0.08),
                "entrance_sign_complete": not chance(rng, 0.12),
                "fees_displayed": not chance(rng, 0.08),
                "tax_invoices": not chance(rng, 0.10),
                "mixed_parking": chance(rng, 0.08),
                "road_class": road_class,
                "on_sidewalk_or_green": chance(rng, 0.06) if how == "random" else False,
                "near_manhole": chance(rng, 0.04) if how == "random" else False,
                "on_fire_or_emergency_lane": chance(rng, 0.04) if how == "random" else False,
                "closure_notice_given": (not chance(rng, 0.4)) if status == "closed" else None,
            }
        )
        rows.append(row)

    # ---- off-street lots ------------------------------------------------------------------
    plan = [("public", 205), ("dedicated", 170), ("temporary", 80)]
    for ptype, count in plan:
        for key in weighted_area_keys(rng, URBAN_WEIGHTS, count):
            area = AREAS[key]
            n += 1
            pt = geo.sample(area)
            road = names.road(area.district)
            if ptype == "public":
                structure = pick(
                    rng, ["surface", "underground", "multi_storey", "mechanical"], [0.42, 0.25, 0.15, 0.18]
                )
                name = names.unique(road, "公共停车场（", SHORT[area.district], NUMBERS[:8], "号）")
                spaces = int(rng.integers(30, 600))
                operating = not chance(rng, 0.05)
            elif ptype == "dedicated":
                structure = pick(
                    rng, ["surface", "underground", "multi_storey", "mechanical"], [0.3, 0.5, 0.1, 0.1]
                )
                owner = pick(rng, ["小区", "商场", "医院", "单位"], [0.45, 0.25, 0.15, 0.15])
                label = {
                    "小区": f"{compound_name(rng)}小区",
                    "商场": f"{pick(rng, MALLS)}购物中心",
                    "医院": f"{SHORT[area.district]}{pick(rng, HOSPITAL_WORDS)}医院",
                    "单位": f"{pick(rng, COMPOUND_A)}大厦",
                }[owner]
                name = names.unique(label, "停车场")
                spaces = int(rng.integers(40, 1200))
                operating = chance(rng, 0.55)
            else:
                structure = "surface"
                name = names.unique(road, "临时停车场（", SHORT[area.district], NUMBERS[:8], "号）")
                spaces = int(rng.integers(20, 260))
                operating = not chance(rng, 0.1)
            status = pick(rng, ["open", "closed", "building", "planned"], [0.88, 0.06, 0.04, 0.02])
            active = status == "open"
            big = operating and spaces >= 100
            no_ev = chance(rng, (0.15 if big else 0.35) if ptype == "public" else (0.22 if big else 0.5))
            ev_spaces = 0 if no_ev else max(1, int(spaces * rng.uniform(0.03, 0.15)))
            ev_chargers = 0 if no_ev else max(1, int(ev_spaces * rng.uniform(0.6, 1.0)))
            licence = filing = None
            if operating and status in ("open", "closed"):
                licence = rand_date(rng, dt.date(2016, 1, 1), dt.date(2026, 6, 30))
                filing = licence + dt.timedelta(
                    days=int(rng.integers(25, 150) if chance(rng, 0.18) else rng.integers(2, 15))
                )
            entrances = [
                geo.near(pt[0], pt[1], area.district, 15, 80) for _ in range(int(rng.integers(1, 4)))
            ]
            row = base_row("PK", n, name, area.district, pt, status, names.address(area.district, road))
            row.update(_empty_parking())

            def lot_ok(p: float, active: bool = active) -> bool | None:
                return (not chance(rng, p)) if active else None

            row.update(
                {
                    "parking_type": ptype,
                    "structure": structure,
                    "operator": pick(rng, OPERATORS)
                    if operating or ptype != "dedicated"
                    else f"{name[:-3]}物业管理处",
                    "spaces": spaces,
                    "ev_spaces": ev_spaces,
                    "ev_chargers": ev_chargers,
                    "accessible_spaces": (0 if chance(rng, 0.1) else max(1, spaces // 100)),
                    "operating": operating,
                    "licence_date": licence,
                    "filing_date": filing,
                    "fees": pick(
                        rng,
                        ["首小时5元，之后每小时2元", "每小时3元，24小时封顶30元", "每次10元", "按政府指导价"],
                    )
                    if operating
                    else "免费",
                    "hours": pick(rng, ["全天", "06:00-24:00", "07:00-22:00"]),
                    "platform_connected": lot_ok(0.15),
                    "has_sign": lot_ok(0.04),
                    "hard_surface": lot_ok(0.03 if structure != "surface" else 0.10),
                    "markings": lot_ok(0.05),
                    "wheel_stops": lot_ok(0.08),
                    "ventilation_lighting_drainage": lot_ok(0.05),
                    "entrances_compliant": lot_ok(0.05),
                    "cctv": lot_ok(0.05),
                    "access_control": lot_ok(0.04),
                    "plate_recognition": lot_ok(0.07),
                    "fire_equipment": lot_ok(0.05),
                    "fire_lanes_clear": lot_ok(0.05),
                    "closure_notice_given": (not chance(rng, 0.4)) if status == "closed" else None,
                    "entrance_sign_complete": lot_ok(0.10),
                    "mechanical_inspected": (not chance(rng, 0.2))
                    if structure == "mechanical" and active
                    else None,
                    "mechanical_inspection_date": None,
                    "fees_displayed": lot_ok(0.06),
                    "tax_invoices": lot_ok(0.06) if operating else None,
                    "mixed_parking": chance(rng, 0.06) if active else None,
                    "entrances": entrances,
                }
            )
            if row["mechanical_inspected"] is not None:
                row["mechanical_inspection_date"] = (
                    rand_date(rng, dt.date(2024, 1, 1), AS_OF - dt.timedelta(days=400))
                    if chance(rng, 0.15)
                    else rand_date(rng, AS_OF - dt.timedelta(days=330), AS_OF - dt.timedelta(days=10))
                )
            rows.append(row)
    data.blank(rng, rate=0.07)
    return data


def _empty_parking() -> dict[str, Any]:
    return {name: None for name in spec_for(FacilityKind.PARKING_LOT).field_names}


# --------------------------------------------------------------------------- coverage report
# A compact reading of each rule, used only to document how the sample exercises DOMAIN.md
# (docs/SAMPLE_DATA.md).  The registry's compliance engine is the authority; where its reading
# differs (thresholds, which statuses count), the counts below shift but both outcomes remain.
PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"


def tri(*conds: bool | None) -> str:
    """``fail`` if any condition is False, ``unknown`` if any is None, else ``pass``."""
    if any(c is False for c in conds):
        return FAIL
    if any(c is None for c in conds):
        return UNKNOWN
    return PASS


def _ge(value: float | None, threshold: float) -> bool | None:
    return None if value is None else value >= threshold


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


@dataclass
class RuleTally:
    """Verdicts of one rule (or one sub-target) over the sample."""

    rule: str
    scope: str
    verdicts: dict[str, list[str]] = field(default_factory=lambda: {PASS: [], FAIL: [], UNKNOWN: []})

    def add(self, ident: str, verdict: str | None) -> None:
        """Record ``verdict`` for ``ident`` (``None`` = rule does not apply)."""
        if verdict is not None:
            self.verdicts[verdict].append(ident)

    def cells(self, examples: int = 3) -> list[str]:
        """Markdown cells: counts and a few example identifiers."""
        out = []
        for v in (PASS, FAIL, UNKNOWN):
            ids = self.verdicts[v]
            sample = ", ".join(ids[:examples]) + (" …" if len(ids) > examples else "")
            out.append(f"{len(ids)}" + (f" ({sample})" if ids else ""))
        return out


def _units_of(geo: Geo, rows: list[dict[str, Any]]) -> list[str | None]:
    return [geo.unit_of(r["lon"], r["lat"]) for r in rows]


def evaluate(geo: Geo, kinds: dict[FacilityKind, KindData]) -> list[RuleTally]:
    """Evaluate every rule of DOMAIN.md on the generated sample (the generator's own reading)."""
    tallies: list[RuleTally] = []

    def tally(rule: str, scope: str) -> RuleTally:
        t = RuleTally(rule, scope)
        tallies.append(t)
        return t

    year_ago = AS_OF - dt.timedelta(days=365)
    zones = ("郑州经济技术开发区", "郑州高新技术产业开发区", "郑州航空港经济综合实验区")
    counties = ("中牟县", "巩义市", "荥阳市", "新密市", "新郑市", "登封市")
    urban = ("中原区", "二七区", "管城回族区", "金水区", "上街区", "惠济区")

    # ---- museums
    mus = kinds[FacilityKind.MUSEUM].rows
    existing = [r for r in mus if r["status"] in ("open", "renovating")]
    units = _units_of(geo, existing)
    t = tally("MUS-1", "city + 15 census units; open/renovating museums; ≤ 100,000 residents each")
    total_pop = sum(geo.unit_pop.values())
    t.add("全市", PASS if len(existing) and total_pop / len(existing) <= 100_000 else FAIL)
    for unit, pop in geo.unit_pop.items():
        k = sum(1 for u in units if u == unit)
        t.add(unit, PASS if k and pop / k <= 100_000 else FAIL)

    def cat_counts(unit: str) -> tuple[int, int, int]:
        rows = [r for r, u in zip(existing, units) if u == unit]
        return (
            sum(r["category"] == "comprehensive" for r in rows),
            sum(r["category"] == "thematic" for r in rows),
            sum(r["category"] is None for r in rows),
        )

    t = tally("MUS-2", "6 counties / county-level cities (census units): ≥ 1 comprehensive + ≥ 2 thematic")
    for unit in counties:
        comp, them, unk = cat_counts(unit)
        missing = max(0, 1 - comp) + max(0, 2 - them)
        t.add(unit, PASS if missing == 0 else (UNKNOWN if missing <= unk else FAIL))
    t = tally("MUS-3", "6 urban districts + 3 zones with polygons: ≥ 2 thematic (郑东新区 has no polygon)")
    for unit in (*urban, *zones):
        _, them, unk = cat_counts(unit)
        t.add(unit, PASS if them >= 2 else (UNKNOWN if them + unk >= 2 else FAIL))
    t.add("郑东新区", UNKNOWN)

    def city_target(label: str, values: list[float | None], target: float, count: bool = False) -> None:
        known = sum(v for v in values if v is not None)
        unknown = sum(1 for v in values if v is None)
        tt = tally("MUS-4", label)
        verdict = PASS if known >= target else (UNKNOWN if unknown and not count else FAIL)
        if count and known < target and known + unknown >= target:
            verdict = UNKNOWN
        tt.add(f"全市 {known:,.0f} / {target:,.0f}", verdict)

    city_target(
        "≥ 100 new museums (opened 2019–2021)",
        [
            None
            if r["opened_year"] is None and r["status"] in ("open", "renovating")
            else float(r["opened_year"] is not None and 2019 <= r["opened_year"] <= 2021)
            for r in mus
        ],
        100,
        True,
    )
    city_target(
        "≥ 50 state/industry museums",
        [
            None if r["ownership"] is None else float(r["ownership"] in ("state", "industry"))
            for r in existing
        ],
        50,
        True,
    )
    city_target(
        "≥ 50 non-state museums",
        [None if r["ownership"] is None else float(r["ownership"] == "non_state") for r in existing],
        50,
        True,
    )
    city_target(
        "≥ 30 of national grade 3 or better",
        [None if r["grade"] is None else float(r["grade"] != "none") for r in existing],
        30,
        True,
    )
    city_target("≥ 300 exhibitions a year", [r["annual_exhibitions"] for r in existing], 300)
    city_target("≥ 20 million visits a year", [r["annual_visitors"] for r in existing], 20_000_000)

    t = tally("MUS-5", "4 clusters: count vs target (~20, ~20, ~10, ~10)")
    for cluster, target in (("绿博片区", 20), ("古荥大运河文化片区", 20), ("苑陵故城", 10), ("双湖片区", 10)):
        k = sum(1 for r in mus if r["cluster"] == cluster)
        t.add(f"{cluster} {k}/{target}", PASS if k >= target else FAIL)
    t = tally("MUS-6", "open/renovating museums: fire/security, storage, monitoring, display")
    for r in existing:
        t.add(
            r["external_id"],
            tri(
                r["fire_security_ok"],
                r["storage_equipment_ok"],
                r["environment_monitoring_ok"],
                r["display_ok"],
            ),
        )

    # ---- study rooms
    srs = kinds[FacilityKind.STUDY_ROOM].rows
    active = [r for r in srs if r["status"] in ("open", "trial")]
    checks: list[tuple[str, str, Callable[[dict[str, Any]], str | None]]] = [
        ("SR-1", "floor area ≥ 80 m²", lambda r: tri(_ge(r["floor_area_m2"], 80))),
        ("SR-2", "≥ 15 seats", lambda r: tri(_ge(r["seats"], 15))),
        ("SR-3", "≥ 3,000 volumes", lambda r: tri(_ge(r["volumes"], 3000))),
        ("SR-4", "open ≥ 15 h (or the whole 09:00–23:00 window) every day", _sr4),
        (
            "SR-5",
            "renewal ≥ 10 % (rooms open ≥ 1 year)",
            lambda r: (
                None
                if r["opened_date"] is not None and r["opened_date"] > year_ago
                else tri(_ge(r["annual_renewal_pct"], 10), None if r["opened_date"] is None else True)
            ),
        ),
        (
            "SR-6",
            "video + access control + networked",
            lambda r: tri(r["video_surveillance"], r["access_control"], r["security_networked"]),
        ),
        (
            "SR-7",
            "RFID, self-service, e-book machine, interoperable loans",
            lambda r: tri(r["rfid"], r["self_service_machine"], r["ebook_machine"], r["library_interop"]),
        ),
        ("SR-8", "≥ 100 Mbps + Wi-Fi", lambda r: tri(_ge(r["bandwidth_mbps"], 100), r["wifi"])),
        ("SR-9", "water, power, network", lambda r: tri(r["has_water"], r["has_power"], r["has_network"])),
        ("SR-10", "not a glass box", lambda r: tri(_not(r["glass_box"]))),
        ("SR-11", "own toilet", lambda r: tri(r["own_toilet"])),
        (
            "SR-12",
            "rented: clear title and lease ≥ 10 years",
            lambda r: (
                UNKNOWN
                if r["tenure"] is None
                else tri(r["title_clear"], _ge(r["lease_years"], 10))
                if r["tenure"] == "rented"
                else tri(r["title_clear"] if r["title_clear"] is not None else True)
            ),
        ),
        (
            "SR-13",
            "7 amenities",
            lambda r: tri(
                r["air_conditioning"],
                r["drinking_water"],
                r["first_aid_kit"],
                r["reading_glasses"],
                r["umbrellas"],
                r["accessible"],
                r["damp_fire_protection"],
            ),
        ),
        ("SR-14", "no road red-line space", lambda r: tri(_not(r["occupies_road_space"]))),
    ]
    for rule, scope, fn in checks:
        t = tally(rule, f"open/trial rooms: {scope}")
        for r in active:
            t.add(r["external_id"], fn(r))
    t = tally("SR-15", "≥ 3 rooms (not closed) per county-level unit and zone")
    live = [r for r in srs if r["status"] != "closed"]
    for d in ADCODES:
        k = sum(1 for r in live if r["district"] == d)
        t.add(f"{d} {k}", PASS if k >= 3 else FAIL)
    live_units = _units_of(geo, live)
    for z in zones:
        k = sum(1 for u in live_units if u == z)
        t.add(f"{z} {k}", PASS if k >= 3 else FAIL)
    t = tally("SR-16", "open rooms: no other room within 300 m (libraries/bookstores: no layer)")
    xy = [geo.to_m(r["lon"], r["lat"]) for r in active]
    for i, r in enumerate(active):
        dmin = min(math.hypot(xy[i][0] - x, xy[i][1] - y) for j, (x, y) in enumerate(xy) if j != i)
        t.add(r["external_id"], PASS if dmin >= 300 else FAIL)
    t = tally("SR-17", "open rooms: city-wide number and unified logo (evaluation figures are informative)")
    for r in active:
        t.add(r["external_id"], tri(r["unified_logo"], None if r["city_number"] is None else True))

    # ---- kindergartens
    kgs = kinds[FacilityKind.KINDERGARTEN].rows
    not_closed = [r for r in kgs if r["status"] != "closed"]
    t = tally("KG-1", "residential-supporting: public or inclusive, never for-profit")
    for r in not_closed:
        res, op = r["residential_supporting"], r["operator_type"]
        if res is False:
            continue
        if res is None:
            t.add(r["external_id"], UNKNOWN if op in (None, "for_profit") else PASS)
        else:
            t.add(r["external_id"], UNKNOWN if op is None else (FAIL if op == "for_profit" else PASS))
    t = tally("KG-2", "residential-supporting: handed over by 2019-06-30 (later deadlines passed by 2026)")
    for r in not_closed:
        if r["residential_supporting"] is not True:
            continue
        stage, date = r["supporting_stage"], r["handed_over_date"]
        if stage in ("handed_over", "in_use"):
            t.add(
                r["external_id"],
                UNKNOWN if date is None else (PASS if date <= dt.date(2019, 6, 30) else FAIL),
            )
        else:
            t.add(r["external_id"], UNKNOWN if stage is None else FAIL)
    t = tally("KG-3", "unlicensed: disposition; rectified by 2019-07-31, closed by 2019-08-31")
    for r in kgs:
        if r["licensed"] is True or (r["licensed"] is None and r["status"] != "open"):
            continue
        if r["licensed"] is None:
            t.add(r["external_id"], UNKNOWN)
            continue
        disp, date = r["disposition"], r["disposition_date"]
        if disp is None:
            t.add(r["external_id"], FAIL)
        elif disp == "rectify":
            t.add(
                r["external_id"],
                UNKNOWN if date is None else (PASS if date <= dt.date(2019, 7, 31) else FAIL),
            )
        elif disp == "close":
            if r["status"] != "closed":
                t.add(r["external_id"], FAIL)
            else:
                t.add(
                    r["external_id"],
                    UNKNOWN if date is None else (PASS if date <= dt.date(2019, 8, 31) else FAIL),
                )
        else:
            t.add(r["external_id"], PASS)
    operating = [r for r in kgs if r["status"] == "open"]
    t = tally("KG-4", "operating: guards, barriers (where installable), video, closed management, alarm")
    for r in operating:
        barrier = (
            True
            if r["anti_ramming"]
            else (
                False
                if r["anti_ramming_installable"] is True
                else None
                if r["anti_ramming"] is None or r["anti_ramming_installable"] is None
                else True
            )
        )
        t.add(
            r["external_id"],
            tri(r["guards"], barrier, r["entrance_video"], r["closed_management"], r["alarm_linked"]),
        )
    t = tally("KG-5", "operating: licence, legal person, food licence if meals, health evaluation")
    for r in operating:
        food = (
            True
            if r["serves_meals"] is False
            else (r["food_licence"] if r["serves_meals"] else (True if r["food_licence"] else None))
        )
        t.add(
            r["external_id"],
            tri(r["operating_licence"], r["legal_person_registered"], food, r["health_evaluation"]),
        )
    t = tally("KG-6", "modelled 250 m grid cells with people: a kindergarten within 300 m (aggregated)")
    for ident, verdict in _kg6(geo, kgs):
        t.add(ident, verdict)
    t = tally("KG-7", "entertainment venues / internet cafés within 200 m: no such layer")
    for r in operating:
        t.add(r["external_id"], UNKNOWN)

    # ---- elevators
    els = kinds[FacilityKind.ELEVATOR].rows
    scoped = [r for r in els if r["private_single_family"] is not True and r["status"] != "scrapped"]
    frequent = 5
    t = tally("EL-1", "registered; re-registered after modification")
    for r in scoped:
        t.add(
            r["external_id"],
            tri(
                r["registered"],
                None if r["modified"] is None else (r["re_registered"] if r["modified"] else True),
            ),
        )

    def el2(r: dict[str, Any]) -> str:
        if r["status"] == "suspended":
            return PASS
        d, res = r["last_inspection_date"], r["inspection_result"]
        return tri(None if d is None else d >= year_ago, None if res is None else res == "pass")

    t = tally("EL-2", "in use: inspected within 1 year and passed (suspended ones pass)")
    for r in scoped:
        t.add(r["external_id"], el2(r))
    t = tally(
        "EL-3", f"assessment after frequent faults (≥ {frequent}/12 months), disaster or design life; posted"
    )
    for r in scoped:
        t.add(r["external_id"], _el3(r, frequent))
    simple = [
        (
            "EL-4",
            "monitoring device connected to the city platform",
            lambda r: tri(r["monitoring_device"], r["platform_connected"]),
        ),
        ("EL-5", "emergency alarm effective", lambda r: tri(r["emergency_alarm_ok"])),
        (
            "EL-6",
            "notices posted + liability insurance",
            lambda r: tri(r["notices_posted"], r["liability_insurance"]),
        ),
        ("EL-7", "safety manager on duty", lambda r: tri(r["safety_manager_on_duty"])),
        (
            "EL-8",
            "qualified maintainer, no subcontracting, records ≥ 4 years, confirmed",
            lambda r: tri(
                r["maintenance_qualified"],
                _not(r["maintenance_subcontracted"]),
                _ge(r["records_kept_years"], 4),
                r["records_confirmed"],
            ),
        ),
    ]
    for rule, scope, fn in simple:
        t = tally(rule, scope)
        for r in scoped:
            t.add(r["external_id"], fn(r))
    t = tally("EL-9", "suspended: reason posted")
    for r in scoped:
        if r["status"] == "suspended":
            t.add(r["external_id"], tri(r["suspension_reason_posted"]))
    t = tally(
        "EL-10", "public gathering places (priority spot checks): inspection current, faults not frequent"
    )
    for r in scoped:
        if r["public_gathering"] is False:
            continue
        if r["public_gathering"] is None:
            t.add(r["external_id"], UNKNOWN)
            continue
        t.add(
            r["external_id"],
            tri(
                el2(r) == PASS if el2(r) != UNKNOWN else None,
                None if r["faults_12m"] is None else r["faults_12m"] < frequent,
            ),
        )
    t = tally("EL-11", "scope (advisory, cannot fail): private single-family out unless in public use")
    for r in els:
        p = r["private_single_family"]
        if p is True and r["public_gathering"] is not True:
            continue  # outside the regulation (Art.33): not applicable
        t.add(r["external_id"], UNKNOWN if p is None else PASS)

    # ---- parking
    pks = kinds[FacilityKind.PARKING_LOT].rows
    open_lots = [r for r in pks if r["status"] == "open"]
    t = tally("PK-1", "open public lots: the Art.18 checklist (14 items)")
    for r in open_lots:
        if r["parking_type"] == "public":
            t.add(
                r["external_id"],
                tri(
                    r["has_sign"],
                    r["hard_surface"],
                    r["markings"],
                    r["wheel_stops"],
                    r["ventilation_lighting_drainage"],
                    r["entrances_compliant"],
                    r["cctv"],
                    r["access_control"],
                    r["plate_recognition"],
                    r["fire_equipment"],
                    r["fire_lanes_clear"],
                    _ge(r["ev_spaces"], 1),
                    _ge(r["ev_chargers"], 1),
                    _ge(r["accessible_spaces"], 1),
                ),
            )
    t = tally("PK-2", "operating off-street lots ≥ 100 spaces: EV bays and chargers")
    for r in pks:
        if (
            r["parking_type"] == "on_street"
            or r["status"] not in ("open", "closed")
            or r["operating"] is False
        ):
            continue
        if r["spaces"] is not None and r["spaces"] < 100:
            continue
        if r["spaces"] is None or r["operating"] is None:
            t.add(r["external_id"], UNKNOWN)
        else:
            t.add(r["external_id"], tri(_ge(r["ev_spaces"], 1), _ge(r["ev_chargers"], 1)))
    t = tally("PK-3", "operating off-street lots: filed within 15 days of the business licence")
    for r in pks:
        if (
            r["parking_type"] == "on_street"
            or r["operating"] is not True
            or r["status"] not in ("open", "closed")
        ):
            continue
        lic, fil = r["licence_date"], r["filing_date"]
        t.add(
            r["external_id"],
            UNKNOWN if lic is None or fil is None else (PASS if (fil - lic).days <= 15 else FAIL),
        )
    t = tally("PK-4", "closed lots: 30 days' notice")
    for r in pks:
        if r["status"] == "closed":
            t.add(r["external_id"], tri(r["closure_notice_given"]))
    t = tally("PK-5", "open operating lots: entrance sign, fees and hours, live on the city platform")
    for r in open_lots:
        if r["operating"] is not False:
            t.add(
                r["external_id"],
                tri(
                    r["entrance_sign_complete"],
                    r["platform_connected"],
                    None if r["fees"] is None else True,
                    None if r["hours"] is None else True,
                ),
            )
    t = tally("PK-6", "open mechanical lots: inspected, within the last year")
    for r in open_lots:
        if r["structure"] == "mechanical":
            d = r["mechanical_inspection_date"]
            t.add(r["external_id"], tri(r["mechanical_inspected"], None if d is None else d >= year_ago))
    t = tally("PK-7", "open on-street berths: location bans incl. ≥ 50 m from kindergarten entrances")
    kg_xy = np.array([geo.to_m(*r["entrance"][0]) for r in kgs if r.get("entrance")])
    for r in open_lots:
        if r["parking_type"] != "on_street":
            continue
        x, y = geo.to_m(r["lon"], r["lat"])
        gap = float(np.min(np.hypot(kg_xy[:, 0] - x, kg_xy[:, 1] - y)))
        rc = r["road_class"]
        t.add(
            r["external_id"],
            tri(
                _not(r["on_sidewalk_or_green"]),
                _not(r["near_manhole"]),
                _not(r["on_fire_or_emergency_lane"]),
                None if rc is None else rc not in ("expressway", "arterial"),
                gap >= 50,
            ),
        )
    t = tally("PK-8", "open off-street lots: the 135号 checklist")
    for r in open_lots:
        if r["parking_type"] == "on_street":
            continue
        t.add(
            r["external_id"],
            tri(
                None if r["filing_date"] is None else True,
                r["fire_equipment"],
                r["entrances_compliant"],
                r["markings"],
                r["fire_lanes_clear"],
                r["fees_displayed"],
                r["tax_invoices"] if r["operating"] else True,
                r["entrance_sign_complete"],
                _not(r["mixed_parking"]),
            ),
        )
    return tallies


def _sr4(r: dict[str, Any]) -> str:
    o, c = r["opens_at"], r["closes_at"]
    span = None
    if o is not None and c is not None:
        hours = (c.hour * 60 + c.minute - o.hour * 60 - o.minute) / 60
        span = hours >= 15 or (o <= dt.time(9, 0) and c >= dt.time(23, 0))
    return tri(span, r["open_every_day"])


def _el3(r: dict[str, Any], frequent: int) -> str:
    triggers: list[dt.date] = []
    unknown_input = False
    if r["faults_12m"] is None:
        unknown_input = True
    elif r["faults_12m"] >= frequent:
        triggers.append(AS_OF - dt.timedelta(days=365))
    if r["disaster_exposure"] is None:
        unknown_input = True
    elif r["disaster_exposure"] != "无":
        if r["disaster_date"] is None:
            unknown_input = True
        else:
            triggers.append(r["disaster_date"])
    if r["installation_date"] is None or r["design_life_years"] is None:
        unknown_input = True
    elif add_years(r["installation_date"], r["design_life_years"]) <= AS_OF:
        triggers.append(add_years(r["installation_date"], r["design_life_years"]))
    if not triggers:
        return UNKNOWN if unknown_input else PASS
    a = r["last_assessment_date"]
    if a is None:
        return UNKNOWN
    return tri(a >= max(triggers), r["assessment_posted"])


def _kg6(geo: Geo, kgs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Populated cells of ``data/population_grid_250m.csv.gz`` with / without a kindergarten in 300 m."""
    grid = DATA_DIR / "population_grid_250m.csv.gz"
    if not grid.exists():
        return []
    import pandas as pd

    cells = pd.read_csv(grid)
    cells = cells[cells["population"] >= 1]
    x, y = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(
        cells["lon"].to_numpy(), cells["lat"].to_numpy()
    )
    pts = np.array([geo.to_m(r["lon"], r["lat"]) for r in kgs if r["status"] != "closed"])
    covered = np.zeros(len(x), dtype=bool)
    for px, py in pts:
        covered |= np.hypot(x - px, y - py) <= 300
    pop = cells["population"].to_numpy()
    return [
        (f"{int(covered.sum()):,} cells, {pop[covered].sum():,.0f} people", PASS),
        (f"{int((~covered).sum()):,} cells, {pop[~covered].sum():,.0f} people", FAIL),
    ]


def report(geo: Geo, kinds: dict[FacilityKind, KindData]) -> str:
    """Markdown: counts per kind and district, blank shares, and the rule coverage table."""
    lines = ["## Counts per district", ""]
    districts = list(ADCODES)
    order = [
        FacilityKind.MUSEUM,
        FacilityKind.STUDY_ROOM,
        FacilityKind.KINDERGARTEN,
        FacilityKind.ELEVATOR,
        FacilityKind.PARKING_LOT,
    ]
    lines.append("| district | " + " | ".join(k.value for k in order) + " |")
    lines.append("|---|" + "---:|" * len(order))
    for d in districts:
        lines.append(
            f"| {d} | "
            + " | ".join(str(sum(r["district"] == d for r in kinds[k].rows)) for k in order)
            + " |"
        )
    lines.append("| **total** | " + " | ".join(f"**{len(kinds[k].rows)}**" for k in order) + " |")
    lines += [
        "",
        "## Empty kind-specific cells",
        "",
        "| kind | cells | empty (all) | applicable values | blanked as unknown |",
        "|---|---:|---:|---:|---:|",
    ]
    for k in order:
        kd = kinds[k]
        names = spec_for(k).field_names
        cells = len(kd.rows) * len(names)
        empty = sum(r[n] is None for r in kd.rows for n in names)
        share = f"{kd.blanked} ({kd.blanked / kd.applicable:.0%})" if kd.applicable else "–"
        lines.append(f"| {k.value} | {cells} | {empty} ({empty / cells:.0%}) | {kd.applicable} | {share} |")
    lines += [
        "",
        "## Rule coverage (generator's reading, as of " + AS_OF.isoformat() + ")",
        "",
        "| rule | scope | pass | fail | unknown |",
        "|---|---|---|---|---|",
    ]
    for t in evaluate(geo, kinds):
        lines.append(f"| {t.rule} | {t.scope} | " + " | ".join(t.cells()) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def generate() -> tuple[Geo, dict[FacilityKind, KindData]]:
    """Generate every kind (deterministically) and return them with the geography used."""
    rng = np.random.default_rng(SEED)
    geo = Geo(rng)
    museums = make_museums(rng, geo)
    study_rooms = make_study_rooms(rng, geo)
    kindergartens = make_kindergartens(rng, geo)
    elevators = make_elevators(rng, geo, kindergartens)
    parking = make_parking(rng, geo, kindergartens)
    return geo, {d.kind: d for d in (museums, study_rooms, parking, elevators, kindergartens)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output", type=Path, default=OUT_DIR, help="folder for <kind>.csv (default data/sample)"
    )
    parser.add_argument("--report", action="store_true", help="print counts and per-rule coverage (Markdown)")
    args = parser.parse_args(argv)
    geo, kinds = generate()
    for data in kinds.values():
        path = write_csv(data, args.output)
        shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
        print(f"{shown}: {len(data.rows)} rows")
    if args.report:
        print(report(geo, kinds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
