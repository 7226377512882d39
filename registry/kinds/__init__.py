"""The five facility kinds: one module each, holding its fields, header aliases and statuses.

>>> from registry.kinds import FacilityKind, spec_for
>>> spec_for("study_room").zh
'城市书房'
"""

from __future__ import annotations

from registry.kinds import elevator, kindergarten, museum, parking_lot, study_room
from registry.kinds.base import (
    COMMON_FIELDS,
    Choice,
    FacilityKind,
    FieldSpec,
    FieldType,
    KindSpec,
)

KIND_SPECS: dict[FacilityKind, KindSpec] = {
    spec.kind: spec
    for spec in (museum.SPEC, study_room.SPEC, parking_lot.SPEC, elevator.SPEC, kindergarten.SPEC)
}


def spec_for(kind: str | FacilityKind) -> KindSpec:
    """Return the :class:`KindSpec` of ``kind``.

    Raises
    ------
    ValueError
        If ``kind`` is not one of the five kind identifiers.
    """
    try:
        return KIND_SPECS[FacilityKind(kind)]
    except ValueError:
        allowed = ", ".join(k.value for k in FacilityKind)
        raise ValueError(f"unknown facility kind {kind!r}; expected one of: {allowed}") from None


__all__ = [
    "COMMON_FIELDS",
    "Choice",
    "FacilityKind",
    "FieldSpec",
    "FieldType",
    "KIND_SPECS",
    "KindSpec",
    "spec_for",
]
