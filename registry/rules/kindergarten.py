"""Kindergarten facility rules — 郑政办〔2019〕31号 (KG-1 … KG-5).

KG-6 (residential areas under 5,000 people) and KG-7 (venues within 200 m)
are spatial: see :mod:`registry.rules.spatial`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from registry.rules.base import (
    EvalContext,
    Item,
    Outcome,
    Rule,
    as_date,
    checklist,
    combine,
    failed,
    get,
    not_applicable,
    passed,
    status_outside,
    unknown,
)
from registry.rules.quotes import QUOTES

DOC = "郑政办〔2019〕31号"
STATUS_LABELS = {
    "planned": "规划/planned",
    "building": "在建/under construction",
    "open": "开办/operating",
    "closed": "停办/closed",
}
ALLOWED_OPERATORS = ("public", "inclusive_private")
OPERATOR_LABELS = {
    "public": ("公办", "public"),
    "inclusive_private": ("普惠性民办", "inclusive private"),
    "for_profit": ("营利性民办", "for-profit private"),
}

HANDOVER_DEADLINE = dt.date(2019, 6, 30)
"""四(一)2: built supporting kindergartens handed over by the end of June 2019."""
RECOVERY_DEADLINE = dt.date(2019, 9, 30)
"""四(一)2: recovery, swap or purchase by the end of September 2019."""
COMPLETION_DEADLINE = dt.date(2020, 12, 31)
"""四(一)2: supplementary/new supporting kindergartens completed and accepted by the end of 2020."""
DISPOSITION_DEADLINES = {
    "admit": dt.date(
        2019, 6, 30
    ),  # 四(二)2: 准入、整合 — certificates, registration or filing by end of June
    "merge": dt.date(2019, 6, 30),
    "rectify": dt.date(2019, 7, 31),  # 四(二)3: rectification checked one by one by end of July
    "close": dt.date(2019, 8, 31),  # 四(二)4: joint enforcement, compulsory closure by end of August
}
DISPOSITION_LABELS = {
    "admit": ("准入", "admission"),
    "rectify": ("整改", "rectification"),
    "merge": ("整合", "merger"),
    "close": ("取缔", "closure"),
}


def _supporting(f: Mapping[str, Any]) -> Outcome | None:
    """NOT_APPLICABLE for a kindergarten known not to be residential-supporting."""
    if get(f, "residential_supporting") is False:
        return not_applicable("非城镇小区配套幼儿园", "not a residential-supporting kindergarten")
    return None


# --------------------------------------------------------------------------- KG-1
def check_kg1(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """KG-1: a residential-supporting kindergarten is public or inclusive private, never for-profit."""
    skip = _supporting(f) or status_outside(f, ("planned", "building", "open"), STATUS_LABELS)
    if skip:
        return skip
    operator = get(f, "operator_type")
    supporting = get(f, "residential_supporting")
    if operator in ALLOWED_OPERATORS:
        zh, en = OPERATOR_LABELS[operator]
        note = (
            "" if supporting else "（是否小区配套未记录：无论是否配套均符合）",
            "" if supporting else " (residential-supporting not recorded: compliant either way)",
        )
        return passed(f"办园性质：{zh}{note[0]}", f"operator type: {en}{note[1]}")
    if supporting is None:
        return unknown(
            "是否城镇小区配套幼儿园未记录，无法判定办园性质要求",
            "whether it is residential-supporting is not recorded: cannot decide",
        )
    if operator is None:
        return unknown(
            "小区配套幼儿园的办园性质未记录（要求公办或普惠性民办）",
            "operator type of a residential-supporting kindergarten not recorded "
            "(required: public or inclusive private)",
        )
    return failed(
        "小区配套幼儿园办成营利性民办幼儿园（要求公办或普惠性民办，不得办成营利性）",
        "residential-supporting kindergarten run for profit (required: public or inclusive private)",
    )


# --------------------------------------------------------------------------- KG-2
def _due(as_of: dt.date, deadline: dt.date, zh: str, en: str) -> Outcome:
    """FAIL after ``deadline``, PASS (pending, not yet due) up to it."""
    if as_of > deadline:
        return failed(f"{zh}，已超过 {deadline} 期限", f"{en}; deadline {deadline} has passed")
    return passed(f"{zh}，期限 {deadline} 未到", f"{en}; deadline {deadline} not yet reached")


def _handed_over(f: Mapping[str, Any], as_of: dt.date, stage: str) -> Outcome:
    operator = get(f, "operator_type")
    if operator == "for_profit":
        return _due(
            as_of,
            RECOVERY_DEADLINE,
            "配套园已交付使用但办成营利性幼儿园，视为未移交教育行政部门，须收回",
            "supporting kindergarten in use as a for-profit one: not handed over to the education "
            "authority, must be recovered",
        )
    if operator is None:
        return unknown(
            "配套园已移交/使用，但办园性质未记录，无法确认由教育行政部门办成公办或普惠性民办",
            "handed over / in use, but operator type not recorded: cannot confirm it is run "
            "as public or inclusive private",
        )
    when = as_date(get(f, "handed_over_date"))
    late = when is not None and when > HANDOVER_DEADLINE
    on_zh, on_en = (f"（{when}）", f" ({when})") if when else ("", "")
    late_zh, late_en = ("，晚于 2019-06-30 期限", ", after 2019-06-30") if late else ("", "")
    return passed(
        f"已移交教育行政部门{on_zh}{late_zh}", f"handed over to the education authority{on_en}{late_en}"
    )


def check_kg2(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """KG-2: a residential-supporting kindergarten is handed over to the education authority in time."""
    skip = _supporting(f)
    if skip:
        return skip
    if get(f, "residential_supporting") is None:
        return unknown("是否城镇小区配套幼儿园未记录", "whether it is residential-supporting is not recorded")
    stage = get(f, "supporting_stage")
    if stage in ("handed_over", "in_use"):
        return _handed_over(f, ctx.as_of, stage)
    if stage == "built":
        return _due(ctx.as_of, HANDOVER_DEADLINE, "配套园已建成未移交", "built but not handed over")
    if stage == "planned":
        return _due(
            ctx.as_of,
            COMPLETION_DEADLINE,
            "配套园仍处于规划阶段（须完成竣工验收）",
            "still at planning stage (must be completed and accepted)",
        )
    return unknown(
        "配套阶段（规划/建成/移交/使用）未记录",
        "supporting stage (planned/built/handed over/in use) not recorded",
    )


# --------------------------------------------------------------------------- KG-3
def check_kg3(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """KG-3: an unlicensed kindergarten has a disposition, completed by its deadline."""
    licensed = get(f, "licensed")
    if licensed is True:
        return not_applicable("有证幼儿园", "licensed kindergarten")
    if licensed is None:
        return unknown("是否有证未记录", "whether it is licensed is not recorded")
    disposition = get(f, "disposition")
    if disposition not in DISPOSITION_DEADLINES:
        return unknown(
            "无证幼儿园，处置方式（准入/整改/整合/取缔）未记录",
            "unlicensed kindergarten with no recorded disposition (admit/rectify/merge/close)",
        )
    (zh, en), deadline = DISPOSITION_LABELS[disposition], DISPOSITION_DEADLINES[disposition]
    done = as_date(get(f, "disposition_date"))
    if disposition == "close" and get(f, "status") == "closed":
        return passed("取缔对象已停办", "closure target has closed")
    if done is not None and done <= ctx.as_of:
        late = f"，晚于 {deadline} 期限" if done > deadline else ""
        return passed(
            f"无证园{zh}已于 {done} 完成{late}",
            f"{en} completed on {done}{f', after the {deadline} deadline' if late else ''}",
        )
    if ctx.as_of <= deadline:
        return passed(
            f"无证园{zh}进行中，期限 {deadline} 未到", f"{en} under way; deadline {deadline} not yet reached"
        )
    if disposition == "close" and get(f, "status") == "open":
        return failed(
            f"取缔对象仍在办园，已超过 {deadline} 强制查封期限",
            f"closure target still operating after the {deadline} enforcement deadline",
        )
    return failed(
        f"无证园{zh}无完成日期，已超过 {deadline} 期限",
        f"{en} has no completion date; deadline {deadline} passed",
    )


# --------------------------------------------------------------------------- KG-4
KG4_ITEMS: tuple[Item, ...] = (
    ("guards", "专兼职保卫人员和门卫值班", "guards and gate duty", True),
    ("entrance_video", "大门口视频图像采集装置", "video capture at the main entrance", True),
    ("closed_management", "幼儿在园时段封闭式管理", "closed management while children are in", True),
    ("alarm_linked", "一键式紧急报警装置与公安联网", "one-button alarm linked to police", True),
)


def _barrier(f: Mapping[str, Any]) -> Outcome:
    """Hard anti-ramming barriers, required where they can be installed."""
    installed, installable = get(f, "anti_ramming"), get(f, "anti_ramming_installable")
    if installed is True:
        return passed("已安装硬质防冲撞设施", "hard anti-ramming barriers installed")
    if installable is False:
        return passed("不具备安装硬质防冲撞设施条件", "barriers cannot be installed here")
    if installed is False and installable is True:
        return failed("具备安装条件但未安装硬质防冲撞设施", "barriers installable but not installed")
    return unknown(
        "硬质防冲撞设施或其安装条件未记录",
        "anti-ramming barriers or whether they are installable not recorded",
    )


def check_kg4(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """KG-4: the "five 100 %" security measures of an operating kindergarten."""
    return status_outside(f, ("open",), STATUS_LABELS) or combine(checklist(f, KG4_ITEMS), _barrier(f))


# --------------------------------------------------------------------------- KG-5
def _food(f: Mapping[str, Any]) -> Outcome:
    meals, licence = get(f, "serves_meals"), get(f, "food_licence")
    if meals is False:
        return not_applicable("不提供餐食，无需食品经营许可证", "no meals: food licence not needed")
    if licence is True:
        return passed("食品经营许可证：有", "food licence: yes")
    if meals is True:
        return checklist(
            f, (("food_licence", "食品经营许可证（提供餐饮）", "food licence (serves meals)", True),)
        )
    return unknown(
        "是否提供餐食未记录，无法判定食品经营许可证要求", "whether it serves meals is not recorded"
    )


def check_kg5(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """KG-5: operating licence, legal-person registration, health evaluation, food licence if meals."""
    skip = status_outside(f, ("open",), STATUS_LABELS)
    if skip:
        return skip
    licence = get(f, "operating_licence")
    source = "operating_licence" if licence is not None else "licensed"
    items: tuple[Item, ...] = (
        (source, "办学许可证", "operating licence", True),
        (
            "legal_person_registered",
            "法人登记（事业单位/民办非企业/工商）",
            "legal-person registration",
            True,
        ),
        ("health_evaluation", "卫生评价报告", "health evaluation report", True),
    )
    return combine(checklist(f, items), _food(f))


# --------------------------------------------------------------------------- registry
RULES: tuple[Rule, ...] = (
    Rule(
        id="KG-1",
        kind="kindergarten",
        scope="facility",
        severity="high",
        check=check_kg1,
        citation=f"{DOC} 三(一)4",
        requirement_zh=QUOTES["KG-1"],
        requirement_en="A residential-supporting kindergarten is run as public or inclusive private, never "
        "for profit",
        reads=("residential_supporting", "operator_type", "status"),
        method="Not applicable if residential_supporting is no or the kindergarten is closed. Passes when "
        "operator_type is public or inclusive_private (compliant whether or not it is supporting); "
        "fails when a supporting kindergarten is for_profit; otherwise unknown.",
    ),
    Rule(
        id="KG-2",
        kind="kindergarten",
        scope="facility",
        severity="medium",
        check=check_kg2,
        citation=f"{DOC} 三(一)3、四(一)2",
        requirement_zh=QUOTES["KG-2"],
        requirement_en="Residential-supporting kindergartens handed over to the education authority "
        "(handover by 2019-06-30; recovery by 2019-09-30; new ones completed by 2020-12-31)",
        reads=("residential_supporting", "supporting_stage", "operator_type", "handed_over_date"),
        method="Not applicable unless residential-supporting. handed_over/in_use passes when the operator is "
        "public or inclusive private; for_profit in use counts as not handed over (fails after "
        "2019-09-30). built fails after 2019-06-30, planned after 2020-12-31 (before: pending, pass). "
        "Missing stage or operator is unknown.",
    ),
    Rule(
        id="KG-3",
        kind="kindergarten",
        scope="facility",
        severity="high",
        check=check_kg3,
        citation=f"{DOC} 三(二)、四(二)",
        requirement_zh=QUOTES["KG-3"],
        requirement_en="Every unlicensed kindergarten has a disposition (admit/rectify/merge/close); "
        "rectification checked by 2019-07-31; closures enforced by 2019-08-31",
        reads=("licensed", "disposition", "disposition_date", "status"),
        method="Not applicable to licensed kindergartens. An unlicensed one with no disposition is unknown. "
        "Deadlines: admit/merge 2019-06-30, rectify 2019-07-31, close 2019-08-31. Passes when "
        "disposition_date ≤ as_of (or a closure target has status closed) or the deadline has not "
        "passed; after it, a blank disposition_date is read as 'not completed' and fails.",
    ),
    Rule(
        id="KG-4",
        kind="kindergarten",
        scope="facility",
        severity="high",
        check=check_kg4,
        citation=f"{DOC} 三(二)2",
        requirement_zh=QUOTES["KG-4"],
        requirement_en="'Five 100 %': guards and gate duty; hard anti-ramming barriers where installable; "
        "video capture at the main entrance; closed management; one-button alarm linked to police",
        reads=(
            "guards",
            "anti_ramming",
            "anti_ramming_installable",
            "entrance_video",
            "closed_management",
            "alarm_linked",
            "status",
        ),
        method="Four yes/no fields must be yes; barriers must be installed unless anti_ramming_installable "
        "is no. Only for operating kindergartens (status open or blank).",
    ),
    Rule(
        id="KG-5",
        kind="kindergarten",
        scope="facility",
        severity="high",
        check=check_kg5,
        citation=f"{DOC} 三(二)1",
        requirement_zh=QUOTES["KG-5"],
        requirement_en="Operating licence, legal-person registration, food licence when serving meals, "
        "health evaluation before enrolment",
        reads=(
            "operating_licence",
            "licensed",
            "legal_person_registered",
            "serves_meals",
            "food_licence",
            "health_evaluation",
            "status",
        ),
        method="operating_licence (falling back to licensed when blank), legal_person_registered and "
        "health_evaluation yes; food_licence yes unless serves_meals is no. Only for operating "
        "kindergartens.",
    ),
)
