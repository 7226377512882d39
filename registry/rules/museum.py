"""Museum facility rules — 郑政文〔2019〕89号 (MUS-6).

MUS-1 … MUS-5 are about districts and the whole city: see :mod:`registry.rules.district`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.rules.base import (
    EvalContext,
    Item,
    Outcome,
    Rule,
    checklist,
    status_outside,
)
from registry.rules.quotes import QUOTES

DOC = "郑政文〔2019〕89号"
STATUS_LABELS = {
    "planned": "谋划/planned",
    "building": "在建/under construction",
    "open": "开放/open",
    "renovating": "提升改造/renovating",
}
EXISTING = ("open", "renovating")

MUS6_ITEMS: tuple[Item, ...] = (
    ("fire_security_ok", "消防安防设施", "fire & security facilities", True),
    ("storage_equipment_ok", "藏品保管装备", "collection storage equipment", True),
    ("environment_monitoring_ok", "藏品保存环境检测控制设施", "storage environment monitoring", True),
    ("display_ok", "陈列展示设施", "display facilities", True),
)


def check_mus6(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """MUS-6: the four kinds of facilities are up to standard (open or renovating museums)."""
    return status_outside(f, EXISTING, STATUS_LABELS) or checklist(f, MUS6_ITEMS)


RULES: tuple[Rule, ...] = (
    Rule(
        id="MUS-6",
        kind="museum",
        scope="facility",
        severity="medium",
        check=check_mus6,
        requirement_zh=QUOTES["MUS-6"],
        requirement_en="Fire/security facilities, collection storage equipment, storage-environment "
        "monitoring and display facilities up to standard",
        citation=f"{DOC} 四(六)",
        reads=tuple(i[0] for i in MUS6_ITEMS) + ("status",),
        method="All four yes/no fields must be yes; any 'no' fails, else any blank is unknown. "
        "Not applicable to planned or under-construction museums.",
    ),
)
