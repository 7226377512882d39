"""Field specifications shared by every facility kind.

A :class:`FieldSpec` describes one attribute of a facility kind the way the
rest of the application needs to know it: the model attribute name (which is
also the canonical English CSV header and API property), its value type, its
Chinese and English labels, the header aliases a clerk's file may use, and
the allowed values of an enumeration.  The ORM models in
:mod:`registry.models` carry the same names; ``tests/unit/test_kinds.py``
checks that the two agree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class FacilityKind(str, enum.Enum):
    """The five kinds of facility; the value is used in URLs, API, CLI and CSV."""

    MUSEUM = "museum"
    STUDY_ROOM = "study_room"
    PARKING_LOT = "parking_lot"
    ELEVATOR = "elevator"
    KINDERGARTEN = "kindergarten"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class FieldType(str, enum.Enum):
    """Value types a facility attribute can have."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    TIME = "time"
    ENUM = "enum"
    POINTS = "points"  # "lon,lat" or "lon,lat;lon,lat" in the file's coordinate system


@dataclass(frozen=True)
class Choice:
    """One allowed value of an enumerated field.

    Parameters
    ----------
    value : str
        Stored value (ASCII identifier).
    zh : str
        Chinese term as the regulations write it (accepted on import).
    en : str
        English label.
    aliases : tuple of str
        Further spellings accepted on import.
    """

    value: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of a facility kind.

    Parameters
    ----------
    name : str
        Model attribute, canonical CSV header and API property name.
    type : FieldType
        Value type.
    zh, en : str
        Labels shown to users (Chinese first).
    aliases : tuple of str
        Additional header spellings accepted on import (the Chinese label and
        ``name`` are always accepted).
    choices : tuple of Choice
        Allowed values when ``type`` is ``ENUM``.
    min_value : float or None
        Inclusive lower bound for numbers.
    min_exclusive : bool
        If true the lower bound is exclusive (e.g. area > 0).
    unit : str or None
        Unit shown next to the value (``m²``, ``Mbps``...).
    rules : tuple of str
        Rule IDs from DOMAIN.md that read this field.
    """

    name: str
    type: FieldType
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    min_value: float | None = None
    min_exclusive: bool = False
    unit: str | None = None
    rules: tuple[str, ...] = ()

    def choice(self, value: str) -> Choice | None:
        """Return the :class:`Choice` stored as ``value``, or ``None``."""
        return next((c for c in self.choices if c.value == value), None)

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header spelling accepted for this field, canonical first."""
        return (self.name, self.zh, self.en, *self.aliases)


@dataclass(frozen=True)
class KindSpec:
    """Everything the application knows about one facility kind.

    Parameters
    ----------
    kind : FacilityKind
        The kind.
    zh, en : str
        Labels (``城市书房`` / ``City study room``).
    statuses : tuple of Choice
        Allowed values of the shared ``status`` column for this kind.
    fields : tuple of FieldSpec
        Kind-specific attributes, in display order.
    color : str
        Colour used on maps and charts.
    capacity_field : str or None
        Attribute that measures capacity (for capacity-aware coverage).
    """

    kind: FacilityKind
    zh: str
    en: str
    statuses: tuple[Choice, ...]
    fields: tuple[FieldSpec, ...]
    color: str
    capacity_field: str | None = None
    aliases: tuple[str, ...] = field(default=())

    def field(self, name: str) -> FieldSpec:
        """Return the field called ``name``; raise ``KeyError`` if unknown."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the kind-specific attributes."""
        return tuple(f.name for f in self.fields)


def yes_no(name: str, zh: str, en: str, *aliases: str, rules: tuple[str, ...] = ()) -> FieldSpec:
    """Shorthand for a boolean field (是/否)."""
    return FieldSpec(name, FieldType.BOOL, zh, en, aliases=aliases, rules=rules)


# Fields every facility has, whatever its kind (the shared ``facility`` table).
COMMON_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("external_id", FieldType.STR, "编号", "External ID", aliases=("id", "ID", "序号编码", "code")),
    FieldSpec("name", FieldType.STR, "名称", "Name", aliases=("名字", "单位名称", "设施名称", "title")),
    FieldSpec("address", FieldType.STR, "地址", "Address", aliases=("详细地址", "位置", "addr")),
    FieldSpec("district", FieldType.STR, "所属区县", "District", aliases=("区县", "行政区", "所在区", "区域", "county")),
    FieldSpec("lon", FieldType.FLOAT, "经度", "Longitude", aliases=("lng", "longitude", "x", "东经")),
    FieldSpec("lat", FieldType.FLOAT, "纬度", "Latitude", aliases=("latitude", "y", "北纬")),
    FieldSpec("status", FieldType.ENUM, "状态", "Status", aliases=("运营状态", "使用状态", "建设状态")),
)
