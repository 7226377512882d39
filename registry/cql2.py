"""A parser for the subset of OGC CQL2 text that the registry implements.

The result is a small, framework-neutral expression tree; :mod:`registry.query`
turns it into SQL against a collection's fields.  Implemented (and declared by
the OGC API): *basic-cql2* (comparisons, ``AND``/``OR``/``NOT``, ``IS [NOT]
NULL``, boolean, number, string, ``DATE`` and ``TIMESTAMP`` literals),
*advanced-comparison-operators* (``[NOT] LIKE`` with ``%`` and ``_``,
``[NOT] BETWEEN``, ``[NOT] IN``), *case-insensitive-comparison* (``CASEI``)
and *basic-spatial-functions* (``S_INTERSECTS`` with ``POINT``, ``BBOX`` and
the other WKT geometry literals).

Examples
--------
>>> parse("seats < 15 AND operator_type = 'public'")
And(items=(Compare(op='<', prop='seats', value=15), Compare(op='=', prop='operator_type', value='public')))
>>> parse("name LIKE '%书房%'")
Like(prop='name', pattern='%书房%', negate=False, casei=False)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 20_000
MAX_DEPTH = 40


class CqlError(ValueError):
    """The filter text is not CQL2 that this server understands."""


# --------------------------------------------------------------------------- tree
@dataclass(frozen=True)
class Compare:
    """``prop op value`` with op one of ``= <> < <= > >=``."""

    op: str
    prop: str
    value: Any
    casei: bool = False

    def __repr__(self) -> str:  # compact, for doctests and messages
        extra = ", casei=True" if self.casei else ""
        return f"Compare(op={self.op!r}, prop={self.prop!r}, value={self.value!r}{extra})"


@dataclass(frozen=True)
class Like:
    """``prop [NOT] LIKE pattern`` (``%`` any run, ``_`` one character)."""

    prop: str
    pattern: str
    negate: bool = False
    casei: bool = False


@dataclass(frozen=True)
class Between:
    """``prop [NOT] BETWEEN low AND high`` (inclusive)."""

    prop: str
    low: Any
    high: Any
    negate: bool = False


@dataclass(frozen=True)
class In:
    """``prop [NOT] IN (v1, v2, ...)``."""

    prop: str
    values: tuple[Any, ...]
    negate: bool = False
    casei: bool = False


@dataclass(frozen=True)
class IsNull:
    """``prop IS [NOT] NULL``: the value is unknown (or known)."""

    prop: str
    negate: bool = False


@dataclass(frozen=True)
class Intersects:
    """``S_INTERSECTS(prop, geometry)`` with the geometry as WKT in the filter CRS."""

    prop: str
    wkt: str


@dataclass(frozen=True)
class Const:
    """``TRUE`` or ``FALSE`` used as a whole predicate."""

    value: bool


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Compare | Like | Between | In | IsNull | Intersects | Const | And | Or | Not
"""A node of a parsed filter."""


def properties(expr: Expr) -> set[str]:
    """Names of every property a filter refers to."""
    if isinstance(expr, (And, Or)):
        return set().union(*(properties(e) for e in expr.items))
    if isinstance(expr, Not):
        return properties(expr.item)
    if isinstance(expr, Const):
        return set()
    return {expr.prop}


# --------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class _Tok:
    kind: str  # str, num, ident, qident, op, punct, end
    text: str
    value: Any
    pos: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<qident>"(?:[^"]|"")+")
  | (?P<ident>[A-Za-z_\u0080-\uffff][A-Za-z0-9_:.\u0080-\uffff]*)
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),\-+])
    """,
    re.VERBOSE,
)

