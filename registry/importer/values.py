"""Parsing the messy values clerks type: 是/否, 2019年6月30日, 1,200 册, 普惠性民办...

Each ``parse_*`` function takes one stripped, non-empty text and returns the
typed value or raises :class:`ValueProblem` naming what was expected (in
Chinese and English).  :func:`parse_column` applies the right parser to a
whole column at once: it parses every *distinct* text only once, which is
what keeps a million-row file fast (a boolean column has a handful of
distinct texts, a date column a few thousand).

Empty cells are ``None``: missing data is "unknown", never a default.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from registry.kinds import FieldSpec, FieldType

MAX_TEXT_LENGTH = 2000
"""Longest text accepted in one cell (names, addresses, notes); longer is an error."""

INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class ValueProblem(Exception):
    """A value that could not be read; ``code`` is stable, ``zh``/``en`` say what was expected."""

    code: str
    zh: str
    en: str

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.code}: {self.en}"


# --------------------------------------------------------------------------- text helpers
def normalise_text(text: str) -> str:
    """NFKC-normalise (full-width digits, brackets and letters become ASCII) and strip."""
    return unicodedata.normalize("NFKC", text).strip()


def clean_cell(text: str) -> str:
    """Strip a cell and undo the formula-injection guard of our own exports (``'=…`` → ``=…``)."""
    text = text.strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


def _key(text: str) -> str:
    """Comparison key for enum terms: NFKC, lower case, no spaces."""
    return re.sub(r"\s+", "", normalise_text(text)).lower()


# --------------------------------------------------------------------------- booleans
TRUE_WORDS = ("是", "有", "y", "yes", "true", "t", "1", "√", "✓", "✔", "对", "已", "具备", "达标", "合格")
FALSE_WORDS = ("否", "无", "没有", "n", "no", "false", "f", "0", "×", "✗", "✘", "x", "不", "未", "不具备",
               "不达标", "不合格")
_BOOLS = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}


def parse_bool(text: str) -> bool:
    """Read 是/否, Y/N, yes/no, true/false, 1/0, √/×.

    >>> parse_bool("是"), parse_bool("N"), parse_bool("TRUE"), parse_bool("0")
    (True, False, True, False)
    """
    value = _BOOLS.get(_key(text))
    if value is None:
        raise ValueProblem("bool", "是/否（或 Y/N、1/0、true/false）", "yes/no (是/否, Y/N, 1/0, true/false)")
    return value


# --------------------------------------------------------------------------- numbers
_NUMBER = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d+))?$")
COMMON_UNITS = ("个", "册", "本", "人", "人次", "次", "年", "元", "位", "辆", "台", "部", "座", "间", "小时", "个月",
                "m2", "m²", "㎡", "平方米", "平米", "平方", "mbps", "mb", "m", "兆", "%", "％", "米", "km", "公里")


def _split_number(text: str, units: tuple[str, ...]) -> str:
    """Return the bare number of ``text`` after removing a known unit and digit grouping."""
    t = normalise_text(text).replace("，", ",").replace(" ", "")
    low = t.lower()
    for unit in sorted(units, key=len, reverse=True):
        if unit and low.endswith(unit.lower()) and len(low) > len(unit):
            t = t[: len(t) - len(unit)]
            break
    if t.endswith("%"):
        t = t[:-1]
    if not _NUMBER.match(t) or t in ("", "+", "-", "."):
        raise ValueError(text)
    return t.replace(",", "")


def parse_float(text: str, unit: str | None = None) -> float:
    """Read a number, allowing digit grouping (1,200) and a unit (120 ㎡, 100Mbps, 85%).

    >>> parse_float("1,200.5"), parse_float("120㎡"), parse_float("85 %")
    (1200.5, 120.0, 85.0)
    """
    units = COMMON_UNITS + ((unit,) if unit else ())
    try:
        value = float(_split_number(text, units))
    except ValueError:
        raise ValueProblem("number", "数字（如 120 或 1,200.5）", "a number (e.g. 120 or 1,200.5)") from None
    if not math.isfinite(value):
        raise ValueProblem("number", "有限的数字", "a finite number")
    return value


