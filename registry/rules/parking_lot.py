"""Parking facility rules — 郑政〔2019〕7号 and the 郑政文〔2018〕135号 checklist (PK-1 … PK-6, PK-8).

PK-7 (where on-street berths may not be) is spatial: see
:mod:`registry.rules.spatial`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from registry.rules.base import (
    EvalContext,
    Item,
    Outcome,
    Rule,
    Severity,
    add_years,
    as_date,
    at_least,
    checklist,
    combine,
    failed,
    get,
    not_applicable,
    passed,
    unknown,
)
from registry.rules.quotes import QUOTES

DOC = "郑政〔2019〕7号"
DOC_135 = "郑政文〔2018〕135号"
TYPE_LABELS = {
    "public": ("公共停车场", "public lot"),
    "dedicated": ("专用停车场", "dedicated lot"),
    "temporary": ("临时停车场", "temporary lot"),
    "on_street": ("道路停车泊位", "on-street berths"),
}
FILING_DAYS = 15
EV_MIN_SPACES = 100
MECHANICAL_INSPECTION_YEARS = 2
"""Periodic inspection interval of mechanical parking equipment (national code; 7号 Art.17 says only "定期")."""
SCOPE_135 = frozenset({"410102", "410103", "410104", "410105", "410108", "410171", "410172", "410173"})
"""135号 二 整治范围: 中原、二七、金水、管城、惠济 and the zones (郑东新区 has no code of its own)."""


def only_types(f: Mapping[str, Any], types: Iterable[str]) -> Outcome | None:
    """NOT_APPLICABLE unless ``parking_type`` is one of ``types``; UNKNOWN when it is blank."""
    kind, wanted = get(f, "parking_type"), tuple(types)
    if kind is None:
        return unknown(
            "停车场类型未记录，无法确定本条是否适用",
            "parking type not recorded: cannot tell whether the rule applies",
        )
    if kind not in wanted:
        zh, en = TYPE_LABELS.get(kind, (kind, kind))
        return not_applicable(f"{zh}不适用本条", f"does not apply to a {en}")
    return None


def _operating(f: Mapping[str, Any]) -> Outcome | None:
    """NOT_APPLICABLE for non-operating lots; UNKNOWN when ``operating`` is blank."""
    operating = get(f, "operating")
    if operating is None:
        return unknown("是否经营性停车场未记录", "whether the lot is operated for fees is not recorded")
    if operating is False:
        return not_applicable("非经营性停车场", "not operated for fees")
    return None


# --------------------------------------------------------------------------- PK-1
PK1_ITEMS: tuple[Item, ...] = (
    ("has_sign", "停车场标志牌", "sign", True),
    ("hard_surface", "地面硬底化", "hard surface", True),
    ("markings", "交通标志标线和泊位编号", "markings and numbered bays", True),
    ("wheel_stops", "车轮定位器", "wheel stops", True),
    ("ventilation_lighting_drainage", "通风、照明、排水设施", "ventilation, lighting, drainage", True),
    ("entrances_compliant", "出入口符合规范", "compliant entrances", True),
    ("cctv", "视频监控", "CCTV", True),
    ("access_control", "出入口控制", "access control", True),
    ("plate_recognition", "车牌识别", "plate recognition", True),
    ("fire_equipment", "消防设备设施", "fire equipment", True),
    ("fire_lanes_clear", "消防通道畅通", "fire lanes clear", True),
)


def check_pk1(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """PK-1: a public lot meets the Art.18 conditions."""
    return only_types(f, ("public",)) or combine(
        checklist(f, PK1_ITEMS),
        at_least(f, "ev_chargers", 1, ("电动汽车充电设施", "EV chargers"), (" 个", "")),
        at_least(f, "accessible_spaces", 1, ("无障碍停车位", "accessible bays"), (" 个", "")),
    )


# --------------------------------------------------------------------------- PK-2
def check_pk2(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """PK-2: an operating lot with ≥ 100 spaces provides EV bays and chargers."""
    skip = only_types(f, ("public", "dedicated", "temporary")) or _operating(f)
    if skip:
        return skip
    spaces = get(f, "spaces")
    if spaces is None:
        return unknown(
            "泊位数未记录，无法判定是否达到100个", "number of spaces not recorded: cannot tell if ≥ 100"
        )
    if spaces < EV_MIN_SPACES:
        return not_applicable(
            f"泊位数 {spaces} < {EV_MIN_SPACES}，不要求", f"{spaces} spaces < {EV_MIN_SPACES}: not required"
        )
    return combine(
        at_least(f, "ev_spaces", 1, ("电动汽车专用停车位", "EV bays"), (" 个", "")),
        at_least(f, "ev_chargers", 1, ("充电设施", "EV chargers"), (" 个", "")),
    )


# --------------------------------------------------------------------------- PK-3
def check_pk3(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """PK-3: the operator notifies the district within 15 days of the business licence."""
    skip = only_types(f, ("public", "dedicated", "temporary")) or _operating(f)
    if skip:
        return skip
    licence, filing = as_date(get(f, "licence_date")), as_date(get(f, "filing_date"))
    if licence is None:
        return unknown("营业执照日期未记录", "business licence date not recorded")
    due = licence + dt.timedelta(days=FILING_DAYS)
    if filing is not None:
        days = (filing - licence).days
        if days <= FILING_DAYS:
            return passed(
                f"领取营业执照（{licence}）后 {days} 天告知/备案 ≤ {FILING_DAYS} 天",
                f"filed {days} days after the licence ({licence}) ≤ {FILING_DAYS}",
            )
        return failed(
            f"领取营业执照（{licence}）后 {days} 天才告知/备案 > {FILING_DAYS} 天",
            f"filed {days} days after the licence ({licence}) > {FILING_DAYS}",
        )
    if ctx.as_of <= due:
        return passed(f"尚未备案，期限 {due} 未到", f"not filed yet; due {due}")
    return unknown(f"备案日期未记录（期限 {due} 已过）", f"filing date not recorded (due {due})")


# --------------------------------------------------------------------------- PK-4
def check_pk4(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """PK-4: a closed lot gave 30 days' notice to the district and the public."""
    skip = only_types(f, ("public", "dedicated", "temporary"))
    if skip:
        return skip
    if get(f, "parking_type") == "dedicated":
        skip = _operating(f)
        if skip:
            return skip
    status = get(f, "status")
    if status is not None and status != "closed":
        return not_applicable("未停业、歇业", "not closed")
    result = checklist(
        f,
        (
            (
                "closure_notice_given",
                "停业、歇业至少提前30日告知并公告",
                "closure notified ≥ 30 days ahead",
                True,
            ),
        ),
    )
    if status is None and result.verdict.value != "pass":
        return unknown(
            "经营状态未记录，无法判定是否停业", "status not recorded: cannot tell whether it closed"
        )
    return result