_GEOMETRY_WORDS = {"POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
                   "GEOMETRYCOLLECTION"}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE", "DATE", "TIMESTAMP",
             "CASEI", "S_INTERSECTS", "BBOX", *_GEOMETRY_WORDS}


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise CqlError(f"unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "str":
            out.append(_Tok("str", raw, raw[1:-1].replace("''", "'"), pos))
        elif kind == "num":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            out.append(_Tok("num", raw, value, pos))
        elif kind == "qident":
            out.append(_Tok("ident", raw, raw[1:-1].replace('""', '"'), pos))
        elif kind == "ident":
            upper = raw.upper()
            if upper in _KEYWORDS:
                out.append(_Tok("kw", upper, upper, pos))
            else:
                out.append(_Tok("ident", raw, raw, pos))
        elif kind in ("op", "punct"):
            out.append(_Tok(kind, "<>" if raw == "!=" else raw, raw, pos))
        pos = m.end()
    out.append(_Tok("end", "", None, len(text)))
    return out


# --------------------------------------------------------------------------- parser
@dataclass
class _Scalar:
    """An operand: a property (``prop``) or a literal (``value``), maybe wrapped in CASEI."""

    prop: str | None = None
    value: Any = None
    casei: bool = False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    # helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, text: str | None = None) -> _Tok | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.accept(kind, text)
        if tok is None:
            want = text or kind
            got = self.tok.text or "end of filter"
            raise CqlError(f"expected {want!r} at position {self.tok.pos}, found {got!r}")
        return tok

    # grammar
    def parse(self) -> Expr:
        expr = self.or_expr()
        if self.tok.kind != "end":
            raise CqlError(f"unexpected {self.tok.text!r} at position {self.tok.pos}")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.accept("kw", "OR"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.accept("kw", "AND"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        if self.accept("kw", "NOT"):
            return Not(self.not_expr())
        return self.primary()

    def primary(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CqlError(f"filter nested deeper than {MAX_DEPTH} levels")
        try:
            if self.accept("punct", "("):
                expr = self.or_expr()
                self.expect("punct", ")")
                return expr
            if self.accept("kw", "S_INTERSECTS"):
                return self.spatial()
            if self.tok.kind == "kw" and self.tok.text in ("TRUE", "FALSE") and self._ends_predicate(self.i + 1):
                return Const(self.take().text == "TRUE")
            return self.predicate()
        finally:
            self.depth -= 1

    def _ends_predicate(self, j: int) -> bool:
        nxt = self.toks[j]
        return nxt.kind == "end" or (nxt.kind == "kw" and nxt.text in ("AND", "OR")) or nxt.text == ")"

    def spatial(self) -> Expr:
        self.expect("punct", "(")
        first = self.spatial_operand()
        self.expect("punct", ",")
        second = self.spatial_operand()
        self.expect("punct", ")")
        if isinstance(first, str) and isinstance(second, tuple):
            return Intersects(first, second[0])
        if isinstance(second, str) and isinstance(first, tuple):
            return Intersects(second, first[0])
        raise CqlError("S_INTERSECTS needs one property and one geometry literal")

    def spatial_operand(self) -> str | tuple[str]:
        tok = self.tok
        if tok.kind == "ident":
            self.take()
            return tok.value
        if tok.kind == "kw" and tok.text == "BBOX":
            self.take()
            self.expect("punct", "(")
            nums = [self.number()]
            while self.accept("punct", ","):
                nums.append(self.number())
            self.expect("punct", ")")
            if len(nums) == 6:
                nums = [nums[0], nums[1], nums[3], nums[4]]
            if len(nums) != 4:
                raise CqlError("BBOX needs 4 (or 6) numbers")
            minx, miny, maxx, maxy = nums
            if minx > maxx or miny > maxy:
                raise CqlError("BBOX corners must be (minx, miny, maxx, maxy)")
            ring = f"{minx!r} {miny!r},{maxx!r} {miny!r},{maxx!r} {maxy!r},{minx!r} {maxy!r},{minx!r} {miny!r}"
            return (f"POLYGON(({ring}))",)
        if tok.kind == "kw" and tok.text in _GEOMETRY_WORDS:
            return (self.wkt(),)
        raise CqlError(f"expected a property or a geometry at position {tok.pos}")

    def wkt(self) -> str:
        start = self.take()
        depth = 0
        end_pos = start.pos
        while True:
            tok = self.take()
            if tok.kind == "end":
                raise CqlError(f"unterminated {start.text} literal")
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
                if depth == 0:
                    end_pos = tok.pos + 1
                    break
        wkt = self.text[start.pos:end_pos]
        from shapely import wkt as shapely_wkt
        from shapely.errors import ShapelyError

        try:
            geom = shapely_wkt.loads(wkt)
        except (ShapelyError, ValueError) as exc:
            raise CqlError(f"invalid geometry literal {wkt[:60]!r}: {exc}") from None
        if geom.is_empty:
            raise CqlError("empty geometry literal")
        if not all(math.isfinite(c) for c in geom.bounds):
            raise CqlError("geometry literal has non-finite coordinates")
        return geom.wkt

    def number(self) -> float:
        sign = -1.0 if self.accept("punct", "-") else 1.0
        if not sign < 0:
            self.accept("punct", "+")
        tok = self.expect("num")
        return sign * float(tok.value)

    def scalar(self) -> _Scalar:
        tok = self.tok
        if tok.kind == "ident":
            self.take()
            return _Scalar(prop=tok.value)
        if tok.kind == "str":
            self.take()
            return _Scalar(value=tok.value)
        if tok.kind == "num" or (tok.kind == "punct" and tok.text in "-+"):
            sign = -1 if self.accept("punct", "-") else 1
            if sign == 1:
                self.accept("punct", "+")
            num = self.expect("num").value
            return _Scalar(value=sign * num)
        if tok.kind == "kw" and tok.text in ("TRUE", "FALSE"):
            self.take()
            return _Scalar(value=tok.text == "TRUE")
        if tok.kind == "kw" and tok.text in ("DATE", "TIMESTAMP"):
            self.take()
            self.expect("punct", "(")
            raw = self.expect("str").value
            self.expect("punct", ")")
            try:
                if tok.text == "DATE":
                    return _Scalar(value=dt.date.fromisoformat(raw))
                return _Scalar(value=dt.datetime.fromisoformat(raw))
            except ValueError:
                raise CqlError(f"invalid {tok.text} literal {raw!r}") from None
        if tok.kind == "kw" and tok.text == "CASEI":
            self.take()
            self.expect("punct", "(")
            inner = self.scalar()
            self.expect("punct", ")")
            if inner.prop is None and not isinstance(inner.value, str):
                raise CqlError("CASEI takes a property or a string")
            inner.casei = True
            return inner
        raise CqlError(f"expected a property or a value at position {tok.pos}, found {tok.text or 'end'!r}")

    def predicate(self) -> Expr:
        left = self.scalar()
        negate = bool(self.accept("kw", "NOT"))
        if self.accept("kw", "LIKE"):
            right = self.scalar()
            prop = self._prop(left, "LIKE")
            if not isinstance(right.value, str):
                raise CqlError("LIKE needs a string pattern")
            return Like(prop, right.value, negate, left.casei or right.casei)
        if self.accept("kw", "BETWEEN"):
            low = self.scalar()
            self.expect("kw", "AND")
            high = self.scalar()
            prop = self._prop(left, "BETWEEN")
            return Between(prop, self._literal(low), self._literal(high), negate)
        if self.accept("kw", "IN"):
            self.expect("punct", "(")
            values = [self._literal(self.scalar())]
            while self.accept("punct", ","):
                values.append(self._literal(self.scalar()))
            self.expect("punct", ")")
            return In(self._prop(left, "IN"), tuple(values), negate, left.casei)
        if negate:
            raise CqlError(f"expected LIKE, BETWEEN or IN after NOT at position {self.tok.pos}")
        if self.accept("kw", "IS"):
            neg = bool(self.accept("kw", "NOT"))
            self.expect("kw", "NULL")
            return IsNull(self._prop(left, "IS NULL"), neg)
        op_tok = self.tok
        if op_tok.kind != "op":
            raise CqlError(f"expected a comparison operator at position {op_tok.pos}, "
                           f"found {op_tok.text or 'end'!r}")
        self.take()
        right = self.scalar()
        op = op_tok.text
        casei = left.casei or right.casei
        if left.prop is not None and right.prop is None:
            return Compare(op, left.prop, right.value, casei)
        if right.prop is not None and left.prop is None:
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return Compare(flipped, right.prop, left.value, casei)
        if left.prop is not None:
            raise CqlError("comparing two properties is not supported")
        raise CqlError("a comparison needs a property on one side")

    @staticmethod
    def _prop(s: _Scalar, what: str) -> str:
        if s.prop is None:
            raise CqlError(f"{what} needs a property on its left")
        return s.prop

    @staticmethod
    def _literal(s: _Scalar) -> Any:
        if s.prop is not None:
            raise CqlError(f"expected a value, found property {s.prop!r}")
        return s.value


def parse(text: str) -> Expr:
    """Parse CQL2 text into an expression tree.

    Raises
    ------
    CqlError
        With a message that says where the text went wrong.
    """
    if not isinstance(text, str) or not text.strip():
        raise CqlError("empty filter")
    if len(text) > MAX_LENGTH:
        raise CqlError(f"filter longer than {MAX_LENGTH} characters")
    return _Parser(text).parse()
