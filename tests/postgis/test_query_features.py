"""The JSON API's feature path (``run_features``): the same answers as the general path (``run`` + ``feature``).

``run_features`` lets PostgreSQL write the properties as JSON text and, for the
common shapes, reuses one compiled SQL text per shape with new parameter
values.  Every test here compares it with the general path on the same data,
including several queries of one shape in a row (so a value frozen into the
cached SQL would show), and checks the safety check of the per-shape cache.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from sqlalchemy import literal
from sqlalchemy.orm import Session

from registry import query as ql
from registry.kinds import KIND_SPECS, FacilityKind
from registry.kinds.values import format_canonical
from tests.postgis.test_query import CENTRE, add, ring_points

NEAR = f"{CENTRE[0]},{CENTRE[1]}"
FAR = "113.60,34.80"


def general(session: Session, q: ql.Query) -> tuple[list[dict[str, Any]], int, int | None, int | None]:
    result = ql.run(session, q)
    features = [json.loads(json.dumps(ql.feature(r), ensure_ascii=False, default=str)) for r in result.rows]
    return features, result.number_matched, result.next_offset, result.prev_offset


def fast(session: Session, q: ql.Query) -> tuple[list[dict[str, Any]], int, int | None, int | None]:
    page = ql.run_features(session, q)
    return [json.loads(t) for t in page.features], page.number_matched, page.next_offset, page.prev_offset


def params(**kw: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in kw.items()}


@pytest.fixture()
def mixed(session: Session) -> None:
    """Facilities of every kind around CENTRE, with attributes (times, dates, point lists, unknowns)."""
    add(session, "kindergarten", ring_points(600.0, n=40, seed=31), operator_type=["public", "for_profit", None] * 13
        + ["public"] * 33, entrance=["SRID=4326;POINT(113.6655 34.758)", None] * 36)
    add(session, "parking_lot", ring_points(600.0, n=40, seed=32), spaces=list(range(72)),
        entrances=["SRID=4326;MULTIPOINT((113.66 34.75),(113.6612345 34.7512345))", None, None] * 24)
    add(session, "study_room", ring_points(600.0, n=30, seed=33), seats=[10, None] * 31)
    add(session, "elevator", ring_points(600.0, n=30, seed=34))
    add(session, "museum", ring_points(600.0, n=20, seed=35))


# Queries of the common shapes, two or three per shape with different values (the cached SQL is reused).
FAST_SHAPES = [
    [params(near=NEAR, radius="500"), params(near=FAR, radius="3000"), params(near=NEAR, radius="900", limit="7",
                                                                                 offset="5")],
    [params(near=NEAR, radius="800", kind="kindergarten"), params(near=FAR, radius="2500", kind="kindergarten")],
    [params(near=NEAR, radius="800", kind="parking_lot,study_room", status="open"),
     params(near=NEAR, radius="700", kind="study_room,parking_lot", status="open,closed")],
    [params(near=NEAR, radius="700", distance="projected"), params(near=FAR, radius="4000", distance="projected")],
    [params(nearest=NEAR, k="10"), params(nearest=FAR, k="10", limit="3", offset="2")],
    [params(nearest=NEAR, k="5", kind="elevator", max_distance="400"),
     params(nearest=FAR, k="5", kind="elevator", max_distance="3000")],
    [params(bbox="113.66,34.755,113.67,34.76"), params(bbox="113.5,34.6,113.8,34.9", limit="250", offset="40")],
    [params(district="金水区", kind="parking_lot"), params(district="金水区,二七区", kind="parking_lot", limit="30")],
    [params(near=NEAR, radius="900", crs="gcj02"), params(nearest=NEAR, k="10", crs="bd09")],
    [params(near=NEAR, radius="1", kind="museum")],  # empty page: the total comes from the count statement
]

GENERAL_SHAPES = [
    params(near=NEAR, radius="900", where="seats<15"),
    params(near=NEAR, radius="900", sort="-distance"),
    params(nearest=NEAR, k="8", sort="kind"),
    params(within="金水区", kind="parking_lot", where="spaces>=30"),
    params(kind="study_room", filter="seats IS NULL OR seats < 20", sort="-seats"),
    params(kind="kindergarten", where="operator_type=公办"),
]


@pytest.mark.parametrize("queries", FAST_SHAPES, ids=lambda qs: "&".join(qs[0]))
def test_common_shapes_give_the_general_answer_and_use_the_compiled_sql(session: Session, mixed: None,
                                                                          queries: list[dict[str, list[str]]]) -> None:
    for raw in queries:
        q = ql.parse_params(raw)
        assert fast(session, q) == general(session, q), raw
        key = ql._shape_key(q)
        assert key is not None and ql._fast_cache.get(key) is not None, f"{raw} fell back to the general path"


def raw_reader(session: Session) -> ql.Reader:
    """Reads like the JSON API's read pool (``$n`` SQL on a RawCursor), on the test's own connection."""
    dbapi = session.connection().connection.driver_connection

    def read(sql: str, args: list[Any]) -> list[Any]:
        assert "%(" not in sql and "$1" in sql
        with psycopg.RawCursor(dbapi) as cur:
            return cur.execute(sql, args).fetchall()

    return read


@pytest.mark.parametrize("queries", FAST_SHAPES, ids=lambda qs: "&".join(qs[0]))
def test_common_shapes_read_with_dollar_placeholders_give_the_general_answer(session: Session, mixed: None,
                                                                           queries: list[dict[str, list[str]]]
                                                                           ) -> None:
    for raw in queries:
        q = ql.parse_params(raw)
        page = ql.run_features(session, q, raw_reader(session))
        got = [json.loads(t) for t in page.features], page.number_matched, page.next_offset, page.prev_offset
        assert got == general(session, q), raw


def test_dollar_form_numbers_each_name_once() -> None:
    sql, names = ql._dollar_form("SELECT %(lon)s, %(lat)s, f(%(lon)s) WHERE a LIKE 'x%%' LIMIT %(limit)s")
    assert sql == "SELECT $1, $2, f($1) WHERE a LIKE 'x%' LIMIT $3"
    assert names == ("lon", "lat", "limit")


def test_fast_statement_binds_the_values_of_the_query(session: Session) -> None:
    q = ql.parse_params(params(near=NEAR, radius="750", kind="museum,elevator", limit="9", offset="4"))
    sql, args = ql.fast_statement(q, ql._resolve(session, q)) or ("", [])
    named_sql, values = ql._fast_sql(q, ql._resolve(session, q)) or ("", {})
    dollar_sql, names = ql._dollar_form(named_sql)
    assert sql == dollar_sql and "%(" not in sql
    assert args == [values[n] for n in names]
    assert set(names) == set(values)
    assert 750.0 in args and 9 in args and 4 in args and ["museum", "elevator"] in args


@pytest.mark.parametrize("raw", GENERAL_SHAPES, ids=lambda r: "&".join(r))
def test_other_shapes_give_the_general_answer(session: Session, mixed: None, raw: dict[str, list[str]]) -> None:
    q = ql.parse_params(raw)
    assert ql._shape_key(q) is None
    got = fast(session, q)
    assert got == general(session, q)
    assert got[0], "the comparison needs rows"


def test_paging_through_a_radius_with_the_feature_path(session: Session, mixed: None) -> None:
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        q = ql.parse_params(params(near=NEAR, radius="600", where="source=test-query", limit="13",
                                   offset=str(offset)))
        features, matched, offset, _ = fast(session, q)
        seen += [f["id"] for f in features]
    everything = ql.run(session, ql.parse_params(params(near=NEAR, radius="600", where="source=test-query",
                                                        limit="10000")))
    assert seen == [r["id"] for r in everything.rows]
    assert len(seen) == len(set(seen)) == matched == everything.number_matched > 13 * 5


def test_point_lists_are_canonical_text_everywhere(session: Session) -> None:
    (lot,) = add(session, "parking_lot", [CENTRE], entrances="SRID=4326;MULTIPOINT((113.66 34.75),(113.6612345 34.7512345))")
    (kg,) = add(session, "kindergarten", [CENTRE], entrance="SRID=4326;POINT(113.6655 34.758)")
    want_lot = format_canonical(next(f for f in KIND_SPECS[FacilityKind.PARKING_LOT].fields if f.name == "entrances"),
                                [(113.66, 34.75), (113.6612345, 34.7512345)])
    assert want_lot == "113.660000,34.750000;113.661235,34.751235"
    q = ql.parse_params(params(near=NEAR, radius="5", where="source=test-query"))
    rows = {r["id"]: r for r in ql.run(session, q).rows}
    assert rows[lot]["attributes"]["entrances"] == want_lot
    assert rows[kg]["attributes"]["entrance"] == "113.665500,34.758000"
    feats = {f["id"]: f for f in fast(session, q)[0]}
    assert feats[lot]["properties"]["entrances"] == want_lot
    assert feats[kg]["properties"]["entrance"] == "113.665500,34.758000"
    assert want_lot in ql.to_csv(list(rows.values()), ())


def test_the_shape_check_refuses_a_value_frozen_into_the_sql(session: Session, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    q = ql.parse_params(params(near=NEAR, radius="321", kind="museum"))
    res = ql._resolve(session, q)
    assert ql._compile_shape(q, res) is not None
    real_float = ql._float

    def anonymous_radius(name: str, value: float) -> Any:  # a radius that is not a named parameter
        return literal(float(value)) if name == "radius" else real_float(name, value)

    monkeypatch.setattr(ql, "_float", anonymous_radius)
    assert ql._compile_shape(q, res) is None
    monkeypatch.setattr(ql, "_float", real_float)
    monkeypatch.setattr(ql, "_variable_values", lambda q, res: {"limit": q.limit})  # values it does not bind
    assert ql._compile_shape(q, res) is None


def test_nearest_k_is_a_number_in_the_sql(session: Session) -> None:
    # with "LIMIT $1" PostgreSQL's cached generic plan assumed 10 % of the table and sorted all of it
    q = ql.parse_params(params(nearest=NEAR, k="17"))
    sql, values = ql._fast_sql(q, ql._resolve(session, q))
    assert "LIMIT 17" in sql and 17 not in values.values()
