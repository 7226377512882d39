"""The rules of DOMAIN.md, one module per facility kind plus district/city and spatial rules.

>>> from registry.rules import ALL_RULES
>>> [r.id for r in ALL_RULES if r.kind == "museum"][:2]
['MUS-6', 'MUS-1']
"""

from __future__ import annotations

from registry.rules import (
    district,
    elevator,
    kindergarten,
    museum,
    parking_lot,
    spatial,
    study_room,
)
from registry.rules.base import Rule

ALL_RULES: tuple[Rule, ...] = (
    *museum.RULES,
    *study_room.RULES,
    *kindergarten.RULES,
    *elevator.RULES,
    *parking_lot.RULES,
    *spatial.RULES,
    *district.RULES,
)
"""Every rule, facility rules first."""

__all__ = ["ALL_RULES", "Rule"]