def parse_int(text: str, unit: str | None = None) -> int:
    """Read a whole number (``15``, ``1,200``, ``3000册``, ``15.0``).

    >>> parse_int("3,000册"), parse_int("15.0")
    (3000, 15)
    """
    units = COMMON_UNITS + ((unit,) if unit else ())
    try:
        bare = _split_number(text, units)
        value = float(bare)
    except ValueError:
        raise ValueProblem("integer", "整数（如 15 或 1,200）", "a whole number (e.g. 15 or 1,200)") from None
    if not value.is_integer():
        raise ValueProblem("integer", "整数（不能有小数）", "a whole number (no decimals)")
    if abs(value) > INT32_MAX:
        raise ValueProblem("integer", f"不超过 {INT32_MAX} 的整数", f"a whole number up to {INT32_MAX}")
    return int(value)


# --------------------------------------------------------------------------- dates and times
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)


def parse_date(text: str) -> dt.date:
    """Read 2019-06-30, 2019/6/30, 2019.6.30, 2019年6月30日 or 20190630.

    >>> parse_date("2019年6月30日"), parse_date("2019/6/30")
    (datetime.date(2019, 6, 30), datetime.date(2019, 6, 30))
    """
    t = normalise_text(text).replace(" ", " ")
    t = re.sub(r"\s*([年月日])\s*", r"\1", t)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(t)
        if m:
            try:
                value = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
            if not DATE_MIN <= value <= DATE_MAX:
                raise ValueProblem("date", "1900 至 2100 年之间的日期", "a date between 1900 and 2100")
            return value
    raise ValueProblem("date", "日期（如 2019-06-30、2019/6/30 或 2019年6月30日）",
                       "a date (e.g. 2019-06-30, 2019/6/30 or 2019年6月30日)")


_TIME = re.compile(r"^(\d{1,2})(?:[:：点时](\d{1,2})?(?:[:：分](\d{1,2})秒?)?)?分?$")


def parse_time(text: str) -> dt.time:
    """Read 9:00, 09:00:00, 21:30, 9点, 9点30分.

    >>> parse_time("9点30"), parse_time("23:00")
    (datetime.time(9, 30), datetime.time(23, 0))
    """
    t = normalise_text(text).replace(" ", "")
    m = _TIME.match(t)
    if m and (":" in t or "点" in t or "时" in t):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour == 24 and minute == 0:
            return dt.time(23, 59)
        if 0 <= hour < 24 and 0 <= minute < 60:
            return dt.time(hour, minute)
    raise ValueProblem("time", "时间（如 09:00 或 21:30）", "a time of day (e.g. 09:00 or 21:30)")


# --------------------------------------------------------------------------- enums and points
def enum_lookup(spec: FieldSpec) -> dict[str, str]:
    """Every accepted spelling of ``spec``'s choices (normalised) → stored value."""
    table: dict[str, str] = {}
    for choice in spec.choices:
        for term in (choice.value, choice.zh, choice.en, *choice.aliases):
            table.setdefault(_key(term), choice.value)
    return table


def enum_expected(spec: FieldSpec) -> tuple[str, str]:
    """Chinese and English list of the accepted terms of an enum field."""
    zh = "、".join(c.zh for c in spec.choices)
    en = ", ".join(f"{c.zh} ({c.en})" for c in spec.choices)
    return f"以下之一：{zh}", f"one of: {en}"


def make_enum_parser(spec: FieldSpec) -> Callable[[str], str]:
    """Parser accepting the Chinese terms, English labels, stored values and aliases of ``spec``."""
    table = enum_lookup(spec)
    zh, en = enum_expected(spec)

    def parse(text: str) -> str:
        key = _key(text)
        value = table.get(key) or table.get(re.sub(r"[()（）]", "", key))
        if value is None:
            raise ValueProblem("enum", zh, en)
        return value

    return parse


_POINT_SPLIT = re.compile(r"[;；|]")


