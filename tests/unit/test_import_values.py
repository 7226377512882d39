"""Messy cell values: booleans, numbers with units, dates, times, enums, points."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from registry.importer.values import (
    ValueProblem,
    clean_cell,
    make_enum_parser,
    parse_bool,
    parse_column,
    parse_date,
    parse_int,
    parse_points,
    parse_time,
    parser_for,
)
from registry.kinds import spec_for


@pytest.mark.parametrize("text,expected", [("是", True), ("否", False), ("Y", True), ("n", False), ("TRUE", True),
                                           ("false", False), ("1", True), ("0", False), ("√", True), ("有", True)])
def test_booleans(text: str, expected: bool) -> None:
    assert parse_bool(text) is expected


def test_bad_boolean_says_what_is_expected() -> None:
    with pytest.raises(ValueProblem) as err:
        parse_bool("maybe")
    assert err.value.code == "bool" and "是/否" in err.value.zh and "yes/no" in err.value.en


@pytest.mark.parametrize("text", ["2019-06-30", "2019/6/30", "2019.6.30", "2019年6月30日", "2019 年 6 月 30 日",
                                  "20190630", "2019-06-30 00:00:00", "２０１９－０６－３０"])
def test_dates(text: str) -> None:
    assert parse_date(text) == dt.date(2019, 6, 30)


@pytest.mark.parametrize("text", ["2019/13/01", "30.6.2019", "yesterday", "1850-01-01"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValueProblem):
        parse_date(text)


def test_numbers_with_units_and_grouping() -> None:
    assert parse_int("1,200") == 1200
    assert parse_int("3000册") == 3000
    assert parse_int("15.0") == 15
    assert parser_for(spec_for("study_room").field("floor_area_m2"))("120㎡") == 120.0
    with pytest.raises(ValueProblem):
        parse_int("1.5")
    with pytest.raises(ValueProblem):
        parse_int("十五")
    with pytest.raises(ValueProblem):
        parse_int("99999999999")


def test_ranges_seats_not_negative_area_positive() -> None:
    seats = parser_for(spec_for("study_room").field("seats"))
    area = parser_for(spec_for("study_room").field("floor_area_m2"))
    assert seats("0") == 0
    with pytest.raises(ValueProblem) as err:
        seats("-3")
    assert err.value.code == "range"
    with pytest.raises(ValueProblem):
        area("0")


def test_times() -> None:
    assert parse_time("9:00") == dt.time(9, 0)
    assert parse_time("9点30") == dt.time(9, 30)
    assert parse_time("24:00") == dt.time(23, 59)
    with pytest.raises(ValueProblem):
        parse_time("25:00")


def test_enum_accepts_chinese_terms_and_aliases() -> None:
    parse = make_enum_parser(spec_for("kindergarten").field("operator_type"))
    assert parse("公办") == "public"
    assert parse("普惠性民办") == "inclusive_private"
    assert parse("营利性民办") == "for_profit"
    assert parse("普惠") == "inclusive_private"
    assert parse("For-profit private") == "for_profit"
    with pytest.raises(ValueProblem) as err:
        parse("私立")
    assert "公办" in err.value.zh and "普惠性民办" in err.value.zh


def test_museum_thematic_with_full_width_brackets() -> None:
    parse = make_enum_parser(spec_for("museum").field("category"))
    assert parse("专题（特色）") == "thematic"


def test_points_with_chinese_punctuation() -> None:
    assert parse_points("113.66，34.75；113.67,34.76") == [(113.66, 34.75), (113.67, 34.76)]
    with pytest.raises(ValueProblem):
        parse_points("113.66")


def test_formula_guard_of_our_exports_is_removed() -> None:
    assert clean_cell("'=1+1") == "=1+1"
    assert clean_cell("'abc") == "'abc"


def test_parse_column_reports_each_bad_row_once_per_distinct_text() -> None:
    raw = np.array(["是", "否", "", "maybe", "是", "maybe"], dtype=object)
    out = parse_column(raw, parse_bool)
    assert out.values.tolist() == [True, False, None, None, True, None]
    assert sorted(out.errors) == [3, 5]
    assert out.errors[3].code == "bool"


def test_huge_text_is_rejected_with_its_length() -> None:
    parse = parser_for(spec_for("museum").field("cluster"))
    with pytest.raises(ValueProblem) as err:
        parse("x" * 5000)
    assert err.value.code == "too_long" and "5000" in err.value.en
