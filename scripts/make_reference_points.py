"""Generate ``data/sample/reference_points.csv``: a small SYNTHETIC reference layer for the sample.

The shipped sample has kindergartens but no intersections, bus stops, school or
hospital entrances, institution or residential entrances, entertainment venues
or libraries, so PK-7 and KG-7 could never pass (nothing was searched) and KG-7
never fail.  This script places a handful of invented points, deterministically,
next to chosen sample facilities:

* one point of each PK-7 layer 10–40 m from a chosen on-street berth whose
  attributes are clean (so that berth fails PK-7 *because of* that point), and one
  more of each layer in a county seat, far from every berth;
* three venues 120–180 m from three kindergartens (two entertainment venues, one
  internet café: KG-7 fails there) and two far from every kindergarten;
* two public libraries and two bookstores near study rooms (SR-16 reports the nearest).

Every point is checked to lie within its rule's distance of its target only, and
outside it for every other berth / kindergarten.  Names end in （合成）; the loader
flags them ``is_synthetic``.

    .venv/bin/python scripts/make_reference_points.py     # writes data/sample/reference_points.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pyproj import Geod

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
GEOD = Geod(ellps="WGS84")

PK7 = (  # layer, distance to the berth (m), limit of Art.28 (m), name
    ("intersection", 35.0, 50.0, "示例路与示例街交叉口"),
    ("bus_stop", 30.0, 50.0, "示例公交站"),
    ("hospital", 40.0, 50.0, "示例社区医院出入口"),
    ("school", 25.0, 50.0, "示例小学出入口"),
    ("institution_entrance", 10.0, 15.0, "示例单位大门"),
    ("residential_entrance", 12.0, 15.0, "示例小区出入口"),
)
VENUES = ((120.0, "entertainment", "示例KTV"), (150.0, "internet_cafe", "示例网吧"),
          (180.0, "entertainment", "示例游戏厅"))
FAR_DISTRICTS = ("登封市", "巩义市", "新密市", "荥阳市", "新郑市", "中牟县")
BEARINGS = (45.0, 135.0, 225.0, 315.0, 0.0, 90.0, 180.0, 270.0)
FIRST_BERTH = "SAMPLE-PK-0022"  # 0001–0021 are the sample's own kindergarten-distance cases


def _read(kind: str) -> list[dict[str, str]]:
    with (SAMPLE / f"{kind}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _xy(row: dict[str, str]) -> tuple[float, float]:
    return float(row["lon"]), float(row["lat"])


def _entrance(row: dict[str, str]) -> tuple[float, float]:
    text = row.get("entrance") or ""
    if text:
        lon, lat = text.split(",")
        return float(lon), float(lat)
    return _xy(row)


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def _move(p: tuple[float, float], bearing: float, metres: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(p[0], p[1], bearing, metres)
    return round(lon, 6), round(lat, 6)


def _district_of(p: tuple[float, float], rooms: list[dict[str, str]]) -> str:
    """District of the study room nearest to ``p`` (for the point's name)."""
    return min(rooms, key=lambda r: _dist(p, _xy(r)))["district"]


def _clean_berths(lots: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        r for r in lots
        if r["parking_type"] == "on_street" and r["status"] == "open" and r["external_id"] >= FIRST_BERTH
        and r["on_sidewalk_or_green"] == "false" and r["near_manhole"] == "false"
        and r["on_fire_or_emergency_lane"] == "false" and r["road_class"] in ("secondary", "branch")
    ]


def _place(target: tuple[float, float], metres: float, limit: float, others: list[tuple[float, float]],
           margin: float) -> tuple[float, float] | None:
    """A point ``metres`` from ``target`` and farther than ``limit + margin`` from every other point."""
    for bearing in BEARINGS:
        p = _move(target, bearing, metres)
        if _dist(p, target) <= limit and all(_dist(p, o) > limit + margin for o in others):
            return p
    return None


def build() -> list[dict[str, str]]:
    lots, kgs, rooms = _read("parking_lot"), _read("kindergarten"), _read("study_room")
    berths = [r for r in lots if r["parking_type"] == "on_street"]
    berth_xy = [_xy(r) for r in berths]
    kg_entrances = [_entrance(r) for r in kgs]
    out: list[dict[str, str]] = []
    candidates = iter(_clean_berths(lots))
    for layer, metres, limit, name in PK7:
        for berth in candidates:
            target = _xy(berth)
            if any(_dist(target, k) <= 80 for k in kg_entrances):
                continue
            others = [xy for r, xy in zip(berths, berth_xy) if r["external_id"] != berth["external_id"]]
            p = _place(target, metres, limit, others, margin=20.0)
            if p is None:
                continue
            out.append({"layer": layer, "lon": f"{p[0]:.6f}", "lat": f"{p[1]:.6f}",
                        "name": f"{name}（{berth['external_id']} 旁，合成）", "category": "",
                        "target": berth["external_id"], "distance_m": f"{_dist(p, target):.1f}"})
            break
        else:
            raise SystemExit(f"no berth found for layer {layer}")
    far_rooms = [r for r in rooms if r["district"] in FAR_DISTRICTS]
    for i, (layer, _m, limit, name) in enumerate(PK7):
        room = far_rooms[i % len(far_rooms)]
        p = _move(_xy(room), BEARINGS[i % len(BEARINGS)], 150.0 + 20 * i)
        assert all(_dist(p, b) > 300 for b in berth_xy), layer
        out.append({"layer": layer, "lon": f"{p[0]:.6f}", "lat": f"{p[1]:.6f}",
                    "name": f"{name}（{room['district']}，合成）", "category": "", "target": "",
                    "distance_m": ""})
    kg_xy = [_xy(r) for r in kgs]
    chosen = 0
    for kg, xy in zip(kgs, kg_xy):
        if chosen == len(VENUES):
            break
        if kg["status"] != "open":
            continue
        metres, category, name = VENUES[chosen]
        others = [o for o in kg_xy if o != xy]
        p = _place(xy, metres, 200.0, others, margin=50.0)
        if p is None:
            continue
        out.append({"layer": "venue", "lon": f"{p[0]:.6f}", "lat": f"{p[1]:.6f}",
                    "name": f"{name}（{kg['external_id']} 附近，合成）", "category": category,
                    "target": kg["external_id"], "distance_m": f"{_dist(p, xy):.1f}"})
        chosen += 1
    spots = (_move(_xy(room), bearing, 400.0) for room in reversed(far_rooms) for bearing in BEARINGS)
    far = [p for p in spots if all(_dist(p, k) > 500 for k in kg_xy)]
    for i, (category, name) in enumerate((("entertainment", "示例歌舞厅"), ("internet_cafe", "示例网咖"))):
        p = far[i * 9]
        room = {"district": _district_of(p, far_rooms)}
        out.append({"layer": "venue", "lon": f"{p[0]:.6f}", "lat": f"{p[1]:.6f}",
                    "name": f"{name}（{room['district']}，合成）", "category": category, "target": "",
                    "distance_m": ""})
    for i, (layer, name, metres) in enumerate((("public_library", "示例区图书馆", 350.0),
                                               ("public_library", "示例县图书馆", 600.0),
                                               ("bookstore", "示例书店", 250.0),
                                               ("bookstore", "示例书局", 900.0))):
        room = rooms[(7 * i + 3) % len(rooms)]
        p = _move(_xy(room), BEARINGS[i], metres)
        out.append({"layer": layer, "lon": f"{p[0]:.6f}", "lat": f"{p[1]:.6f}",
                    "name": f"{name}（{room['external_id']} 附近，合成）", "category": "", "target": "",
                    "distance_m": ""})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=SAMPLE / "reference_points.csv")
    args = parser.parse_args(argv)
    rows = build()
    with args.output.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["layer", "lon", "lat", "name", "category", "synthetic", "target",
                                                "distance_m"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "synthetic": "true"})
    print(f"wrote {len(rows)} synthetic reference points to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