def parse_points(text: str) -> list[tuple[float, float]]:
    """Read ``lon,lat`` or ``lon,lat;lon,lat`` (Chinese punctuation allowed); no conversion here.

    >>> parse_points("113.66，34.75；113.67,34.76")
    [(113.66, 34.75), (113.67, 34.76)]
    """
    points: list[tuple[float, float]] = []
    for part in _POINT_SPLIT.split(normalise_text(text)):
        part = part.strip()
        if not part:
            continue
        bits = [b for b in re.split(r"[,，\s]+", part) if b]
        try:
            lon, lat = (float(b) for b in bits)
        except ValueError:
            raise ValueProblem("points", "经度,纬度（多个点用 ; 分隔）",
                               "lon,lat (several points separated by ;)") from None
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueProblem("points", "有效的经纬度（经度 -180~180，纬度 -90~90）",
                               "valid coordinates (lon -180..180, lat -90..90)")
        points.append((lon, lat))
    if not points:
        raise ValueProblem("points", "经度,纬度", "lon,lat")
    return points


def parse_text(text: str) -> str:
    """Free text, at most :data:`MAX_TEXT_LENGTH` characters."""
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueProblem("too_long", f"不超过 {MAX_TEXT_LENGTH} 个字符（实际 {len(text)} 个）",
                           f"at most {MAX_TEXT_LENGTH} characters (got {len(text)})")
    return text


# --------------------------------------------------------------------------- dispatch
def parser_for(spec: FieldSpec) -> Callable[[str], Any]:
    """The parser of one field, including its range check (seats ≥ 0, area > 0)."""
    base: Callable[[str], Any]
    t = spec.type
    if t is FieldType.STR:
        return parse_text
    if t is FieldType.INT:
        base = lambda s: parse_int(s, spec.unit)  # noqa: E731
    elif t is FieldType.FLOAT:
        base = lambda s: parse_float(s, spec.unit)  # noqa: E731
    elif t is FieldType.BOOL:
        return parse_bool
    elif t is FieldType.DATE:
        return parse_date
    elif t is FieldType.TIME:
        return parse_time
    elif t is FieldType.ENUM:
        return make_enum_parser(spec)
    elif t is FieldType.POINTS:
        return parse_points
    else:  # pragma: no cover - every FieldType is handled above
        raise ValueError(f"unsupported field type {t}")
    if spec.min_value is None:
        return base
    return _with_minimum(base, spec.min_value, spec.min_exclusive)


def _with_minimum(base: Callable[[str], Any], low: float, exclusive: bool) -> Callable[[str], Any]:
    shown = int(low) if float(low).is_integer() else low

    def parse(text: str) -> Any:
        value = base(text)
        if value < low or (exclusive and value == low):
            op = ">" if exclusive else "≥"
            raise ValueProblem("range", f"{op} {shown} 的数值", f"a value {op} {shown}")
        return value

    return parse


@dataclass
class ParsedColumn:
    """One parsed column: ``values`` (object array, ``None`` where empty or bad) and the bad rows.

    ``errors`` maps a row index within the chunk to the :class:`ValueProblem`.
    """

    values: np.ndarray
    errors: dict[int, ValueProblem]


def parse_column(raw: np.ndarray, parse: Callable[[str], Any]) -> ParsedColumn:
    """Apply ``parse`` to every cell of ``raw`` (an object array of ``str``), each distinct text once."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    parsed = np.empty(len(uniques), dtype=object)
    bad: dict[int, ValueProblem] = {}
    for i, text in enumerate(uniques):
        text = clean_cell(text) if isinstance(text, str) else ""
        if text == "":
            parsed[i] = None
            continue
        try:
            parsed[i] = parse(text)
        except ValueProblem as problem:
            parsed[i] = None
            bad[i] = problem
    values = parsed[codes] if len(codes) else np.empty(0, dtype=object)
    errors: dict[int, ValueProblem] = {}
    if bad:
        bad_codes = np.fromiter(bad.keys(), dtype=np.int64)
        for idx in np.flatnonzero(np.isin(codes, bad_codes)):
            errors[int(idx)] = bad[int(codes[idx])]
    return ParsedColumn(values=values, errors=errors)
