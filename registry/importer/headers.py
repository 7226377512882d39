"""Matching a file's header row to the fields of a facility kind.

Every field accepts its canonical name, its Chinese and English labels and
the aliases declared in :mod:`registry.kinds` (``FieldSpec.headers``).  Headers
are compared after NFKC normalisation (full-width brackets and letters),
lower-casing and removal of spaces and ``*`` marks; a trailing unit in
brackets (``座位数(个)``) is tried as a fallback.  Columns that match nothing
are *reported* as unknown, never silently dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from registry.kinds import COMMON_FIELDS, KIND_SPECS, FacilityKind, FieldSpec, KindSpec

KIND_HEADERS = ("kind", "类型", "设施类型", "设施种类", "facility_kind", "设施类别")
"""Headers of the optional column naming each row's kind (several kinds in one file)."""

SOURCE_HEADERS = ("source", "来源", "数据来源")
"""Headers of the optional column naming each row's source (the ``(source, external_id)`` key)."""

EXPORT_ONLY_HEADERS = ("registry_id", "系统编号", "district_code", "区划代码", "assigned_district",
                       "落点区县", "batch_id", "导入批次", "is_synthetic", "合成数据", "原行号 row", "错误 error")
"""Columns our own exports add (computed by the registry); ignored on import, with a note."""


def normalise_header(text: str) -> str:
    """Comparison form of a header: NFKC, lower case, no spaces, no ``*`` required-marks.

    >>> normalise_header(" 座位数（个）* ")
    '座位数(个)'
    """
    t = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[\s*＊:：]+", "", t).lstrip("\ufeff")


def _without_unit(key: str) -> str:
    return re.sub(r"\([^()]*\)$", "", key)


@dataclass(frozen=True)
class FieldColumn:
    """A file column bound to a field."""

    index: int
    header: str
    field: FieldSpec


@dataclass
class KindColumns:
    """How the header row maps onto one kind: common fields, kind fields, and what is left over."""

    kind: FacilityKind
    common: dict[str, FieldColumn] = field(default_factory=dict)
    fields: dict[str, FieldColumn] = field(default_factory=dict)
    unmatched: list[int] = field(default_factory=list)

    @property
    def n_kind_fields(self) -> int:
        return len(self.fields)


@dataclass
class HeaderMatch:
    """The header row resolved for every kind that may occur in the file."""

    headers: list[str]
    kinds: dict[FacilityKind, KindColumns]
    kind_column: int | None = None
    source_column: int | None = None
    export_only: list[int] = field(default_factory=list)
    duplicates: list[tuple[int, int, str]] = field(default_factory=list)  # (dropped idx, kept idx, field)

    def unknown_columns(self) -> list[int]:
        """Columns that match a field of none of the kinds considered (nor a meta column)."""
        matched: set[int] = set(self.export_only)
        matched.update(c for c in (self.kind_column, self.source_column) if c is not None)
        for cols in self.kinds.values():
            matched.update(c.index for c in cols.common.values())
            matched.update(c.index for c in cols.fields.values())
        return [i for i, h in enumerate(self.headers) if i not in matched and h.strip() != ""]

    def blank_headers(self) -> list[int]:
        """Columns with an empty header cell."""
        return [i for i, h in enumerate(self.headers) if h.strip() == ""]


def _lookup(specs: Sequence[FieldSpec]) -> dict[str, FieldSpec]:
    table: dict[str, FieldSpec] = {}
    for spec in specs:
        for header in spec.headers:
            table.setdefault(normalise_header(header), spec)
    return table


_COMMON = _lookup(COMMON_FIELDS)
_KIND = {kind: _lookup(spec.fields) for kind, spec in KIND_SPECS.items()}
_META = {normalise_header(h): name for names, name in ((KIND_HEADERS, "kind"), (SOURCE_HEADERS, "source"),
                                                        (EXPORT_ONLY_HEADERS, "export")) for h in names}


def _rank(spec: FieldSpec, key: str) -> int:
    """How directly ``key`` names ``spec``: its name (0), Chinese label (1), English label (2), an alias (3)."""
    for rank, header in enumerate((spec.name, spec.zh, spec.en)):
        if normalise_header(header) == key:
            return rank
    return 3


def _find(table: dict[str, FieldSpec], key: str) -> FieldSpec | None:
    return table.get(key) or table.get(_without_unit(key))


def match_headers(headers: Sequence[str], kinds: Sequence[FacilityKind]) -> HeaderMatch:
    """Bind each column of ``headers`` to a field of each kind in ``kinds``.

    A header that two columns share binds the first; the second is recorded in
    ``duplicates`` (and so reported).
    """
    keys = [normalise_header(h) for h in headers]
    result = HeaderMatch(headers=list(headers), kinds={})
    for i, key in enumerate(keys):
        meta = _META.get(key)
        if meta is None or _find(_COMMON, key) is not None:
            continue
        if meta == "kind" and result.kind_column is None:
            result.kind_column = i
        elif meta == "source" and result.source_column is None:
            result.source_column = i
        elif meta == "export":
            result.export_only.append(i)
    meta_cols = {c for c in (result.kind_column, result.source_column) if c is not None} | set(result.export_only)
    for kind in kinds:
        cols = KindColumns(kind=kind)
        for i, key in enumerate(keys):
            if i in meta_cols or not key:
                continue
            spec = _find(_COMMON, key)
            target = cols.common
            if spec is None:
                spec = _find(_KIND[kind], key)
                target = cols.fields
            if spec is None:
                cols.unmatched.append(i)
                continue
            if spec.name in target:
                previous = target[spec.name]
                if _rank(spec, key) < _rank(spec, normalise_header(previous.header)):
                    target[spec.name] = FieldColumn(i, headers[i], spec)
                    dropped, kept = previous.index, i
                else:
                    dropped, kept = i, previous.index
                if (dropped, kept, spec.name) not in result.duplicates:
                    result.duplicates.append((dropped, kept, spec.name))
                continue
            target[spec.name] = FieldColumn(i, headers[i], spec)
        result.kinds[kind] = cols
    return result


def best_kind(headers: Sequence[str]) -> tuple[FacilityKind, int]:
    """The kind whose specific fields match most headers, and how many match."""
    match = match_headers(headers, list(FacilityKind))
    ranked = sorted(match.kinds.values(), key=lambda c: c.n_kind_fields, reverse=True)
    return ranked[0].kind, ranked[0].n_kind_fields


def header_table(kind: FacilityKind | str) -> list[tuple[FieldSpec, list[str]]]:
    """Rows for documentation: each field (common first) with every accepted header."""
    spec: KindSpec = KIND_SPECS[FacilityKind(kind)]
    return [(f, list(dict.fromkeys(f.headers))) for f in (*COMMON_FIELDS, *spec.fields)]