# --------------------------------------------------------------------------- PK-5
def check_pk5(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """PK-5: the entrance sign shows hours, spaces, fees and phone; live data on the city platform."""
    skip = only_types(f, ("public", "dedicated", "temporary")) or _operating(f)
    return skip or checklist(
        f,
        (
            (
                "entrance_sign_complete",
                "出入口标志标明开放时间、泊位数量、收费标准和监督电话",
                "entrance sign with hours, spaces, fees, complaint phone",
                True,
            ),
            (
                "platform_connected",
                "实时接入全市停车信息综合服务平台",
                "live data on the city platform",
                True,
            ),
        ),
    )


# --------------------------------------------------------------------------- PK-6
def check_pk6(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """PK-6: mechanical equipment inspected before use and periodically."""
    structure = get(f, "structure")
    if structure is None:
        return unknown(
            "结构形式未记录，无法确定是否机械式", "structure not recorded: cannot tell if mechanical"
        )
    if structure != "mechanical":
        return not_applicable("非机械式立体停车设备", "no mechanical parking equipment")
    inspected = checklist(f, (("mechanical_inspected", "经检验合格", "inspected and passed", True),))
    last = as_date(get(f, "mechanical_inspection_date"))
    if last is None:
        return combine(inspected, unknown("检验日期未记录，无法判定定期检验", "inspection date not recorded"))
    due = add_years(last, MECHANICAL_INSPECTION_YEARS)
    current = (
        passed(f"检验于 {last}，有效至 {due}", f"inspected {last}, valid to {due}")
        if ctx.as_of <= due
        else failed(
            f"定期检验已过期（{last} 检验，{due} 到期）", f"periodic inspection overdue ({last}, due {due})"
        )
    )
    return combine(inspected, current)


# --------------------------------------------------------------------------- PK-8
PK8_ITEMS: tuple[Item, ...] = (
    ("fire_equipment", "消防设施齐全有效", "fire facilities", True),
    ("entrances_compliant", "出入口满足车辆通行", "entrances adequate", True),
    ("markings", "停车泊位标线清晰有效", "bay markings clear", True),
    ("fire_lanes_clear", "通道畅通", "lanes clear", True),
    ("fees_displayed", "出入口公示收费标准", "fees displayed", True),
    ("tax_invoices", "使用正规税务发票", "tax invoices", True),
    ("entrance_sign_complete", "入口安装停车场标志", "entrance sign", True),
    ("mixed_parking", "机动车和非机动车混停", "mixed motor/non-motor parking", False),
)


def check_pk8(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """PK-8: the 135号 inspection checklist for operating lots in the city districts."""
    skip = only_types(f, ("public", "dedicated", "temporary")) or _operating(f)
    if skip:
        return skip
    district = get(f, "district_code")
    if district is not None and str(district) not in SCOPE_135:
        return not_applicable(
            f"行政区 {district} 不在135号整治范围", f"district {district} outside the 135号 scope"
        )
    filed = (
        passed(f"已备案（{as_date(get(f, 'filing_date'))}）", "filed")
        if get(f, "filing_date") is not None
        else unknown("备案手续未记录", "filing not recorded")
    )
    return combine(filed, checklist(f, PK8_ITEMS))


# --------------------------------------------------------------------------- registry
def _rule(
    rule_id: str, check: Any, severity: Severity, citation: str, req: str, reads: tuple[str, ...], method: str
) -> Rule:
    return Rule(
        id=rule_id,
        kind="parking_lot",
        scope="facility",
        severity=severity,
        check=check,
        citation=citation,
        requirement_zh=QUOTES[rule_id],
        requirement_en=req,
        reads=reads,
        method=method,
    )


OFF_STREET = (
    "Applies to public, dedicated and temporary lots; not to on-street berths. Blank parking_type: unknown."
)
RULES: tuple[Rule, ...] = (
    _rule(
        "PK-1",
        check_pk1,
        "medium",
        f"{DOC} 第十八条",
        (
            "Public lots meet Art.18: sign; hard surface; markings and numbered bays; wheel stops; "
            "ventilation, "
            "lighting, drainage; compliant entrances; CCTV, access control, plate recognition; EV charging; "
            "accessible bays; fire equipment and clear fire lanes"
        ),
        tuple(i[0] for i in PK1_ITEMS) + ("ev_chargers", "accessible_spaces", "parking_type"),
        "Public lots only. Eleven yes/no items yes, ev_chargers ≥ 1, accessible_spaces ≥ 1.",
    ),
    _rule(
        "PK-2",
        check_pk2,
        "low",
        f"{DOC} 第十五条",
        "Operating lots with ≥ 100 spaces provide EV bays and chargers",
        ("operating", "spaces", "ev_spaces", "ev_chargers", "parking_type"),
        "Operating off-street lots with spaces ≥ 100: ev_spaces ≥ 1 and ev_chargers ≥ 1 (the required "
        "proportion is set by the design standard, not in the seed). New residential/commercial/hub lots "
        "cannot be recognised from the data model. " + OFF_STREET,
    ),
    _rule(
        "PK-3",
        check_pk3,
        "low",
        f"{DOC} 第十九条",
        "Operators notify the district within 15 days of the business licence",
        ("operating", "licence_date", "filing_date", "parking_type"),
        "Operating off-street lots: filing_date − licence_date ≤ 15 days. No filing yet but within 15 days: "
        "pass (not due); no filing date after the due date: unknown. " + OFF_STREET,
    ),
    _rule(
        "PK-4",
        check_pk4,
        "medium",
        f"{DOC} 第二十三条",
        "No closure without 30 days' notice to the district and the public",
        ("status", "closure_notice_given", "parking_type", "operating"),
        "Only for closed lots (status closed): closure_notice_given yes. Dedicated lots only when open to "
        "the public (operating). Blank status: unknown unless the notice is recorded. " + OFF_STREET,
    ),
    _rule(
        "PK-5",
        check_pk5,
        "low",
        f"{DOC} 第二十四条(一)(三)、第十条",
        "Entrance sign shows hours, spaces, fees, complaint phone; data live on the city platform",
        ("entrance_sign_complete", "platform_connected", "operating", "parking_type"),
        "Operating off-street lots: entrance_sign_complete and platform_connected yes. " + OFF_STREET,
    ),
    _rule(
        "PK-6",
        check_pk6,
        "high",
        f"{DOC} 第十七条",
        "Mechanical equipment inspected before use and periodically",
        ("structure", "mechanical_inspected", "mechanical_inspection_date"),
        f"Mechanical structures only: mechanical_inspected yes and mechanical_inspection_date + "
        f"{MECHANICAL_INSPECTION_YEARS} years ≥ as_of (interval from the national code; 7号 says only "
        "'定期'). Blank structure or date: unknown.",
    ),
    _rule(
        "PK-8",
        check_pk8,
        "medium",
        f"{DOC_135} 四(三)1",
        (
            "135号 checklist: filed; fire facilities; entrances; markings; lanes clear; fees displayed; tax "
            "invoices; entrance sign; no mixed motor/non-motor parking"
        ),
        tuple(i[0] for i in PK8_ITEMS) + ("filing_date", "operating", "district_code", "parking_type"),
        "Operating off-street lots inside the 135号 scope (not applicable when district_code is known and "
        "outside it): filing_date recorded, seven yes/no items yes and mixed_parking no. " + OFF_STREET,
    ),
)
